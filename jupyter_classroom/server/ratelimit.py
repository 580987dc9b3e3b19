"""Rate limits: token buckets, per socket or per key (a user, a member)."""

from __future__ import annotations

import time


class TokenBucket:
    """Allows ``rate`` events per second on average, bursts of up to ``burst``."""

    __slots__ = ("_stamp", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._stamp = time.monotonic()

    def take(self, cost: float = 1.0) -> bool:
        """Spend ``cost`` tokens if there are enough. A cost above ``burst`` (one large
        message) passes when the bucket is full and leaves it in debt."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= min(cost, self.burst):
            self._tokens -= cost
            return True
        return False

    def reserve(self, cost: float, max_wait: float) -> float | None:
        """Spend ``cost`` tokens now, into debt if need be, and return the seconds the caller
        should wait for them (0: they were there); None, spending nothing, when that would be
        more than ``max_wait``. Callers that wait queue behind each other's debt."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= cost:
            self._tokens -= cost
            return 0.0
        wait = (cost - self._tokens) / self.rate if self.rate > 0 else float("inf")
        if wait > max_wait:
            return None
        self._tokens -= cost
        return wait

    def wait(self, cost: float = 1.0) -> float:
        """Seconds until :meth:`take` of ``cost`` would pass (for a refusal's message)."""
        missing = min(cost, self.burst) - self._tokens
        return max(0.0, missing / self.rate) if self.rate > 0 else float("inf")


class KeyedBuckets:
    """One :class:`TokenBucket` per key (a user, say), shared by all of that key's sockets.

    Bounded: past ``max_keys`` keys, the buckets that have refilled (idle keys, which a fresh
    bucket would equal) are forgotten.
    """

    __slots__ = ("_buckets", "burst", "max_keys", "rate")

    def __init__(self, rate: float, burst: float, max_keys: int = 10_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str, cost: float = 1.0) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_idle()
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst)
        return bucket.take(cost)

    def reserve(self, key: str, cost: float, max_wait: float) -> float | None:
        """:meth:`TokenBucket.reserve` on ``key``'s bucket."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_idle()
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst)
        return bucket.reserve(cost, max_wait)

    def wait(self, key: str, cost: float = 1.0) -> float:
        bucket = self._buckets.get(key)
        return 0.0 if bucket is None else bucket.wait(cost)

    def _forget_idle(self) -> None:
        now = time.monotonic()
        full = self.burst / self.rate if self.rate > 0 else float("inf")
        self._buckets = {
            key: bucket for key, bucket in self._buckets.items() if now - bucket._stamp < full
        }

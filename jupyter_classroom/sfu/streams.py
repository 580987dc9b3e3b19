"""Members' streams in the VideoRooms: publishing (one Janus handle per publisher),
watching (one subscriber handle per watcher and publisher, on this process or across
processes by feed id), the simulcast layer a watcher takes, and their ends (unpublish,
leave, a hangup, a kick through another process)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .janus_api import JanusError, JanusHandle
from .rooms import OnReset, RoomDirectory
from .session import Connect
from .shared import Registry, RoomKeys
from .state import (
    NO_SUCH_FEED,
    NO_SUCH_ROOM,
    SUBSTREAMS,
    Layer,
    Publisher,
    SfuUnavailable,
    Subscription,
    VideoRoom,
    janus_jsep,
)

log = logging.getLogger("jupyter_classroom.sfu")

OnChange = Callable[[str], Awaitable[None]]
FEED_POLL = 0.1  # seconds between two looks for another process's publisher going live
# While Janus forwards another layer than a watcher asked for, ask again this long after, then
# twice as long each time up to RECOVER_MAX (seconds), until it forwards that one
RECOVER_FIRST = 2.0
RECOVER_MAX = 30.0


class Streams(RoomDirectory):
    """Publishers and subscribers through this process (see :class:`VideoRooms`)."""

    def __init__(
        self, connect: Connect, *, admin_key: str = "", registry: Registry | None = None,
        shared: bool = False, on_change: OnChange | None = None, on_reset: OnReset | None = None,
        live_timeout: float = 10.0,
    ) -> None:  # fmt: skip
        super().__init__(
            connect, admin_key=admin_key, registry=registry, shared=shared, on_reset=on_reset
        )
        self.on_change = on_change
        self.live_timeout = live_timeout

    async def _feed_elsewhere(self, room_id: str, publisher_id: str) -> int:
        """The feed id of ``publisher_id`` publishing through another process, once live
        (KeyError when it does not publish)."""
        deadline = asyncio.get_running_loop().time() + self.live_timeout
        while True:
            found = [p for p in await self.participants(room_id)
                     if p.get("display") == publisher_id]  # fmt: skip
            if not found:
                raise KeyError(publisher_id)
            live = [p for p in found if p.get("publisher") is True]
            if live:
                return int(live[-1]["id"])
            if asyncio.get_running_loop().time() > deadline:
                raise SfuUnavailable(f"{publisher_id}'s media did not reach the video server")
            await asyncio.sleep(FEED_POLL)

    async def _join(self, room: VideoRoom, handle: JanusHandle, body: dict[str, Any],
                    jsep: dict[str, Any] | None = None) -> Any:  # fmt: skip
        """A join on ``handle``; once more after making the room again when Janus has no
        such room (another process destroyed it under us)."""
        for attempt in range(2):
            assert room.keys is not None
            try:
                return await self._guard(handle.message(
                    {**body, "room": room.keys.janus_id, "pin": room.keys.pin}, jsep
                ))  # fmt: skip
            except JanusError as exc:
                if exc.code != NO_SUCH_ROOM or attempt:
                    raise
                room.created = False
                await self._ensure_created(room)
        raise AssertionError("unreachable")

    # ---------------------------------------------------------------------------------------
    # publishing

    async def publish(self, room_id: str, member_id: str, offer: str) -> str:
        """Publish ``member_id``'s media (its SDP offer); Janus's answer. A member already
        publishing starts over (its old stream and its watchers end). An offer with
        simulcast (a browser's rids) is taken as it is: Janus forwards the layer each
        watcher asks for (:meth:`set_layer`)."""
        room = self._room(room_id)
        async with room.lock:
            old = room.publishers.get(member_id)
            await self._drop_publisher(room, member_id)
            if old is not None and old.live.is_set():  # its watchers learn it ended
                self._notify(room_id)
            await self._guard(self._ensure_created(room))
            assert self.session is not None
            handle = await self._guard(self.session.attach(on_event=self._publisher_event(room_id)))
            try:
                joined = await self._join(
                    room, handle, {"request": "join", "ptype": "publisher", "display": member_id}
                )
                reply = await self._guard(handle.message(
                    {"request": "publish", "audio": True, "video": True},
                    janus_jsep("offer", offer),
                ))  # fmt: skip
            except BaseException:
                await handle.detach()
                raise
            if reply.jsep is None:
                await handle.detach()
                raise SfuUnavailable("Janus accepted the stream but sent no answer")
            room.publishers[member_id] = Publisher(member_id, handle, int(joined.data["id"]))
            return str(reply.jsep["sdp"])

    # ---------------------------------------------------------------------------------------
    # watching

    async def subscribe(self, room_id: str, member_id: str, publisher_id: str) -> str:
        """Start ``member_id`` watching ``publisher_id`` (publishing through this process or
        another): Janus's SDP offer (answer it with :meth:`start`). Raises KeyError when
        ``publisher_id`` does not publish."""
        room = self._room(room_id)
        publisher = room.publishers.get(publisher_id)
        if publisher is not None:
            try:  # its media may still be on the way (a subscriber that heard of it early)
                await asyncio.wait_for(publisher.live.wait(), self.live_timeout)
            except TimeoutError:
                raise SfuUnavailable(
                    f"{publisher_id}'s media did not reach the video server"
                ) from None
            feed = publisher.feed
        else:
            feed = await self._feed_elsewhere(room_id, publisher_id)
        async with room.lock:
            if publisher is not None and room.publishers.get(publisher_id) is not publisher:
                raise KeyError(publisher_id)
            stale = room.subscribers.pop((member_id, publisher_id), None)
            if stale is not None:
                await stale.handle.detach()
            await self._guard(self._ensure_created(room))
            assert self.session is not None
            handle = await self._guard(self.session.attach(
                on_event=self._subscriber_event(room_id, member_id, publisher_id)
            ))  # fmt: skip
            try:
                reply = await self._join(room, handle, {
                    "request": "join", "ptype": "subscriber", "streams": [{"feed": feed}],
                })  # fmt: skip
            except JanusError as exc:
                await handle.detach()
                if exc.code == NO_SUCH_FEED:  # it stopped meanwhile
                    raise KeyError(publisher_id) from None
                raise
            except BaseException:
                await handle.detach()
                raise
            if reply.jsep is None:
                await handle.detach()
                raise SfuUnavailable("Janus sent no offer for this stream")
            # the subscriber's own mids (Janus numbers them per handle): configure names them
            mids = [str(s["mid"]) for s in reply.data.get("streams", [])
                    if s.get("type") == "video" and "mid" in s]  # fmt: skip
            room.subscribers[(member_id, publisher_id)] = Subscription(handle, mids)
            return str(reply.jsep["sdp"])

    async def start(self, room_id: str, member_id: str, publisher_id: str, answer: str) -> None:
        """``member_id``'s answer to the offer :meth:`subscribe` gave it. KeyError when
        there is no such subscription (it ended meanwhile, or never began)."""
        room = self.rooms[room_id]
        async with room.lock:
            handle = room.subscribers[(member_id, publisher_id)].handle
            await self._guard(handle.message({"request": "start"}, janus_jsep("answer", answer)))

    async def set_layer(
        self, room_id: str, member_id: str, publisher_id: str, layer: Layer
    ) -> dict[str, Any]:
        """``member_id`` takes ``layer`` of ``publisher_id``'s simulcast video (a publisher
        sending one layer goes on sending it): Janus's ``configure`` of the subscriber's
        video streams, whose reply this returns. KeyError when ``member_id`` does not watch
        ``publisher_id`` through this process."""
        room = self.rooms.get(room_id)
        if room is None:
            raise KeyError(publisher_id)
        async with room.lock:
            subscription = room.subscribers[(member_id, publisher_id)]
            subscription.layer = layer
            reply = await self._configure(subscription)
        if subscription.off_layer:
            self._recover_soon(room, (member_id, publisher_id), subscription)
        return reply

    async def _configure(self, subscription: Subscription) -> dict[str, Any]:
        """Ask Janus for the subscription's layer (its ``configure``), its reply."""
        if not subscription.video_mids:  # (audio only: nothing to pick)
            return {}
        substream = SUBSTREAMS[subscription.layer]
        streams = [{"mid": mid, "substream": substream} for mid in subscription.video_mids]
        reply = await self._guard(
            subscription.handle.message({"request": "configure", "streams": streams})
        )
        return dict(reply.data)

    def _subscriber_event(
        self, room_id: str, member_id: str, publisher_id: str
    ) -> Callable[[JanusHandle, dict[str, Any]], None]:
        def on_event(handle: JanusHandle, message: dict[str, Any]) -> None:
            substream = message.get("plugindata", {}).get("data", {}).get("substream")
            room, key = self.rooms.get(room_id), (member_id, publisher_id)
            subscription = room.subscribers.get(key) if room else None
            if room is None or subscription is None or subscription.handle is not handle:
                return
            if not isinstance(substream, int):  # (not a layer's news)
                return
            subscription.substream = substream
            subscription.best_substream = max(subscription.best_substream, substream)
            if subscription.off_layer:
                self._recover_soon(room, key, subscription)

        return on_event

    def _recover_soon(
        self, room: VideoRoom, key: tuple[str, str], subscription: Subscription
    ) -> None:
        if not subscription.recovering:
            subscription.recovering = True
            self._spawn(self._recover(room, key, subscription))

    async def _recover(
        self, room: VideoRoom, key: tuple[str, str], subscription: Subscription
    ) -> None:
        """Janus forwards another layer than the watcher asked for and moves only on a
        keyframe of the one wanted, which a browser sends when asked: Janus asks for one when
        told the layer again. It falls back from the high layer after a moment without a
        packet of it (a paused encoder, a congested link); it starts a watcher on whichever
        layer's keyframe comes first, and leaves the high one for the low only on a keyframe
        of the low, which it asks for on a ``configure`` alone. Told until it forwards the
        layer asked for, less and less often; not once the watcher stops watching."""
        delay = RECOVER_FIRST
        try:
            while True:
                await asyncio.sleep(delay)
                async with room.lock:
                    watching = room.subscribers.get(key) is subscription
                    if not (watching and subscription.off_layer):
                        return
                    log.info("sfu: %s gets substream %d of %s, not its %s layer; asking again",
                             key[0], subscription.substream, key[1],
                             subscription.layer)  # fmt: skip
                    await self._configure(subscription)
                delay = min(2 * delay, RECOVER_MAX)
        except (JanusError, SfuUnavailable) as exc:  # the subscription or Janus went
            log.info("sfu: asking again for %s's layer of %s: %s", key[0], key[1], exc)
        finally:
            subscription.recovering = False

    # ---------------------------------------------------------------------------------------
    # the end of streams

    async def unpublish(self, room_id: str, member_id: str) -> bool:
        """Stop ``member_id``'s stream (its watchers' subscriptions end); whether it had one."""
        room = self.rooms.get(room_id)
        if room is None:
            return False
        async with room.lock:
            return await self._drop_publisher(room, member_id)

    async def leave(self, room_id: str, member_id: str) -> bool:
        """``member_id`` left the room: its stream and what it watched through this process
        end. Whether it was publishing."""
        room = self.rooms.get(room_id)
        if room is None:
            return False
        async with room.lock:
            published = await self._drop_publisher(room, member_id)
            for key in [k for k in room.subscribers if k[0] == member_id]:
                await room.subscribers.pop(key).handle.detach()
            return published

    async def kick_elsewhere(self, room_id: str, member_id: str) -> bool:
        """End ``member_id``'s streams published through other processes (it left the room
        through this one: kicked from here, or swept after its process died). Whether there
        were any."""
        raw = await self.registry.video_room(room_id)
        if raw is None:
            return False
        keys = RoomKeys.loads(raw)
        kicked = False
        for found in await self.participants(room_id):
            if found.get("display") != member_id:
                continue
            try:
                await self._ask({"request": "kick", "room": keys.janus_id,
                                 "secret": keys.secret, "id": found["id"]})  # fmt: skip
                kicked = True
            except JanusError as exc:  # it went by itself meanwhile
                log.info("sfu: kicking %s from %s: %s", member_id, room_id, exc)
        return kicked

    async def _drop_publisher(self, room: VideoRoom, member_id: str) -> bool:
        publisher = room.publishers.pop(member_id, None)
        if publisher is None:
            return False
        for key in [k for k in room.subscribers if k[1] == member_id]:
            await room.subscribers.pop(key).handle.detach()
        await publisher.handle.detach()
        return True

    def _publisher_event(self, room_id: str) -> Callable[[JanusHandle, dict[str, Any]], None]:
        def on_event(handle: JanusHandle, message: dict[str, Any]) -> None:
            room = self.rooms.get(room_id)
            publisher = next(
                (p for p in room.publishers.values() if p.handle is handle), None
            ) if room else None  # fmt: skip
            if room is None or publisher is None:
                return
            kind = message.get("janus")
            data = message.get("plugindata", {}).get("data", {})
            if kind == "webrtcup" and not publisher.live.is_set():
                publisher.live.set()
                self._notify(room_id)
            elif kind == "hangup" or data.get("leaving") == "ok":
                # its PeerConnection ended without an unpublish, or another process kicked it
                self._spawn(self._hung_up(room, publisher))

        return on_event

    async def _hung_up(self, room: VideoRoom, publisher: Publisher) -> None:
        async with room.lock:
            if room.publishers.get(publisher.member_id) is not publisher:
                return
            await self._drop_publisher(room, publisher.member_id)
        if publisher.live.is_set():
            self._notify(room.room_id)

    def _notify(self, room_id: str) -> None:
        if self.on_change is not None:
            self._spawn(self.on_change(room_id))

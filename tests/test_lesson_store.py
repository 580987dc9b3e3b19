"""The Store's lesson state (hands, breakouts, kept boards), alike in memory and in Redis:
order, idempotence, and that it goes with its room."""

from __future__ import annotations

from typing import Any

from jupyter_classroom.store import Store

from .test_store import make_store, redis_url, room, store  # noqa: F401


def hand(member_id: str) -> dict[str, Any]:
    return {"member_id": member_id, "name": member_id, "raised_at": "2026-01-01T00:00:00.000Z"}


async def test_hands_queue_in_order_and_go_with_the_room(store: Store) -> None:  # noqa: F811
    await store.add_room(room("r1"))
    assert await store.hands("r1") == []
    assert await store.raise_hand("r1", hand("b"))
    assert await store.raise_hand("r1", hand("a"))
    assert not await store.raise_hand("r1", {**hand("b"), "raised_at": "later"})  # kept place
    assert await store.hands("r1") == [hand("b"), hand("a")]
    assert await store.lower_hand("r1", "c") is None
    assert await store.lower_hand("r1", None) == hand("b")  # the first
    assert await store.raise_hand("r1", hand("b"))  # raised again: last now
    assert [h["member_id"] for h in await store.hands("r1")] == ["a", "b"]
    assert await store.lower_hand("r1", "b") == hand("b")
    await store.delete_room("r1")
    assert await store.hands("r1") == []
    assert not await store.raise_hand("r1", hand("a"))  # no room: nothing is kept
    assert await store.hands("r1") == []


async def test_breakouts_and_kept_boards_go_with_the_room(store: Store) -> None:  # noqa: F811
    await store.add_room(room("r1"))
    state = {"token": "t", "breakouts": [{"room_id": "b1", "title": "G", "members": ["m"]}],
             "ends_at": None}  # fmt: skip
    assert await store.breakouts("r1") is None
    await store.save_breakouts("r1", state)
    assert await store.breakouts("r1") == state
    await store.save_breakouts("r1", None)
    assert await store.breakouts("r1") is None
    board = {"seq": 1, "ops": [{"seq": 1, "author": "m", "ts": "", "op": {"id": "x"}}],
             "complete": True}  # fmt: skip
    await store.keep_board("r1", "b1", board)
    assert await store.kept_board("r1", "b1") == board
    assert await store.kept_board("r1", "b2") is None
    await store.keep_board("r1", "b2", board)
    await store.forget_kept_boards("r1", ["b1", "b3"])  # b3: never kept, no error
    assert await store.kept_board("r1", "b1") is None
    assert await store.kept_board("r1", "b2") == board
    await store.save_breakouts("r1", state)
    await store.delete_room("r1")
    assert await store.breakouts("r1") is None and await store.kept_board("r1", "b1") is None
    await store.keep_board("r1", "b1", board)  # the room is gone: nothing is kept
    assert await store.kept_board("r1", "b1") is None

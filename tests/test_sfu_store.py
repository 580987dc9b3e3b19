"""The Store's SFU state, alike in memory and in Redis: a room's VideoRoom keys (made once by
compare-and-set, only for a room that exists, outliving it until taken) and its video mode
(decided once, going with the room). Several room-server processes rely on both to agree."""

from __future__ import annotations

import asyncio

from jupyter_classroom.sfu.shared import RoomKeys
from jupyter_classroom.store import Store

from .test_store import make_store, redis_url, room, store  # noqa: F401


async def test_a_video_room_is_made_once_and_taken_once(store: Store) -> None:  # noqa: F811
    assert await store.swap_video_room("r1", None, RoomKeys.new().dumps()) is None  # no room
    await store.add_room(room("r1"))
    drawn = [RoomKeys.new().dumps() for _ in range(5)]
    # processes drawing at once: one record wins, every one of them gets it
    got = await asyncio.gather(*(store.swap_video_room("r1", None, d) for d in drawn))
    assert len(set(got)) == 1 and got[0] in drawn
    kept = got[0]
    assert kept is not None and await store.video_room("r1") == kept
    moved = RoomKeys.new().dumps()
    assert await store.swap_video_room("r1", "stale", moved) == kept  # not what it holds
    assert await store.swap_video_room("r1", kept, moved) == moved
    # the room goes; its VideoRoom's keys stay until one process takes them to destroy it
    await store.delete_room("r1")
    assert await store.video_room("r1") == moved
    taken = await asyncio.gather(*(store.swap_video_room("r1", moved, None) for _ in range(3)))
    assert taken == [None, None, None] and await store.video_room("r1") is None
    # and a room that is gone gets no new keys
    assert await store.swap_video_room("r1", None, RoomKeys.new().dumps()) is None


async def test_a_rooms_video_mode_is_decided_once(store: Store) -> None:  # noqa: F811
    assert not await store.set_video_mode("r1", "sfu")  # no room
    await store.add_room(room("r1"))
    assert await store.video_mode("r1") is None
    decided = await asyncio.gather(*(store.set_video_mode("r1", "sfu") for _ in range(4)))
    assert sorted(decided) == [False, False, False, True]
    assert await store.video_mode("r1") == "sfu"
    await store.delete_room("r1")
    assert await store.video_mode("r1") is None


async def test_a_rooms_video_policy_is_kept_with_it(store: Store) -> None:  # noqa: F811
    assert not await store.set_video_policy("r1", '{"lecture": true}')  # no room
    await store.add_room(room("r1"))
    assert await store.video_policy("r1") is None
    assert await store.set_video_policy("r1", '{"students_publish": false, "lecture": true}')
    assert await store.video_policy("r1") == '{"students_publish": false, "lecture": true}'
    await store.delete_room("r1")
    assert await store.video_policy("r1") is None

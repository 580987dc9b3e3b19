"""The Store's shared notebooks, alike in memory and in Redis: a share replaces the last one,
a batch commits only on the seq it was computed on, the bounded log serves `since` exactly or
not at all, and everything goes with the room. Also the editor's bookkeeping: an edit of one
cell of a 200-cell notebook writes that cell's head and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_classroom import protocol as p
from jupyter_classroom.notebook_patch import NotebookEditor, apply_delta, source_delta
from jupyter_classroom.protocol import ProtocolError
from jupyter_classroom.store import Store
from jupyter_classroom.store.base import NotebookCommit, NotebookHeader

from .test_store import make_store, redis_url, room, store  # noqa: F401


def header(share_id: str, order: list[str], **fields: Any) -> NotebookHeader:
    return NotebookHeader(
        share_id=share_id, sharer={"id": "mhost", "name": "Host"}, path="l.ipynb",
        language="python", started_at="2026-01-01T00:00:00.000Z", order=order, **fields,
    )  # fmt: skip


def head(cell_id: str, source: str = "", ob: int = 2) -> dict[str, Any]:
    return {"id": cell_id, "cell_type": "code", "source": source, "execution_count": None,
            "ob": ob}  # fmt: skip


def commit(share_id: str, seq: int, **fields: Any) -> NotebookCommit:
    fields.setdefault("batch", [{"type": "active", "cell_id": None}])
    return NotebookCommit(share_id=share_id, seq=seq, bytes=10, **fields)


async def test_share_commit_log_and_room(store: Store) -> None:  # noqa: F811
    await store.add_room(room("r1"))
    assert await store.notebook_header("r1") is None and await store.notebook("r1") is None
    out = [{"output_type": "stream", "name": "stdout", "text": "1"}]
    previous = await store.start_notebook(
        "r1", header("s1", ["a", "b"]), [head("a", "x"), head("b")], {"a": out, "b": []}
    )
    assert previous is None
    got = await store.notebook("r1")
    assert got is not None
    assert got[0].order == ["a", "b"] and got[0].seq == 0 and got[0].live
    assert got[1][0] == {"id": "a", "cell_type": "code", "source": "x", "execution_count": None,
                         "outputs": out}  # fmt: skip
    assert await store.notebook_heads("r1", ["b", "zz"]) == {"b": head("b")}
    # a commit on the seq it read; a second one on the same seq loses (nothing written)
    first = commit("s1", 0, heads={"a": head("a", "xy")}, order=["b", "a"], active_changed=True,
                   active="a")  # fmt: skip
    assert await store.commit_notebook("r1", first, 4, 10_000)
    assert not await store.commit_notebook("r1", commit("s1", 0, heads={"a": head("a", "lost")}),
                                           4, 10_000)  # fmt: skip
    assert not await store.commit_notebook("r1", commit("other", 1), 4, 10_000)
    now = await store.notebook_header("r1")
    assert now is not None and (now.seq, now.order, now.active, now.bytes) == (
        1,
        ["b", "a"],
        "a",
        10,
    )
    # deletes and outputs
    gone = commit("s1", 1, deleted=["b"], outputs={"a": []}, order=["a"])
    assert await store.commit_notebook("r1", gone, 4, 10_000)
    got = await store.notebook("r1")
    assert got is not None and [c["id"] for c in got[1]] == ["a"] and got[1][0]["outputs"] == []
    assert got[1][0]["source"] == "xy" and await store.notebook_heads("r1", ["b"]) == {}
    # the log: exactly the batches after since, or None once it no longer has them all
    for seq in range(2, 6):
        assert await store.commit_notebook("r1", commit("s1", seq), 4, 10_000)
    assert [b["seq"] for b in await store.notebook_batches("r1", "s1", 3) or []] == [4, 5, 6]
    assert await store.notebook_batches("r1", "s1", 6) == []
    assert [b["seq"] for b in await store.notebook_batches("r1", "s1", 2) or []] == [3, 4, 5, 6]
    assert await store.notebook_batches("r1", "s1", 1) is None  # 4 kept: 2 went
    assert await store.notebook_batches("r1", "s1", 7) is None
    assert await store.notebook_batches("r1", "s2", 5) is None
    batches = await store.notebook_batches("r1", "s1", 5)
    assert batches == [{"seq": 6, "patches": [{"type": "active", "cell_id": None}]}]
    # ... and by bytes: a log of 100 bytes keeps the last batch or two
    assert await store.commit_notebook("r1", commit("s1", 6), 4, 100)
    assert await store.notebook_batches("r1", "s1", 5) is None
    assert [b["seq"] for b in await store.notebook_batches("r1", "s1", 6) or []] == [7]
    # stop: once; then no commits; a new share replaces it and its log
    assert await store.stop_notebook("r1", "s1") and not await store.stop_notebook("r1", "s1")
    assert not await store.commit_notebook("r1", commit("s1", 7), 4, 10_000)
    stopped = await store.notebook_header("r1")
    assert stopped is not None and not stopped.live and stopped.seq == 7
    replaced = await store.start_notebook("r1", header("s2", ["c"]), [head("c")], {})
    assert replaced is not None and replaced.share_id == "s1" and not replaced.live
    assert replaced.order == ["a"] and replaced.seq == 7
    assert await store.notebook_batches("r1", "s2", 0) == []
    assert await store.notebook_heads("r1", ["a"]) == {}
    # sharers
    assert await store.allow_sharer("r1", "m2", True) == ["m2"]
    assert await store.allow_sharer("r1", "m1", True) == ["m2", "m1"]
    assert await store.allow_sharer("r1", "m2", True) == ["m2", "m1"]
    assert await store.allow_sharer("r1", "m2", False) == ["m1"]
    assert await store.notebook_sharers("r1") == ["m1"]
    # it goes with the room, and nothing is kept for a room that is gone
    await store.delete_room("r1")
    assert await store.notebook_header("r1") is None and await store.notebook_sharers("r1") == []
    assert await store.start_notebook("r1", header("s3", []), [], {}) is None
    assert await store.notebook_header("r1") is None
    assert await store.allow_sharer("r1", "m1", True) == []
    redis = getattr(store, "redis", None)
    if redis is not None:  # no key of the room is left behind
        assert [k async for k in redis.scan_iter(f"{store.prefix}room:r1*")] == []


def test_an_edit_of_one_cell_writes_only_that_cell() -> None:
    order = [f"c{i}" for i in range(200)]
    editor = NotebookEditor(order, {"c7": {**head("c7", "abc")}}, None, {"c7": 2})
    editor.apply(p.EditPatch(cell_id="c7", delta=[{"retain": 3}, {"insert": "d"}]))
    assert editor.changed == {"c7"} and editor.outputs == {} and not editor.deleted
    assert not editor.order_changed and not editor.active_changed and editor.bytes_delta == 1
    assert editor.head("c7") == head("c7", "abcd")


@pytest.mark.parametrize(("old", "new"), [
    ("", "abc"), ("abc", ""), ("hello", "help"), ("a😀b", "a😀😀b"), ("😀", "x😀"),
    ("same", "same"), ("abcabc", "abc"), ("x = 1\ny = 2\n", "x = 1\nz = 3\ny = 2\n"),
])  # fmt: skip
def test_source_delta_round_trips(old: str, new: str) -> None:
    assert apply_delta(old, source_delta(old, new)) == new


def test_delta_past_the_end_is_a_conflict() -> None:
    with pytest.raises(ProtocolError) as refused:
        apply_delta("ab", [{"retain": 2}, {"delete": 1}])
    assert refused.value.code == "conflict"

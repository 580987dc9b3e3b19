// The shared notebook on the wire, for a receiving page (src/notebook-share/receiver.ts) on a
// fake socket: a late join finds the share in the join ack and fetches it; `notebook:patched`
// applies in order, a duplicate is ignored, a gap fetches `since` the last seq; a new share
// replaces everything; `notebook:stopped` keeps the last state; the sharer's own page does
// not chase its own patches.
import './setup-dom';

import { strict as assert } from 'node:assert';
import { afterEach, describe, it } from 'node:test';

import { FakeSocket, sockets } from './stubs/socketio';
import { waitFor } from './fake-rtc';
import { pageSession, resetPageSessions } from '../src/page/session';
import { ShareReceiver } from '../src/notebook-share/receiver';

import type { Member, NotebookSnapshot, NotebookSummary, RoomInfo } from '../src/protocol.generated';

const ADA: Member = { id: 'm-ada', name: 'Ada', color: '#ff0000', role: 'host' };
const BOB: Member = { id: 'm-bob', name: 'Bob', color: '#00ff00', role: 'member' };

const ROOM: RoomInfo = {
  id: 'r1',
  title: 'Lesson',
  host: { id: ADA.id, name: ADA.name },
  members: 2,
  locked: false,
  board_locked: false,
  created_at: '2026-12-02T09:00:00Z',
  max_members: 30
};

function summary(shareId: string, seq: number, extra: Partial<NotebookSummary> = {}): NotebookSummary {
  return {
    share_id: shareId,
    room_id: 'r1',
    sharer: { id: ADA.id, name: 'Ada' },
    path: 'lesson.ipynb',
    language: 'python',
    seq,
    live: true,
    cells: 1,
    started_at: '2026-12-02T09:00:00Z',
    ...extra
  };
}

function snapshot(shareId: string, seq: number, source: string): NotebookSnapshot {
  return {
    summary: summary(shareId, seq),
    cells: [{ id: 'a', cell_type: 'code', source, outputs: [], execution_count: null }],
    active: 'a'
  };
}

function joined(you = BOB, notebook?: NotebookSummary, sharers?: string[]) {
  return {
    ok: true,
    room: ROOM,
    you,
    members: [ADA, BOB],
    board: { seq: 0, ops: [], complete: true },
    chat: [],
    ...(notebook ? { notebook } : {}),
    ...(sharers ? { sharers } : {})
  };
}

const edit = (text: string) => [{ type: 'edit', cell_id: 'a', delta: [{ retain: 3 }, { insert: text }] }];

async function receiverIn(you = BOB, notebook?: NotebookSummary, gets: unknown[] = []) {
  const session = pageSession('/p');
  const socket: FakeSocket = sockets[0];
  const replies = gets.slice();
  socket.ack = event => {
    if (event === 'room:join') {
      return joined(you, notebook);
    }
    if (event === 'notebook:get') {
      return { ok: true, ...(replies.shift() as object) };
    }
    return { ok: true };
  };
  socket.serverConnect();
  const link = await session.join('r1');
  const receiver = new ShareReceiver(link);
  const started: string[] = [];
  receiver.started.connect(s => started.push(s.share_id));
  return { socket, receiver, started };
}

function gets(socket: FakeSocket) {
  return socket.emitted.filter(e => e.event === 'notebook:get').map(e => e.payload);
}

afterEach(() => {
  resetPageSessions();
  sockets.length = 0;
});

describe('ShareReceiver', () => {
  it('joins late: fetches the share the join ack names, and says it started', async () => {
    const { socket, receiver, started } = await receiverIn(BOB, summary('s1', 3), [{ notebook: snapshot('s1', 3, 'x = 1') }]);
    await waitFor(() => receiver.notebook.shareId === 's1', 'fetched');
    assert.deepEqual(gets(socket), [{ room_id: 'r1' }]);
    assert.equal(receiver.notebook.cells[0].source, 'x = 1');
    assert.deepEqual(started, ['s1']);
    assert.equal(receiver.canShare, false);
    assert.equal(receiver.isHost, false);
  });

  it('applies patches in order, ignores duplicates, fetches the batches after a gap', async () => {
    const { socket, receiver } = await receiverIn(BOB, summary('s1', 3), [
      { notebook: snapshot('s1', 3, 'x = 1') },
      { notebook: null, share_id: 's1', batches: [{ seq: 5, patches: edit('B') }, { seq: 6, patches: edit('C') }] }
    ]);
    await waitFor(() => receiver.notebook.seq === 3, 'fetched');
    socket.fire('notebook:patched', { room_id: 'r1', share_id: 's1', seq: 4, patches: edit('A') });
    socket.fire('notebook:patched', { room_id: 'r1', share_id: 's1', seq: 4, patches: edit('A') });
    assert.equal(receiver.notebook.cells[0].source, 'x =A 1');
    socket.fire('notebook:patched', { room_id: 'r1', share_id: 's1', seq: 7, patches: edit('D') }); // 5, 6 lost
    await waitFor(() => receiver.notebook.seq === 6, 'the gap filled');
    assert.deepEqual(gets(socket)[1], { room_id: 'r1', share_id: 's1', since: 4 });
    assert.equal(receiver.notebook.cells[0].source, 'x =CBA 1');
  });

  it('a new share replaces everything; a stopped one stays readable', async () => {
    const { socket, receiver, started } = await receiverIn(BOB, summary('s1', 0), [{ notebook: snapshot('s1', 0, 'old') }]);
    await waitFor(() => receiver.notebook.shareId === 's1', 'fetched');
    socket.fire('notebook:shared', { room_id: 'r1', notebook: snapshot('s2', 0, 'new') });
    assert.equal(receiver.notebook.shareId, 's2');
    assert.equal(receiver.notebook.cells[0].source, 'new');
    assert.deepEqual(started, ['s1', 's2']);
    socket.fire('notebook:stopped', { room_id: 'r1', share_id: 's2', reason: 'stopped' });
    assert.equal(receiver.notebook.live, false);
    assert.equal(receiver.notebook.cells[0].source, 'new');
  });

  it('the sharer’s page: may share, does not open its own share, nor chase its patches', async () => {
    const { socket, receiver, started } = await receiverIn(ADA);
    assert.equal(receiver.canShare, true);
    assert.equal(receiver.isHost, true);
    socket.fire('notebook:shared', { room_id: 'r1', notebook: { ...snapshot('s1', 0, 'mine'), summary: summary('s1', 0) } });
    assert.equal(receiver.isSharer, true);
    assert.deepEqual(started, []);
    socket.fire('notebook:patched', { room_id: 'r1', share_id: 's1', seq: 9, patches: edit('x') });
    await new Promise(r => setTimeout(r, 10));
    assert.deepEqual(gets(socket), []);
  });

  it('a member the host allows may share', async () => {
    const { socket, receiver } = await receiverIn(BOB);
    assert.equal(receiver.canShare, false);
    socket.fire('notebook:sharers', { room_id: 'r1', sharers: [BOB.id] });
    assert.equal(receiver.canShare, true);
  });
});

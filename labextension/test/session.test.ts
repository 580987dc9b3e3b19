// The page session: one socket per page, room links attached with the kernel's ticket first
// and re-attached after a reconnect with a spare ticket asked on the page socket itself.
import './setup-dom';

import { strict as assert } from 'node:assert';
import { afterEach, describe, it } from 'node:test';

import { FakeSocket, sockets } from './stubs/socketio';
import { waitFor } from './fake-rtc';
import { pageSession, RequestError, resetPageSessions } from '../src/page/session';

const ADA = { id: 'm-ada', name: 'Ada', color: '#ff0000', role: 'host' as const };
const BOB = { id: 'm-bob', name: 'Bob', color: '#00ff00', role: 'member' as const };
const ROOM = {
  id: 'r1',
  title: 'Room',
  host: { id: ADA.id, name: ADA.name },
  members: 2,
  locked: false,
  board_locked: false,
  created_at: '',
  max_members: 10
};

/** Plays the server: attach and ticket acks, with every request recorded on the socket. */
function serve(socket: FakeSocket, options: { ttl?: number } = {}): void {
  let tickets = 0;
  socket.ack = (event, payload) => {
    if (event === 'room:attach') {
      return {
        ok: true,
        room: ROOM,
        you: ADA,
        members: [ADA, BOB],
        rtc: { ice_servers: [], max_publishers: 6 },
        board: { seq: payload.since ?? 3, ops: [], complete: payload.since === undefined },
        chat: []
      };
    }
    if (event === 'room:ticket') {
      tickets++;
      return { ok: true, ticket: `spare-${tickets}`, ttl: options.ttl ?? 60 };
    }
    if (event === 'chat:send') {
      return { ok: false, error: { code: 'rate_limited', message: 'too fast' } };
    }
    return { ok: true };
  };
}

afterEach(() => {
  resetPageSessions();
  sockets.length = 0;
});

describe('page session', () => {
  it('is one socket per page, connecting with batched board ops', () => {
    const a = pageSession('/classroom/socket.io');
    const b = pageSession('/classroom/socket.io');
    assert.equal(a, b);
    assert.equal(sockets.length, 1);
    const { client_id: clientId, ...auth } = sockets[0].opts.auth;
    assert.deepEqual(auth, { batch: true });
    assert.match(clientId, /^page-/, 'a client id of the tab keeps its member across reconnects');
    assert.deepEqual(sockets[0].opts.transports, ['websocket']);
  });

  it('attaches a room with the kernel ticket, then keeps a spare from the page socket', async () => {
    const session = pageSession('/classroom/socket.io');
    const socket = sockets[0];
    serve(socket);
    let asked = 0;
    const link = session.link('r1', ADA.id, async () => `kernel-${++asked}`);
    const again = session.link('r1', ADA.id, async () => `kernel-${++asked}`);
    assert.equal(link, again, 'views of one room share the link');
    socket.serverConnect();
    await waitFor(() => link.state.value === 'attached', 'attached');
    assert.deepEqual(socket.emitted[0], {
      event: 'room:attach',
      payload: { ticket: 'kernel-1', board: true }
    });
    assert.equal(link.members.size, 2);
    await waitFor(() => socket.emitted.some(e => e.event === 'room:ticket'), 'spare asked');
    assert.deepEqual(socket.emitted.find(e => e.event === 'room:ticket')!.payload, {
      room_id: 'r1'
    });

    // the connection drops and comes back: the spare attaches, with `since`, no kernel
    link.sinceProvider = () => 42;
    socket.serverDisconnect();
    assert.equal(link.state.value, 'detached');
    socket.serverConnect();
    await waitFor(
      () => socket.emitted.filter(e => e.event === 'room:attach').length === 2,
      're-attached'
    );
    const reattach = socket.emitted.filter(e => e.event === 'room:attach')[1];
    assert.deepEqual(reattach.payload, { ticket: 'spare-1', board: true, since: 42 });
    assert.equal(asked, 1, 'the kernel was asked once');
    await waitFor(() => link.state.value === 'attached', 'attached again');
  });

  it('attaches a link made while the socket is already connected, after the caller has it', async () => {
    const session = pageSession('/classroom/socket.io');
    const socket = sockets[0];
    serve(socket);
    socket.serverConnect(); // opened earlier (by the side panel)
    // the view's ticket source refers to the link it is being handed
    const link = session.link('r1', ADA.id, async () => (link.roomId === 'r1' ? 'kernel-1' : ''));
    await waitFor(() => link.state.value === 'attached', 'attached');
    assert.deepEqual(socket.emitted[0].payload, { ticket: 'kernel-1', board: true });
    assert.equal(pageSession('/classroom/socket.io/'), session, 'one session whatever the spelling');
  });

  it('asks the kernel again when there is no spare', async () => {
    const session = pageSession('/p');
    const socket = sockets[0];
    serve(socket, { ttl: 0 }); // a spare that is expired at once
    let asked = 0;
    const link = session.link('r1', ADA.id, async () => `kernel-${++asked}`);
    socket.serverConnect();
    await waitFor(() => link.state.value === 'attached', 'attached');
    await waitFor(() => socket.emitted.some(e => e.event === 'room:ticket'), 'spare asked');
    socket.serverDisconnect();
    socket.serverConnect();
    await waitFor(() => asked === 2, 'kernel asked again');
  });

  it("delivers only its room's events, and requests resolve or reject with the code", async () => {
    const session = pageSession('/p');
    const socket = sockets[0];
    serve(socket);
    const link = session.link('r1', ADA.id, async () => 'k');
    socket.serverConnect();
    await waitFor(() => link.state.value === 'attached', 'attached');
    const heard: unknown[] = [];
    const off = link.on('board:ops', e => heard.push(e));
    socket.fire('board:ops', { room_id: 'r2', ops: [] });
    socket.fire('board:ops', { room_id: 'r1', ops: [] });
    assert.deepEqual(heard, [{ room_id: 'r1', ops: [] }]);
    off();
    socket.fire('board:ops', { room_id: 'r1', ops: [] });
    assert.equal(heard.length, 1);

    assert.deepEqual(await link.request('room:update', { room_id: 'r1' }), {});
    await assert.rejects(link.request('chat:send', { room_id: 'r1', text: 'x' }), (e: unknown) => {
      assert.ok(e instanceof RequestError);
      assert.equal(e.code, 'rate_limited');
      return true;
    });

    link.emit('board:cursor', { room_id: 'r1', x: 1, y: 2 });
    assert.deepEqual(socket.sent, [{ event: 'board:cursor', payload: { room_id: 'r1', x: 1, y: 2 } }]);
  });

  it('keeps members current and ends when its member leaves', async () => {
    const session = pageSession('/p');
    const socket = sockets[0];
    serve(socket);
    const link = session.link('r1', ADA.id, async () => 'k');
    socket.serverConnect();
    await waitFor(() => link.state.value === 'attached', 'attached');
    socket.fire('room:member_left', { room_id: 'r1', member_id: BOB.id, reason: 'left' });
    assert.deepEqual([...link.members.keys()], [ADA.id]);
    socket.fire('room:member_left', { room_id: 'r1', member_id: ADA.id, reason: 'kicked' });
    assert.equal(link.state.value, 'ended');
    assert.match(link.message, /removed/);
    // a new membership of the room gets a new link
    const next = session.link('r1', 'm-ada-2', async () => 'k2');
    assert.notEqual(next, link);
  });
});

// The side panel's models on a fake socket: the lobby (room:list, room:list_changed), the
// hands queue (join ack, hand:queue, requests, hand:taken), and the page's own membership
// (join with a password, re-join after a reconnect with `since`, leave, create, adoption of
// a notebook's attached room).
import './setup-dom';

import { strict as assert } from 'node:assert';
import { afterEach, describe, it } from 'node:test';

import { FakeSocket, sockets } from './stubs/socketio';
import { waitFor } from './fake-rtc';
import { JoinedLink, pageSession, RequestError, resetPageSessions } from '../src/page/session';
import { ClassroomController, HandTaken } from '../src/panel/controller';
import { HandsModel } from '../src/panel/hands-model';
import { RoomListModel } from '../src/panel/rooms-model';

import type { Announcement, RoomInfo } from '../src/protocol.generated';

const ADA = { id: 'm-ada', name: 'Ada', color: '#ff0000', role: 'host' as const };
const BOB = { id: 'm-bob', name: 'Bob', color: '#00ff00', role: 'member' as const };

function room(id: string, extra: Partial<RoomInfo> = {}): RoomInfo {
  return {
    id,
    title: `Room ${id}`,
    host: { id: ADA.id, name: ADA.name },
    members: 1,
    locked: false,
    board_locked: false,
    created_at: '2026-12-02T09:00:00Z',
    max_members: 30,
    ...extra
  };
}

function hand(member: { id: string; name: string }, at: string) {
  return { member_id: member.id, name: member.name, raised_at: `2026-12-02T09:00:${at}Z` };
}

/** A join ack for Bob in room `r1` (Ada hosts), with the queue given. */
function joined(seq = 5, hands: unknown[] = []) {
  return {
    ok: true,
    room: room('r1', { locked: true, members: 2 }),
    you: BOB,
    members: [ADA, BOB],
    board: { seq, ops: [], complete: true },
    chat: [],
    hands
  };
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>(r => (resolve = r));
  return { promise, resolve };
}

afterEach(() => {
  resetPageSessions();
  sockets.length = 0;
});

describe('room list model', () => {
  it('takes room:list on connect, then every room:list_changed', async () => {
    const session = pageSession('/p');
    const socket = sockets[0];
    socket.ack = event =>
      event === 'room:list' ? { ok: true, rooms: [room('a')], can_create: true } : { ok: true };
    const model = new RoomListModel(session);
    let changes = 0;
    model.changed.connect(() => changes++);
    assert.equal(model.loaded, false);
    socket.serverConnect();
    await waitFor(() => model.loaded, 'listed');
    assert.deepEqual(
      model.rooms.map(r => r.id),
      ['a']
    );
    assert.equal(model.canCreate, true);
    socket.fire('room:list_changed', { rooms: [room('a', { members: 3 }), room('b', { locked: true })] });
    assert.deepEqual(
      model.rooms.map(r => [r.id, r.members, r.locked]),
      [
        ['a', 3, false],
        ['b', 1, true]
      ]
    );
    assert.equal(model.find('b')?.locked, true);
    socket.fire('room:list_changed', { rooms: [] });
    assert.equal(model.rooms.length, 0);
    socket.fire('room:list_changed', { nonsense: true }); // ignored
    assert.equal(model.rooms.length, 0);
    assert.ok(changes >= 3);
    model.dispose();
    socket.fire('room:list_changed', { rooms: [room('c')] });
    assert.equal(model.rooms.length, 0, 'a disposed model listens no more');
  });

  it('drops a room:list answer older than a room:list_changed that overtook it', async () => {
    const session = pageSession('/p');
    const socket = sockets[0];
    const answer = deferred<unknown>();
    socket.ack = event => (event === 'room:list' ? answer.promise : { ok: true });
    socket.serverConnect();
    const model = new RoomListModel(session); // connected: asks at once
    await waitFor(() => socket.emitted.some(e => e.event === 'room:list'), 'asked');
    socket.fire('room:list_changed', { rooms: [room('new')] });
    answer.resolve({ ok: true, rooms: [room('old')], can_create: false });
    await new Promise(r => setTimeout(r, 10));
    assert.deepEqual(
      model.rooms.map(r => r.id),
      ['new']
    );
    assert.equal(model.canCreate, false, 'can_create still comes from the answer');
  });

  it('says why the list could not be read', async () => {
    const session = pageSession('/p');
    const socket = sockets[0];
    socket.ack = () => ({ ok: false, error: { code: 'rate_limited', message: 'slow down' } });
    socket.serverConnect();
    const model = new RoomListModel(session);
    await waitFor(() => model.error !== '', 'error');
    assert.equal(model.error, 'slow down');
    assert.equal(model.loaded, false);
  });
});

describe("the page's own membership (join flow)", () => {
  function serveJoin(socket: FakeSocket, password = 'pw'): void {
    socket.ack = (event, payload) => {
      if (event === 'room:join') {
        if (payload.since === undefined && payload.password !== password) {
          return { ok: false, error: { code: 'bad_password', message: 'wrong password' } };
        }
        return joined(payload.since ?? 5);
      }
      if (event === 'room:list') {
        return { ok: true, rooms: [room('r1', { locked: true })], can_create: true };
      }
      return { ok: true };
    };
  }

  it('joins with a password; a wrong one leaves the page in the lobby', async () => {
    const session = pageSession('/p');
    const socket = sockets[0];
    serveJoin(socket);
    socket.serverConnect();
    await assert.rejects(session.join('r1', 'nope'), (e: unknown) => {
      assert.ok(e instanceof RequestError);
      assert.equal(e.code, 'bad_password');
      return true;
    });
    assert.equal(session.room.value, null);
    // an event for r1 now reaches nobody (the failed link was forgotten)
    socket.fire('chat:message', { room_id: 'r1', id: 'x', text: 'hi' });

    const link = await session.join('r1', 'pw');
    assert.ok(link instanceof JoinedLink);
    assert.equal(session.room.value, link);
    assert.equal(link.memberId, BOB.id);
    assert.equal(link.state.value, 'attached');
    assert.deepEqual([...link.members.keys()], [ADA.id, BOB.id]);
    assert.deepEqual(
      socket.emitted.filter(e => e.event === 'room:join').map(e => e.payload),
      [
        { room_id: 'r1', password: 'nope' },
        { room_id: 'r1', password: 'pw' }
      ]
    );
    assert.equal(await session.join('r1'), link, 'joining the same room again is the same link');
  });

  it('re-joins after a reconnect with since (the last seq seen), without the password', async () => {
    const session = pageSession('/p');
    const socket = sockets[0];
    serveJoin(socket);
    socket.serverConnect();
    const link = (await session.join('r1', 'pw')) as JoinedLink;
    assert.equal(link.lastSeq, 5);
    socket.fire('board:ops', {
      room_id: 'r1',
      ops: [
        { seq: 6, author: ADA.id, ts: '', op: { type: 'clear', id: 'c1' } },
        { seq: 7, author: ADA.id, ts: '', op: { type: 'clear', id: 'c2' } }
      ]
    });
    assert.equal(link.lastSeq, 7);
    const attaches: number[] = [];
    link.onAttached.connect(ack => attaches.push(ack.board?.seq ?? -1));
    socket.serverDisconnect();
    assert.equal(link.state.value, 'detached');
    socket.serverConnect();
    await waitFor(() => link.state.value === 'attached', 're-joined');
    const joins = socket.emitted.filter(e => e.event === 'room:join');
    assert.deepEqual(joins[joins.length - 1].payload, { room_id: 'r1', since: 7 });
    assert.deepEqual(attaches, [7]);
    assert.equal(session.room.value, link);
    assert.equal(
      socket.emitted.filter(e => e.event === 'room:attach' || e.event === 'room:ticket').length,
      0,
      'a page membership needs no tickets'
    );
  });

  it('ends when the re-join is refused, and says why', async () => {
    const session = pageSession('/p');
    const socket = sockets[0];
    serveJoin(socket);
    socket.serverConnect();
    const link = await session.join('r1', 'pw');
    const ended: string[] = [];
    session.roomEnded.connect(e => ended.push(e.message));
    socket.ack = () => ({ ok: false, error: { code: 'forbidden', message: 'you were removed from this room' } });
    socket.serverDisconnect();
    socket.serverConnect();
    await waitFor(() => link.state.value === 'ended', 'ended');
    assert.equal(session.room.value, null);
    assert.match(ended[0], /removed/);
  });

  it('leaves with room:leave; kicked or closed, the page is back in the lobby', async () => {
    const session = pageSession('/p');
    const socket = sockets[0];
    serveJoin(socket);
    socket.serverConnect();
    await session.join('r1', 'pw');
    await session.leave();
    assert.equal(session.room.value, null);
    assert.deepEqual(socket.emitted[socket.emitted.length - 1], {
      event: 'room:leave',
      payload: { room_id: 'r1' }
    });

    const again = await session.join('r1', 'pw');
    const ended: string[] = [];
    session.roomEnded.connect(e => ended.push(e.message));
    socket.fire('room:member_left', { room_id: 'r1', member_id: BOB.id, reason: 'kicked' });
    assert.equal(again.state.value, 'ended');
    assert.equal(session.room.value, null);
    assert.match(ended[0], /removed/);
  });

  it('creates a room as its host; going into another room leaves the first', async () => {
    const session = pageSession('/p');
    const socket = sockets[0];
    socket.ack = (event, payload) => {
      if (event === 'room:create') {
        return { ...joined(0), room: room('r9', { title: payload.title, locked: !!payload.password }), you: ADA, members: [ADA] };
      }
      if (event === 'room:join') {
        return joined();
      }
      return { ok: true };
    };
    socket.serverConnect();
    const created = await session.create({ title: 'Algebra', password: 's3cret' });
    assert.deepEqual(socket.emitted[0], { event: 'room:create', payload: { title: 'Algebra', password: 's3cret' } });
    assert.equal(created.roomId, 'r9');
    assert.equal(created.memberId, ADA.id);
    assert.equal(created.attached?.room.host.id, ADA.id);
    await session.join('r1');
    assert.equal(created.state.value, 'ended');
    assert.deepEqual(
      socket.emitted.slice(1).map(e => [e.event, e.payload.room_id]),
      [
        ['room:join', 'r1'],
        ['room:leave', 'r9']
      ]
    );
  });

  it("adopts the page socket's attached notebook room instead of joining it again", async () => {
    const session = pageSession('/p');
    const socket = sockets[0];
    socket.ack = event =>
      event === 'room:attach'
        ? { ...joined(), you: BOB, rtc: { ice_servers: [], max_publishers: 6 } }
        : event === 'room:ticket'
          ? { ok: true, ticket: 'spare', ttl: 60 }
          : { ok: true };
    socket.serverConnect();
    const kernelLink = session.link('r1', BOB.id, async () => 'kernel-ticket');
    await waitFor(() => kernelLink.state.value === 'attached', 'attached');
    assert.equal(session.room.value, kernelLink, 'a notebook room shows in the panel');
    assert.equal(await session.join('r1'), kernelLink);
    assert.equal(socket.emitted.filter(e => e.event === 'room:join').length, 0);
  });
  it("offers its own membership to a notebook's kernel that joined the same room (one member)", async () => {
    const session = pageSession('/p');
    const socket = sockets[0];
    let tickets = 0;
    socket.ack = event =>
      event === 'room:join'
        ? joined()
        : event === 'room:ticket'
          ? { ok: true, ticket: `page-ticket-${++tickets}`, ttl: 60 }
          : { ok: true };
    socket.serverConnect();
    const own = await session.join('r1');
    const offers: { kernel: string; page: string; ticket: string; claimed: boolean }[] = [];
    session.membershipOffers.connect(o =>
      offers.push({ kernel: o.kernelMemberId, page: o.pageMemberId, ticket: o.ticket, claimed: o.claim() })
    );
    session.membershipOffers.connect(o => assert.equal(o.claim(), false, 'one view sends it'));
    // the kernel joined as ADA.id (its own member); its views get the page's membership
    const kernelLink = session.link('r1', ADA.id, async () => 'kernel-ticket');
    assert.equal(kernelLink, own, "the views show the page's membership");
    assert.equal(own.state.value, 'attached');
    assert.equal(session.room.value, own);
    await waitFor(() => offers.length === 1, 'the offer');
    // with the page's member: the kernel hands it the host role if it hosts (page_views.py)
    assert.deepEqual(offers, [{ kernel: ADA.id, page: own.memberId, ticket: 'page-ticket-1', claimed: true }]);
    assert.deepEqual(socket.emitted.at(-1), { event: 'room:ticket', payload: { room_id: 'r1' } });
    // more views of that kernel: no second offer; nothing was left or attached
    assert.equal(session.link('r1', ADA.id, async () => 'kernel-ticket'), own);
    await new Promise(resolve => setTimeout(resolve, 10));
    assert.equal(offers.length, 1);
    assert.deepEqual(
      socket.emitted.map(e => e.event),
      ['room:join', 'room:ticket']
    );
    // the kernel, re-joined as its own member after a reconnect, asks again
    session.offerMembership(own, ADA.id, true);
    await waitFor(() => offers.length === 2, 'the second offer');
    assert.equal(offers[1].ticket, 'page-ticket-2');
    // once the kernel is the page's member, its views share the link, with no offer
    assert.equal(session.link('r1', own.memberId, async () => 'kernel-ticket'), own);
    assert.equal(tickets, 2);
  });

  it('offers again when no view claimed the offer', async () => {
    const session = pageSession('/p');
    const socket = sockets[0];
    socket.ack = event => (event === 'room:join' ? joined() : event === 'room:ticket' ? { ok: true, ticket: 't' } : { ok: true });
    socket.serverConnect();
    const own = await session.join('r1');
    session.link('r1', ADA.id, async () => 'kernel-ticket'); // (no view listens yet)
    await waitFor(() => socket.emitted.filter(e => e.event === 'room:ticket').length === 1, 'asked');
    await new Promise(resolve => setTimeout(resolve, 10));
    const claimed: string[] = [];
    session.membershipOffers.connect(o => o.claim() && claimed.push(o.ticket));
    assert.equal(session.link('r1', ADA.id, async () => 'kernel-ticket'), own);
    await waitFor(() => claimed.length === 1, 'claimed by the view that came');
  });
});

describe('hands queue model', () => {
  async function bobInRoom(hands: unknown[] = []) {
    const session = pageSession('/p');
    const socket = sockets[0];
    socket.ack = (event, payload) => (event === 'room:join' ? joined(5, hands) : socket.handAck(event, payload));
    socket.serverConnect();
    const link = await session.join('r1', 'pw');
    return { session, socket, link };
  }

  it('starts from the join ack, then follows hand:queue in raise order', async () => {
    const { socket, link } = await bobInRoom([hand(ADA, '05')]);
    const model = new HandsModel(link);
    assert.deepEqual(
      model.hands.map(h => h.member_id),
      [ADA.id]
    );
    assert.equal(model.raised, false);
    socket.fire('hand:queue', { room_id: 'r1', hands: [hand(BOB, '09'), hand(ADA, '05')] });
    assert.deepEqual(
      model.hands.map(h => h.member_id),
      [ADA.id, BOB.id],
      'ordered by raised_at'
    );
    assert.equal(model.raised, true);
    assert.equal(model.position(BOB.id), 2);
    socket.fire('hand:queue', { room_id: 'r2', hands: [] }); // another room's
    assert.equal(model.hands.length, 2);
    socket.fire('room:member_left', { room_id: 'r1', member_id: ADA.id, reason: 'left' });
    assert.deepEqual(
      model.hands.map(h => h.member_id),
      [BOB.id],
      "a departed member's hand goes"
    );
  });

  it('raises, lowers and takes with the room id; the ack is the queue', async () => {
    const { socket, link } = await bobInRoom();
    const model = new HandsModel(link);
    socket.handAck = (event, payload) => {
      if (event === 'hand:raise') {
        return { ok: true, hands: [hand(BOB, '01')] };
      }
      if (event === 'hand:lower') {
        return { ok: true, hands: [] };
      }
      if (event === 'hand:take') {
        return payload.member_id === 'm-nobody'
          ? { ok: false, error: { code: 'not_found', message: 'that hand is not raised' } }
          : { ok: true, hands: [], taken: hand(BOB, '01') };
      }
      return { ok: true };
    };
    await model.raise();
    assert.equal(model.raised, true);
    await model.lower();
    assert.equal(model.raised, false);
    await model.lower(ADA.id);
    const taken = await model.take();
    assert.equal(taken?.member_id, BOB.id);
    await assert.rejects(model.take('m-nobody'), (e: unknown) => e instanceof RequestError && e.code === 'not_found');
    assert.deepEqual(
      socket.emitted.filter(e => e.event.startsWith('hand:')).map(e => [e.event, e.payload]),
      [
        ['hand:raise', { room_id: 'r1' }],
        ['hand:lower', { room_id: 'r1' }],
        ['hand:lower', { room_id: 'r1', member_id: ADA.id }],
        ['hand:take', { room_id: 'r1' }],
        ['hand:take', { room_id: 'r1', member_id: 'm-nobody' }]
      ]
    );
  });

  it('keeps a hand:queue that arrived before the ack of an older request', async () => {
    const { socket, link } = await bobInRoom();
    const model = new HandsModel(link);
    const answer = deferred<unknown>();
    socket.handAck = () => answer.promise;
    const raising = model.raise();
    socket.fire('hand:queue', { room_id: 'r1', hands: [hand(BOB, '01'), hand(ADA, '02')] });
    answer.resolve({ ok: true, hands: [hand(BOB, '01')] });
    await raising;
    assert.equal(model.hands.length, 2);
  });

  it('tells its member when the host takes their hand, and no one else', async () => {
    const { socket, link } = await bobInRoom();
    const model = new HandsModel(link);
    const taken: unknown[] = [];
    model.taken.connect(e => taken.push(e));
    socket.fire('hand:taken', { room_id: 'r1', member_id: ADA.id, by: ADA.id });
    socket.fire('hand:taken', { room_id: 'r1', member_id: BOB.id, by: ADA.id });
    assert.deepEqual(taken, [{ room_id: 'r1', member_id: BOB.id, by: ADA.id }]);
  });
});

describe('classroom controller', () => {
  it('follows the page room, names who took your hand, and passes announcements on', async () => {
    const session = pageSession('/p');
    const socket = sockets[0];
    socket.ack = event =>
      event === 'room:join'
        ? joined(5, [hand(BOB, '01')])
        : event === 'room:list'
          ? { ok: true, rooms: [room('r1')], can_create: false }
          : { ok: true, message: { id: 'c1', room_id: 'r1', from: BOB, to: null, text: 'hi', ts: '' } };
    const controller = new ClassroomController(session);
    const announcements: Announcement[] = [];
    const taken: HandTaken[] = [];
    controller.announcement.connect(a => announcements.push(a));
    controller.handTaken.connect(e => taken.push(e));
    socket.serverConnect();
    await waitFor(() => controller.lobby.loaded, 'lobby');
    assert.equal(controller.link, null, 'in the lobby');

    await controller.join('r1', 'pw');
    assert.equal(controller.room?.title, 'Room r1');
    assert.equal(controller.isHost, false);
    assert.deepEqual(
      controller.members().map(m => m.name),
      ['Ada', 'Bob'],
      'the host first'
    );
    assert.equal((controller.hands as HandsModel | null)?.position(BOB.id), 1);
    const sent = await controller.sendChat('hi');
    assert.equal(sent.text, 'hi');

    socket.fire('hand:taken', { room_id: 'r1', member_id: BOB.id, by: ADA.id });
    assert.deepEqual(
      taken.map(t => [t.title, t.byName]),
      [['Room r1', 'Ada']]
    );
    socket.fire('rtc:media', { room_id: 'r1', from: ADA.id, audio: false, video: true });
    assert.deepEqual(controller.media.get(ADA.id), { audio: false, video: true });
    socket.fire('room:member_left', { room_id: 'r1', member_id: ADA.id, reason: 'left' });
    assert.equal(controller.media.has(ADA.id), false);
    socket.fire('server:announcement', { text: 'Break in 5 minutes', from: 'admin', ts: '' });
    assert.deepEqual(
      announcements.map(a => a.text),
      ['Break in 5 minutes']
    );
    await controller.announce('hello');
    assert.deepEqual(socket.emitted[socket.emitted.length - 1], { event: 'server:announce', payload: { text: 'hello' } });

    await controller.leave();
    assert.equal(controller.hands, null);
    await assert.rejects(controller.raiseHand(), /not in a room/);
  });
});

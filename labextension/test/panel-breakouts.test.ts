// Breakouts in the side panel, on a fake socket: the page session's group room beside its
// main room, the breakouts model (open by the host, a member moved into its group at
// breakout:opened or from a join ack after a reload, the time left, the recall with the kept
// boards, the host's visit and return), the controller's shown room, and the dialog's checks.
import './setup-dom';

import { strict as assert } from 'node:assert';
import { afterEach, describe, it } from 'node:test';

import { sockets } from './stubs/socketio';
import { waitFor } from './fake-rtc';
import { pageSession, RequestError, resetPageSessions } from '../src/page/session';
import { breakoutOptions, BreakoutsModel, clock } from '../src/panel/breakouts-model';
import { ClassroomController } from '../src/panel/controller';

import type { RoomInfo } from '../src/protocol.generated';

const ADA = { id: 'm-ada', name: 'Ada', color: '#ff0000', role: 'host' as const };
const BOB = { id: 'm-bob', name: 'Bob', color: '#00ff00', role: 'member' as const };
const CY = { id: 'm-cy', name: 'Cy', color: '#0000ff', role: 'member' as const };

const GROUPS = [
  { room_id: 'g1', title: 'Group 1', members: [BOB.id] },
  { room_id: 'g2', title: 'Group 2', members: [CY.id] }
];

function room(id: string, extra: Partial<RoomInfo> = {}): RoomInfo {
  return {
    id,
    title: id === 'main' ? 'Main' : `Room ${id}`,
    host: { id: ADA.id, name: ADA.name },
    members: 3,
    locked: false,
    board_locked: false,
    created_at: '2026-12-02T09:00:00Z',
    max_members: 30,
    ...extra
  };
}

/** A join ack for `you` in `roomId` (Ada hosts). */
function joined(roomId: string, you: typeof ADA | typeof BOB, extra: Record<string, unknown> = {}) {
  const members = roomId === 'main' ? [ADA, BOB, CY] : roomId === 'g1' ? [BOB] : [CY];
  return {
    ok: true,
    room: room(roomId, roomId === 'main' ? {} : { parent_id: 'main', title: roomId === 'g1' ? 'Group 1' : 'Group 2' }),
    you,
    members: members.some(m => m.id === you.id) ? members : [...members, you],
    board: { seq: 0, ops: [], complete: true },
    chat: [],
    hands: [],
    ...extra
  };
}

/** The page's group room id, or null (read fresh: no narrowing across awaits). */
function groupOf(session: { group: { value: { roomId: string } | null } }): string | null {
  return session.group.value?.roomId ?? null;
}

/** A page of `you` in the main room, the server played by `ack`. */
async function inMain(you: typeof ADA | typeof BOB, joinAck: Record<string, unknown> = {}) {
  const session = pageSession('/p');
  const socket = sockets[0];
  const extra: Record<string, (payload: any) => unknown> = {};
  socket.ack = (event, payload) => {
    if (extra[event]) {
      return extra[event](payload);
    }
    if (event === 'room:join') {
      return joined(payload.room_id, you, payload.room_id === 'main' ? joinAck : {});
    }
    if (event === 'room:list') {
      return { ok: true, rooms: [], can_create: true };
    }
    return { ok: true };
  };
  socket.serverConnect();
  const controller = new ClassroomController(session);
  const link = await session.join('main');
  return { session, socket, controller, link, extra };
}

afterEach(() => {
  resetPageSessions();
  sockets.length = 0;
});

describe('breakouts: a member of a group', () => {
  it('moves into its group at breakout:opened, keeps the main room, and comes back at the recall', async () => {
    const { session, socket, controller, link } = await inMain(BOB);
    const model = controller.breakouts!;
    assert.ok(model instanceof BreakoutsModel);
    const assigned: string[] = [];
    controller.breakoutAssigned.connect(e => assigned.push(e.title));
    const endsAt = new Date(Date.now() + 12 * 60000 + 30000).toISOString();
    socket.fire('breakout:opened', { room_id: 'main', breakouts: GROUPS, ends_at: endsAt });
    assert.deepEqual(assigned, ['Group 1']);
    assert.equal(model.mine?.room_id, 'g1');
    await waitFor(() => session.group.value?.roomId === 'g1', 'in the group room');
    assert.equal(session.room.value, link, 'the main room is kept');
    assert.equal(link.state.value, 'attached');
    assert.equal(controller.view?.roomId, 'g1', 'the panel shows the group');
    assert.deepEqual(
      controller.members().map(m => m.id),
      [BOB.id]
    );
    assert.match(model.line(), /^You are in Group 1 \u2014 12:(30|29) left$/);
    assert.ok(!socket.emitted.some(e => e.event === 'room:leave'), 'nothing was left');

    // chat goes to the group's room while in it
    socket.ack = (event, payload) =>
      event === 'chat:send'
        ? { ok: true, message: { id: 'c1', room_id: payload.room_id, from: { id: BOB.id, name: 'Bob' }, to: null, text: payload.text, ts: '' } }
        : { ok: true };
    await controller.sendChat('hi group');
    assert.equal(socket.emitted.at(-1)?.payload.room_id, 'g1');

    // the recall: the group's room:closed, then breakout:closed to the main room
    const ended: string[] = [];
    controller.groupEnded.connect(e => ended.push(e.reason));
    socket.fire('room:closed', { room_id: 'g1', reason: 'recalled' });
    assert.deepEqual(ended, ['recalled']);
    assert.equal(session.group.value, null);
    assert.equal(controller.view, link, 'back in the main room');
    assert.equal(link.state.value, 'attached');
    socket.fire('breakout:closed', { room_id: 'main', breakouts: GROUPS });
    assert.equal(model.groups, null);
    assert.deepEqual(
      model.kept.map(g => g.title),
      ['Group 1', 'Group 2']
    );
    assert.equal(model.line(), '');
    socket.ack = () => ({ ok: true, board: { seq: 2, ops: [], complete: true } });
    assert.equal((await model.board('g1')).seq, 2);
    assert.deepEqual(socket.emitted.at(-1), { event: 'breakout:board', payload: { room_id: 'main', breakout_id: 'g1' } });
  });

  it('goes back into its group from the join ack after a reload', async () => {
    const { session, controller } = await inMain(BOB, { breakouts: { breakouts: GROUPS, ends_at: null } });
    await waitFor(() => session.group.value?.roomId === 'g1', 'in the group room again');
    assert.equal(controller.breakouts!.msLeft(), null, 'no timer');
    assert.equal(controller.breakouts!.line(), 'You are in Group 1');
  });

  it("lists the kept boards from the join ack after a reload, and adds a later recall's", async () => {
    const { socket, controller } = await inMain(BOB, { kept_breakouts: GROUPS });
    const model = controller.breakouts!;
    assert.equal(model.groups, null);
    assert.deepEqual(
      model.kept.map(g => g.room_id),
      ['g1', 'g2']
    );
    const g3 = { room_id: 'g3', title: 'Group 1', members: [BOB.id] };
    socket.fire('breakout:opened', { room_id: 'main', breakouts: [g3], ends_at: null });
    socket.fire('breakout:closed', { room_id: 'main', breakouts: [g3] });
    assert.deepEqual(
      model.kept.map(g => g.room_id),
      ['g1', 'g2', 'g3']
    );
    // a re-join's ack is the server's list
    socket.serverDisconnect();
    socket.ack = (event, payload) =>
      event === 'room:join' ? joined(payload.room_id, BOB, { kept_breakouts: [GROUPS[1], g3] }) : { ok: true };
    socket.serverConnect();
    await waitFor(() => model.kept.length === 2, 'the server list');
    assert.deepEqual(
      model.kept.map(g => g.room_id),
      ['g2', 'g3']
    );
  });

  it('stays in the main room when in no group, and says why a group refused it', async () => {
    const { session, socket, controller, extra } = await inMain(BOB);
    socket.fire('breakout:opened', { room_id: 'main', breakouts: [GROUPS[1]], ends_at: null });
    assert.equal(controller.breakouts!.mine, null);
    assert.equal(session.group.value, null);
    const errors: string[] = [];
    controller.breakoutAssigned.connect(e => e.error && errors.push(e.error)); // after 'you are in Group 1'
    extra['room:join'] = () => ({ ok: false, error: { code: 'forbidden', message: 'not your group' } });
    socket.fire('breakout:opened', { room_id: 'main', breakouts: GROUPS, ends_at: null });
    await waitFor(() => errors.length > 0, 'the failure');
    assert.deepEqual(errors, ['not your group']);
    assert.equal(session.group.value, null);
    assert.equal(session.room.value?.roomId, 'main');
  });

  it("raises its hand in the group's queue while in a group, and shows the group's hands", async () => {
    const mainHand = { member_id: CY.id, name: 'Cy', raised_at: '2026-12-02T09:00:00Z' };
    const { session, socket, controller, extra } = await inMain(BOB, { hands: [mainHand] });
    assert.deepEqual(controller.hands?.hands.map(h => h.member_id), [CY.id], "the main room's queue");
    const mainHands = controller.hands;
    socket.fire('breakout:opened', { room_id: 'main', breakouts: GROUPS, ends_at: null });
    await waitFor(() => session.group.value?.roomId === 'g1', 'in the group room');
    assert.notEqual(controller.hands, mainHands, "the group's own queue");
    assert.equal(controller.hands?.link.roomId, 'g1');
    assert.equal(controller.hands?.hands.length, 0, 'no hands in the group yet');
    const bobHand = { member_id: BOB.id, name: 'Bob', raised_at: '2026-12-02T09:01:00Z' };
    extra['hand:raise'] = payload => ({ ok: true, hands: payload.room_id === 'g1' ? [bobHand] : [] });
    await controller.raiseHand();
    assert.deepEqual(socket.emitted.at(-1), { event: 'hand:raise', payload: { room_id: 'g1' } });
    assert.equal(controller.hands?.raised, true);
    assert.equal(controller.hands?.position(BOB.id), 1);
    assert.equal(controller.mainHands?.raised, false, "the main room's queue is untouched");
    // the group's host takes it: this page hears hand:taken of the group room
    const taken: string[] = [];
    controller.handTaken.connect(e => taken.push(e.title));
    socket.fire('hand:queue', { room_id: 'g1', hands: [] });
    socket.fire('hand:taken', { room_id: 'g1', member_id: BOB.id, by: ADA.id });
    assert.deepEqual(taken, ['Group 1']);
    assert.equal(controller.hands?.raised, false);
    // back in the main room at the recall: its queue again
    socket.fire('room:closed', { room_id: 'g1', reason: 'recalled' });
    assert.equal(controller.groupHands, null);
    assert.equal(controller.hands, mainHands);
    assert.deepEqual(mainHands?.hands.map(h => h.member_id), [CY.id]);
  });

  it('leaves its group too when the page leaves the main room', async () => {
    const { session, socket } = await inMain(BOB);
    socket.fire('breakout:opened', { room_id: 'main', breakouts: GROUPS, ends_at: null });
    await waitFor(() => session.group.value !== null, 'in the group');
    await session.leave();
    assert.deepEqual(
      socket.emitted.filter(e => e.event === 'room:leave').map(e => e.payload.room_id),
      ['g1', 'main']
    );
    assert.equal(session.group.value, null);
    assert.equal(session.room.value, null);
  });
});

describe('breakouts: the host', () => {
  it('opens groups, messages them, visits one and comes back, and brings everyone back', async () => {
    const { session, socket, controller, link, extra } = await inMain(ADA);
    const model = controller.breakouts!;
    assert.equal(model.isHost, true);
    extra['breakout:open'] = () => ({ ok: true, breakouts: GROUPS, ends_at: null });
    await model.start({ count: 2, minutes: 10, copyBoard: true });
    assert.deepEqual(socket.emitted.at(-1), {
      event: 'breakout:open',
      payload: { room_id: 'main', count: 2, minutes: 10, copy_board: true }
    });
    assert.equal(model.groups?.length, 2);
    assert.equal(session.group.value, null, 'the host is in no group');
    socket.fire('breakout:opened', { room_id: 'main', breakouts: GROUPS, ends_at: null }); // the echo
    assert.equal(session.group.value, null);

    await model.broadcast('5 minutes');
    assert.deepEqual(socket.emitted.at(-1), { event: 'breakout:broadcast', payload: { room_id: 'main', text: '5 minutes' } });

    await model.visit('g2');
    assert.equal(groupOf(session), 'g2');
    assert.equal(model.current?.title, 'Group 2');
    assert.equal(model.line(), 'Visiting Group 2');
    await model.visit('g1'); // from one group to the other: the first is left
    assert.equal(groupOf(session), 'g1');
    await model.comeBack();
    assert.equal(session.group.value, null);
    assert.deepEqual(
      socket.emitted.filter(e => e.event === 'room:leave').map(e => e.payload.room_id),
      ['g2', 'g1']
    );
    assert.equal(controller.view, link);

    await model.visit('g1');
    extra['breakout:recall'] = () => ({ ok: true, breakouts: GROUPS });
    await model.recall();
    assert.equal(model.groups, null);
    assert.equal(model.kept.length, 2);
    await waitFor(() => session.group.value === null, 'out of the visited group');
    assert.equal(session.room.value, link);
  });

  it("sees and takes the group's hands while visiting it", async () => {
    const { session, socket, controller, extra } = await inMain(ADA);
    socket.fire('breakout:opened', { room_id: 'main', breakouts: GROUPS, ends_at: null });
    const bobHand = { member_id: BOB.id, name: 'Bob', raised_at: '2026-12-02T09:01:00Z' };
    extra['room:join'] = payload =>
      payload.room_id === 'g1' ? joined('g1', ADA, { hands: [bobHand] }) : joined(payload.room_id, ADA);
    await controller.breakouts!.visit('g1');
    assert.equal(groupOf(session), 'g1');
    assert.equal(controller.hostsView, true);
    assert.deepEqual(controller.hands?.hands.map(h => h.member_id), [BOB.id], "the group's queue from its join ack");
    extra['hand:take'] = () => ({ ok: true, hands: [], taken: bobHand });
    assert.deepEqual(await controller.takeHand(), bobHand);
    assert.deepEqual(socket.emitted.at(-1), { event: 'hand:take', payload: { room_id: 'g1' } });
    assert.equal(controller.hands?.hands.length, 0);
  });

  it('passes a refusal on as a RequestError', async () => {
    const { controller, extra } = await inMain(ADA);
    extra['breakout:open'] = () => ({ ok: false, error: { code: 'conflict', message: 'breakouts are already open' } });
    await assert.rejects(controller.breakouts!.start({ count: 2 }), (err: unknown) => err instanceof RequestError && err.code === 'conflict');
    assert.equal(controller.breakouts!.groups, null);
  });

  it('sees breakouts end when the main room is re-joined without them (recalled while away)', async () => {
    const { socket, controller, link } = await inMain(ADA);
    socket.fire('breakout:opened', { room_id: 'main', breakouts: GROUPS, ends_at: null });
    assert.equal(controller.breakouts!.groups?.length, 2);
    socket.serverDisconnect();
    socket.serverConnect(); // the main room is re-joined; its ack has no breakouts
    await waitFor(() => controller.breakouts!.groups === null, 'closed');
    assert.equal(controller.breakouts!.kept.length, 2);
    assert.equal(link.state.value, 'attached');
  });
});

describe('breakouts: the time and the dialog', () => {
  it('shows the time left as a clock', () => {
    assert.equal(clock(750_000), '12:30');
    assert.equal(clock(1), '0:01');
    assert.equal(clock(-5), '0:00');
    assert.equal(clock(3_723_000), '1:02:03');
  });

  it("checks the dialog's answer and builds breakout:open's options", () => {
    const form = { count: '2', choose: false, assignment: {}, minutes: '', copyBoard: false };
    assert.deepEqual(breakoutOptions(form, 4), { count: 2, copyBoard: false });
    assert.deepEqual(breakoutOptions({ ...form, minutes: '15', copyBoard: true }, 4), { count: 2, minutes: 15, copyBoard: true });
    assert.match(breakoutOptions({ ...form, count: '1' }, 4) as string, /from 2 to 20/);
    assert.match(breakoutOptions({ ...form, count: '3' }, 2) as string, /cannot make 3 groups/);
    assert.match(breakoutOptions({ ...form, minutes: '0' }, 4) as string, /minutes/);
    const chosen = { ...form, choose: true, assignment: { a: 1, b: 2, c: 2, d: 0 } };
    assert.deepEqual(breakoutOptions(chosen, 4), { groups: [['a'], ['b', 'c']], copyBoard: false });
    assert.match(breakoutOptions({ ...chosen, assignment: { a: 1, b: 1 } }, 2) as string, /at least one member/);
  });
});

/**
 * The generated protocol types: the values are the wire's, and a typed
 * socket.io-client Socket accepts the right payloads and refuses wrong ones
 * (checked by the compiler: a `@ts-expect-error` that is not an error fails the build).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import type { Socket } from 'socket.io-client';

import {
  Ack,
  BOARD_HEIGHT,
  BOARD_WIDTH,
  BoardOpsEvent,
  ClientEvents,
  ErrorCode,
  EventName,
  JoinedReply,
  MAX_POINTS,
  Op,
  OpAccepted,
  ServerEvents
} from '../src/protocol.generated';

type ClassroomSocket = Socket<ServerEvents, ClientEvents>;

/** Compiles only if the value has exactly type T where it is used. */
function expectType<T>(value: T): T {
  return value;
}

// Never called: the compiler checks these uses of the types.
export async function typedUses(socket: ClassroomSocket, op: Op): Promise<void> {
  const reply = await socket.emitWithAck('board:op', { room_id: 'r', op });
  expectType<Ack<OpAccepted>>(reply);
  if (reply.ok) {
    expectType<number>(reply.seq);
  } else {
    expectType<ErrorCode>(reply.error.code);
  }
  const joined = await socket.emitWithAck('room:join', { room_id: 'r', since: 3 });
  if (joined.ok) {
    expectType<JoinedReply['board']>(joined.board);
  }
  socket.emit('board:cursor', { room_id: 'r', x: 1, y: 2 });
  socket.on('board:ops', event => {
    expectType<BoardOpsEvent>(event);
  });
  socket.on('chat:message', message => {
    expectType<string | null>(message.to);
    expectType<string>(message.from.name);
  });
  // @ts-expect-error: room_id is required
  await socket.emitWithAck('chat:send', { text: 'hi' });
  await socket.emitWithAck('room:list', {});
  // @ts-expect-error: a payload is an object
  await socket.emitWithAck('room:list', 5);
  // @ts-expect-error: no such event
  await socket.emitWithAck('room:explode', {});
  // @ts-expect-error: an op's type is one of the eight
  expectType<Op>({ type: 'smudge', id: 'x' });
  // @ts-expect-error: a stroke's points are pairs
  expectType<Op>({ type: 'stroke', id: 's', points: [1, 2], color: '#000000', width: 1 });
}

describe('protocol.generated', () => {
  it('has the wire\'s names and limits', () => {
    assert.equal(EventName.BOARD_OPS, 'board:ops');
    assert.equal(EventName.ROOM_MEMBER_LEFT, 'room:member_left');
    assert.equal(ErrorCode.RATE_LIMITED, 'rate_limited');
    assert.equal(Object.keys(ErrorCode).length, 11);
    assert.deepEqual([BOARD_WIDTH, BOARD_HEIGHT, MAX_POINTS], [1600, 900, 5000]);
  });
});

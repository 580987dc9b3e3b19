/**
 * Who may send which op: the board rules of the room server (rooms.py
 * `Rooms.add_op`), checked in the browser before sending so a toolbar can say
 * "no" at once instead of after a round trip. The server stays the judge: it
 * checks again, and ops it accepted are applied whatever this says.
 *
 * Same order, codes and messages as the server. Not checked here: the server's
 * configured limits when lower than the protocol's, `max_board_ops`, and ids of
 * extends folded away before this board was loaded (those targets read as
 * unknown here, `not_found`, where the server says `bad_request`).
 */
import { ErrorCode, MAX_IMAGE_SRC, MAX_POINTS, Op } from '../protocol.generated';
import type { BoardModel } from './model';

/** The sender and the room, as the server sees them. */
export interface OpContext {
  /** The sender's member id. */
  memberId: string;
  isHost: boolean;
  /** The room's `board_locked`. */
  boardLocked: boolean;
  /** The server's limits, when it has lower ones than the protocol's. */
  maxPoints?: number;
  maxImageSrc?: number;
}

/** Why the server would refuse an op: an ack's error. */
export interface OpRefusal {
  code: ErrorCode;
  message: string;
}

function refuse(code: ErrorCode, message: string): OpRefusal {
  return { code, message };
}

/** `null` when the server would accept `op` from this sender on `board`; else why not. */
export function checkOp(board: BoardModel, op: Op, context: OpContext): OpRefusal | null {
  const { memberId, isHost } = context;
  if (context.boardLocked && !isHost) {
    return refuse(ErrorCode.FORBIDDEN, 'the host has locked the board');
  }
  const maxPoints = context.maxPoints ?? MAX_POINTS;
  if ((op.type === 'stroke' || op.type === 'extend') && op.points.length > maxPoints) {
    return refuse(ErrorCode.TOO_LARGE, `an op holds at most ${maxPoints} points`);
  }
  const maxImage = context.maxImageSrc ?? MAX_IMAGE_SRC;
  if (op.type === 'image' && op.src.length > maxImage) {
    return refuse(ErrorCode.TOO_LARGE, `images are at most ${maxImage} bytes`);
  }
  if (op.type === 'clear' && !isHost) {
    return refuse(ErrorCode.FORBIDDEN, 'only the host may clear the board');
  }
  if (op.type === 'extend' || op.type === 'erase' || op.type === 'undo') {
    const target = board.opMeta(op.target);
    if (target === undefined) {
      return refuse(ErrorCode.NOT_FOUND, `there is no op '${op.target}' on this board`);
    }
    if (op.type === 'extend' && (target.type !== 'stroke' || target.author !== memberId)) {
      return refuse(ErrorCode.FORBIDDEN, 'you can only extend your own strokes');
    }
    if (op.type === 'undo' && target.author !== memberId && !isHost) {
      return refuse(ErrorCode.FORBIDDEN, 'you can only undo your own ops');
    }
    if (target.type === 'extend') {
      return refuse(ErrorCode.BAD_REQUEST, 'target the stroke, not one of its extends');
    }
  }
  if (board.opMeta(op.id) !== undefined) {
    return refuse(ErrorCode.CONFLICT, `this board already has an op '${op.id}'`);
  }
  return null;
}

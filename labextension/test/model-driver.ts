/**
 * Drives BoardModel for tests/test_board_conformance.py. Reads one JSON line at
 * a time and answers with one line:
 * - `{ops: BoardOp[], order: number[]}` (ops the server accepted, and the order
 *   they arrive in): what the board shows when the ops are applied each way the
 *   model offers;
 * - `{host, steps: [{by, op}]}` (ops members try to send): the error code
 *   `checkOp` gives each (null: accepted, then applied) and what the board shows;
 * - `{probes: [{object, x, y}]}`: whether each click hits its object, and the
 *   arrow head of each shape.
 */
import * as readline from 'node:readline';

import { arrowHead, hits } from '../src/board/geometry';
import { BoardModel, VisibleObject, visibleObjects } from '../src/board/model';
import { checkOp } from '../src/board/rules';
import type { BoardOp, Op } from '../src/protocol.generated';

interface Applying {
  ops: BoardOp[];
  order: number[];
}

interface Sending {
  host: string;
  steps: { by: string; op: Op }[];
}

interface Probing {
  probes: { object: VisibleObject; x: number; y: number }[];
}

function probing({ probes }: Probing): Record<string, unknown> {
  return {
    hits: probes.map(({ object, x, y }) => hits(object, x, y)),
    heads: probes.map(({ object: o }) =>
      o.type === 'shape' ? arrowHead(o.x1, o.y1, o.x2, o.y2, o.width) : null
    )
  };
}

function applying({ ops, order }: Applying): Record<string, unknown> {
  const applied = new BoardModel();
  ops.forEach(op => applied.apply(op));
  const arrived = new BoardModel();
  order.forEach(i => arrived.apply(ops[i]));
  const reset = new BoardModel();
  reset.reset(ops);
  const half = Math.floor(ops.length / 2);
  const pending = new BoardModel();
  pending.applyAll(ops.slice(0, half));
  return {
    applied: applied.visible(),
    arrived: arrived.visible(),
    reset: reset.visible(),
    function: visibleObjects(ops),
    pending: pending.visible(ops.slice(half).map(op => op.op))
  };
}

function sending({ host, steps }: Sending): Record<string, unknown> {
  const board = new BoardModel();
  const codes = steps.map(({ by, op }) => {
    const refusal = checkOp(board, op, { memberId: by, isHost: by === host, boardLocked: false });
    if (refusal === null) {
      board.apply({ seq: board.seq + 1, author: by, ts: '', op });
    }
    return refusal?.code ?? null;
  });
  return { codes, visible: board.visible() };
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', line => {
  const request = JSON.parse(line) as Applying | Sending | Probing;
  const answer =
    'steps' in request
      ? sending(request)
      : 'probes' in request
        ? probing(request)
        : applying(request);
  process.stdout.write(JSON.stringify(answer) + '\n');
});

/**
 * The board conformance fixtures (tests/conformance/*.json, shared with
 * tests/test_board_conformance.py) through BoardModel and checkOp: the same
 * refusals as the room server and the same visible objects as board.py.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { BoardModel } from '../src/board/model';
import { checkOp } from '../src/board/rules';
import type { Op, StrokeOp } from '../src/protocol.generated';

// build-test/test/ -> the repository's tests/conformance
const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'tests', 'conformance');

interface Step {
  by: string;
  op?: Op;
  refused?: string;
  lock?: boolean;
  handover?: string;
}

interface Case {
  note: string;
  host: string;
  steps: Step[];
  visible: string[];
  points?: Record<string, [number, number][]>;
}

function expectedObjects(fixture: Case): Op[] {
  const sent = new Map<string, Op>();
  for (const step of fixture.steps) {
    if (step.op && step.refused === undefined) {
      sent.set(step.op.id, step.op);
    }
  }
  return fixture.visible.map(id => {
    const op = sent.get(id);
    assert.ok(op, `visible id ${id} was never sent`);
    const points = fixture.points?.[id];
    return points ? ({ ...(op as StrokeOp), points } as Op) : op;
  });
}

function play(fixture: Case): BoardModel {
  const model = new BoardModel();
  let host = fixture.host;
  let locked = false;
  let seq = 0;
  fixture.steps.forEach((step, index) => {
    const where = `step ${index} ${JSON.stringify(step)}`;
    if (step.lock !== undefined || step.handover !== undefined) {
      assert.equal(step.by, host, `${where}: only the host changes the room`);
      locked = step.lock ?? locked;
      host = step.handover ?? host;
      return;
    }
    const op = step.op!;
    const refusal = checkOp(model, op, {
      memberId: step.by,
      isHost: step.by === host,
      boardLocked: locked
    });
    assert.equal(refusal?.code, step.refused, `${where}: ${refusal?.message}`);
    if (refusal === null) {
      seq += 1;
      assert.equal(model.apply({ seq, author: step.by, ts: '', op }), 'applied');
    }
  });
  return model;
}

const files = fs.readdirSync(FIXTURES).filter(name => name.endsWith('.json'));

describe('board conformance fixtures', () => {
  it('finds the fixtures', () => {
    assert.ok(files.length >= 10, `only ${files.length} fixtures in ${FIXTURES}`);
  });

  for (const name of files) {
    const fixture = JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')) as Case;
    it(`${name}: ${fixture.note}`, () => {
      const model = play(fixture);
      const expected = expectedObjects(fixture);
      assert.deepEqual(model.visible(), expected);
      // the same board loaded whole (a late joiner) shows the same
      const late = new BoardModel();
      late.reset(model.ops, model.seq);
      assert.deepEqual(late.visible(), expected);
    });
  }
});

// The board's outbox: what a frame sends, in what order, and what a refusal drops.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import type { Op } from '../src/protocol.generated';
import { newOpId, OpOutcome, Outbox } from '../src/board/outbox';

type Call = { op: Op; resolve: (seq: number) => void; reject: (e: unknown) => void };

function harness(): { outbox: Outbox; calls: Call[]; accepted: string[]; refused: string[] } {
  const calls: Call[] = [];
  const accepted: string[] = [];
  const refused: string[] = [];
  const outbox = new Outbox(
    op => new Promise<number>((resolve, reject) => calls.push({ op, resolve, reject })),
    { accepted: op => accepted.push(op.id), refused: op => refused.push(op.id) }
  );
  return { outbox, calls, accepted, refused };
}

const stroke = (id: string): Op => ({
  type: 'stroke',
  id,
  points: [[1, 2]],
  color: '#000000',
  width: 4,
  tool: 'pen'
});

const tick = (): Promise<void> => new Promise(resolve => setImmediate(resolve));

describe('Outbox', () => {
  it('sends nothing until a frame flushes, then the ops in order and one extend per stroke', () => {
    const { outbox, calls } = harness();
    outbox.put(stroke('s1'));
    outbox.extend('s1', [[3, 4]]);
    outbox.extend('s1', [
      [5, 6],
      [7, 8]
    ]);
    assert.equal(calls.length, 0);
    assert.ok(outbox.dirty);
    const sent = outbox.flush();
    assert.deepEqual(
      calls.map(c => c.op.type),
      ['stroke', 'extend']
    );
    assert.deepEqual(sent, calls.map(c => c.op));
    const extend = calls[1].op as Extract<Op, { type: 'extend' }>;
    assert.equal(extend.target, 's1');
    assert.deepEqual(extend.points, [
      [3, 4],
      [5, 6],
      [7, 8]
    ]);
    assert.equal(outbox.flush().length, 0, 'an idle frame sends nothing');
    assert.equal(outbox.framesSent, 1);
  });

  it('sends a frame per flush while the pen moves: one extend each', () => {
    const { outbox, calls } = harness();
    outbox.put(stroke('s1'));
    outbox.flush();
    for (let frame = 0; frame < 5; frame++) {
      outbox.extend('s1', [[frame, frame]]);
      outbox.extend('s1', [[frame, frame + 1]]);
      outbox.flush();
    }
    assert.equal(calls.length, 6);
    assert.ok(calls.slice(1).every(c => c.op.type === 'extend' && c.op.points.length === 2));
    assert.equal(outbox.framesSent, 6);
  });

  it('keeps ops pending until acked, and reports acceptance', async () => {
    const { outbox, calls, accepted } = harness();
    outbox.put(stroke('s1'));
    outbox.flush();
    assert.ok(outbox.pending.has('s1'));
    calls[0].resolve(7);
    await tick();
    assert.equal(outbox.pending.size, 0);
    assert.deepEqual(accepted, ['s1']);
  });

  it('drops the points of a refused stroke and reports the refusal', async () => {
    const { outbox, calls, refused } = harness();
    outbox.put(stroke('s1'));
    outbox.flush();
    calls[0].reject(Object.assign(new Error('locked'), { code: 'forbidden' }));
    await tick();
    assert.deepEqual(refused, ['s1']);
    outbox.extend('s1', [[9, 9]]);
    assert.equal(outbox.flush().length, 0, 'nothing more for a refused stroke');
    assert.equal(calls.length, 1);
  });

  it('sends a frame of several ops as one batch, and settles each op by its own result', async () => {
    const batches: { ops: Op[]; resolve: (results: OpOutcome[]) => void }[] = [];
    const singles: Op[] = [];
    const accepted: string[] = [];
    const refused: string[] = [];
    const outbox = new Outbox(
      op => (singles.push(op), new Promise<number>(() => undefined)),
      { accepted: op => accepted.push(op.id), refused: op => refused.push(op.id) },
      ops => new Promise<OpOutcome[]>(resolve => batches.push({ ops, resolve }))
    );
    outbox.put(stroke('s1'));
    outbox.put(stroke('s2'));
    outbox.extend('s1', [[3, 4]]);
    outbox.flush();
    assert.equal(singles.length, 0, 'several ops: one batch, no single sends');
    assert.deepEqual(
      batches[0].ops.map(op => op.type),
      ['stroke', 'stroke', 'extend']
    );
    const extendId = batches[0].ops[2].id;
    assert.equal(outbox.pending.size, 3);
    const full = Object.assign(new Error('full'), { code: 'too_large' });
    batches[0].resolve([{ seq: 1 }, { error: full }, { seq: 2 }]);
    await tick();
    assert.deepEqual(accepted, ['s1', extendId]);
    assert.deepEqual(refused, ['s2']);
    assert.equal(outbox.pending.size, 0);
    outbox.extend('s2', [[5, 6]]);
    outbox.extend('s1', [[7, 8]]);
    outbox.flush();
    assert.equal(singles.length, 1, "a lone op goes as board:op; the refused stroke's points are dropped");
    assert.equal(singles[0].type === 'extend' && singles[0].target, 's1');
  });

  it('holds frames back while maxInFlight await their acks, gathering a stroke into one extend', async () => {
    const calls: Call[] = [];
    let ready = 0;
    const outbox = new Outbox(
      op => new Promise<number>((resolve, reject) => calls.push({ op, resolve, reject })),
      { ready: () => ready++ },
      undefined,
      2
    );
    outbox.put(stroke('s1'));
    outbox.flush();
    outbox.extend('s1', [[1, 1]]);
    outbox.flush();
    assert.equal(outbox.inFlight, 2);
    outbox.extend('s1', [[2, 2]]);
    assert.deepEqual(outbox.flush(), [], 'two frames await acks: this one waits');
    outbox.extend('s1', [[3, 3]]);
    assert.deepEqual(outbox.flush(), []);
    assert.ok(outbox.holds('s1') && outbox.dirty);
    assert.equal(calls.length, 2);
    assert.equal(ready, 0);
    calls[0].resolve(1);
    await tick();
    assert.equal(ready, 1, 'an ack made room: flush again');
    const [extend] = outbox.flush();
    assert.deepEqual(extend.type === 'extend' && extend.points, [
      [2, 2],
      [3, 3]
    ]);
    assert.ok(!outbox.holds('s1'));
    calls[1].resolve(2);
    calls[2].resolve(3);
    await tick();
    assert.equal(outbox.inFlight, 0);
    assert.equal(ready, 1, 'nothing was held since');
  });

  it('makes distinct protocol-valid op ids', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newOpId()));
    assert.equal(ids.size, 1000);
    for (const id of ids) {
      assert.match(id, /^[0-9a-f]{16}$/);
    }
  });
});

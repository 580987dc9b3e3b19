// Pen input to the outbox: pointer events (with coalesced samples) in board units, one pointer
// at a time, and what one animation frame then sends.
import './setup-dom';

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import type { Op } from '../src/protocol.generated';
import { PenInput, PenSample } from '../src/board/input';
import { Outbox } from '../src/board/outbox';

/** A board element 800x450 px at (100, 50): board units are twice its pixels. */
function board(): HTMLElement {
  const el = document.createElement('div');
  el.getBoundingClientRect = () =>
    ({ left: 100, top: 50, width: 800, height: 450, right: 900, bottom: 500, x: 100, y: 50 }) as DOMRect;
  document.body.append(el);
  return el;
}

type Fields = { x: number; y: number; id?: number; type?: string; primary?: boolean; coalesced?: [number, number][] };

function pointer(el: HTMLElement, kind: string, f: Fields): void {
  const event = new window.MouseEvent(kind, { clientX: f.x, clientY: f.y, button: 0, bubbles: true });
  const extra: Record<string, unknown> = {
    pointerId: f.id ?? 1,
    pointerType: f.type ?? 'pen',
    isPrimary: f.primary ?? true,
    pressure: 0.8
  };
  if (f.coalesced) {
    const samples = f.coalesced.map(([x, y]) => ({ ...extra, clientX: x, clientY: y, timeStamp: 1 }));
    extra.getCoalescedEvents = () => samples;
  }
  for (const [key, value] of Object.entries(extra)) {
    Object.defineProperty(event, key, { value });
  }
  el.dispatchEvent(event);
}

describe('PenInput', () => {
  it('gives board units, every coalesced sample, and ignores a second pointer', () => {
    const el = board();
    const seen: string[] = [];
    const points: number[][] = [];
    const input = new PenInput(el, 1600, 900, {
      down: s => (seen.push('down'), points.push([s.x, s.y, s.pressure])),
      move: samples => (seen.push(`move${samples.length}`), samples.forEach(s => points.push([s.x, s.y]))),
      up: () => seen.push('up'),
      hover: () => seen.push('hover')
    });
    pointer(el, 'pointermove', { x: 150, y: 60 });
    pointer(el, 'pointerdown', { x: 100, y: 50 });
    pointer(el, 'pointerdown', { x: 500, y: 300, id: 2, type: 'touch', primary: false });
    pointer(el, 'pointermove', { x: 500, y: 300, id: 2, type: 'touch' });
    pointer(el, 'pointermove', { x: 130, y: 70, coalesced: [[110, 55], [120, 60], [130, 70]] });
    assert.ok(input.drawing);
    pointer(el, 'pointerup', { x: 130, y: 70 });
    assert.ok(!input.drawing);
    assert.deepEqual(seen, ['hover', 'down', 'move3', 'up']);
    assert.deepEqual(points, [[0, 0, 0.8], [20, 10], [40, 20], [60, 40]]);
    input.dispose();
  });

  it('feeds the outbox: a stroke, then one extend per frame with the samples of that frame', () => {
    const el = board();
    const sent: Op[] = [];
    const outbox = new Outbox(op => (sent.push(op), new Promise<number>(() => undefined)));
    const toPoint = (s: PenSample): [number, number] => [s.x, s.y];
    const input = new PenInput(el, 1600, 900, {
      down: s =>
        outbox.put({ type: 'stroke', id: 's1', points: [toPoint(s)], color: '#000000', width: 2, tool: 'pen' }),
      move: samples => outbox.extend('s1', samples.map(toPoint)),
      up: () => undefined,
      hover: () => undefined
    });
    pointer(el, 'pointerdown', { x: 100, y: 50 });
    pointer(el, 'pointermove', { x: 120, y: 60, coalesced: [[110, 55], [120, 60]] });
    pointer(el, 'pointermove', { x: 140, y: 70 });
    assert.equal(sent.length, 0, 'nothing is sent between frames');
    outbox.flush(); // frame 1
    pointer(el, 'pointermove', { x: 150, y: 80 });
    pointer(el, 'pointerup', { x: 150, y: 80 });
    outbox.flush(); // frame 2
    assert.deepEqual(
      sent.map(op => [op.type, op.type === 'extend' ? op.points : op.type === 'stroke' ? op.points : []]),
      [
        ['stroke', [[0, 0]]],
        ['extend', [[20, 10], [40, 20], [80, 40]]],
        ['extend', [[100, 60]]]
      ]
    );
    input.dispose();
  });
});

/**
 * BoardModel beyond the shared fixtures: seq order and gaps, change signals,
 * pending ops, copies; the op rules' limits; geometry; painting.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import { arrowHead, hits, topmostHit } from '../src/board/geometry';
import { BoardChange, BoardModel, expandMerged, visibleObjects } from '../src/board/model';
import {
  Context2D,
  HIGHLIGHTER_ALPHA,
  paintBoard,
  paintCursor,
  paintObject,
  paintSegment
} from '../src/board/render';
import { checkOp } from '../src/board/rules';
import type {
  BoardOp,
  ExtendOp,
  ImageOp,
  ListedOp,
  Op,
  ShapeOp,
  StrokeOp,
  TextOp
} from '../src/protocol.generated';
import { MAX_POINTS } from '../src/protocol.generated';

function stroke(id: string, points: [number, number][], extra: Partial<StrokeOp> = {}): StrokeOp {
  return { type: 'stroke', id, points, color: '#ff0000', width: 4, tool: 'pen', ...extra };
}

function shape(id: string, kind: ShapeOp['shape'], fill: string | null = null): ShapeOp {
  return {
    type: 'shape',
    id,
    shape: kind,
    x1: 10,
    y1: 20,
    x2: 110,
    y2: 70,
    color: '#000000',
    width: 2,
    fill
  };
}

const text: TextOp = { type: 'text', id: 't', x: 5, y: 50, text: 'héllo', color: '#123456', size: 20 };
const image: ImageOp = {
  type: 'image',
  id: 'i',
  x: 1,
  y: 2,
  w: 30,
  h: 40,
  src: 'data:image/png;base64,iVBORw0KGgo='
};

function at(seq: number, op: Op, author = 'alice'): BoardOp {
  return { seq, author, ts: '2026-01-01T00:00:00.000Z', op };
}

function record(model: BoardModel): BoardChange[] {
  const changes: BoardChange[] = [];
  model.changed.connect(change => changes.push(change));
  return changes;
}

function extend(id: string, target: string, points: [number, number][]): ExtendOp {
  return { type: 'extend', id, target, points };
}

/** A `board:ops` list as the server merges it: s's extends 2, 3 and 5 in one op at 5. */
function mergedList(): ListedOp[] {
  return [
    at(1, stroke('s', [[0, 0]])),
    at(4, stroke('t', [[9, 9]]), 'bob'),
    {
      ...at(5, extend('e5', 's', [[1, 1], [2, 2], [3, 3], [4, 4]])),
      merged: [
        { seq: 2, id: 'e2', points: 2 },
        { seq: 3, id: 'e3', points: 1 }
      ]
    }
  ];
}

describe('merged extends', () => {
  it('expands a merged op back to one extend per seq, in seq order', () => {
    const expanded = expandMerged(mergedList());
    assert.deepEqual(
      expanded.map(o => [o.seq, o.op.id, (o.op as ExtendOp).points]),
      [
        [1, 's', [[0, 0]]],
        [2, 'e2', [[1, 1], [2, 2]]],
        [3, 'e3', [[3, 3]]],
        [4, 't', [[9, 9]]],
        [5, 'e5', [[4, 4]]]
      ]
    );
    assert.ok(expanded.every(o => !('merged' in o)));
    const plain = [at(1, stroke('a', [[0, 0]]))];
    assert.equal(expandMerged(plain), plain, 'a list without merged ops is left as it is');
  });

  it('applies a merged list with every point once, and knows every part by its id', () => {
    const model = new BoardModel();
    model.applyAll(mergedList());
    assert.equal(model.seq, 5);
    assert.equal(model.held, 0);
    assert.deepEqual((model.visible()[0] as StrokeOp).points, [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4]]);
    assert.equal(model.opMeta('e2')?.seq, 2);
    assert.equal(model.opMeta('e3')?.seq, 3);
    // the same list again (a resync's delta overlapping it): nothing twice
    model.applyAll(mergedList());
    assert.equal((model.visible()[0] as StrokeOp).points.length, 5);
  });

  it('takes a merged list that starts behind its seq: only the parts past it', () => {
    // the board came whole at seq 2 (s with e2's points folded in): e3 and e5 are new
    const model = new BoardModel([at(1, stroke('s', [[0, 0], [1, 1], [2, 2]]))], 2);
    model.applyAll(mergedList());
    assert.equal(model.seq, 5);
    assert.deepEqual((model.visible()[0] as StrokeOp).points, [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4]]);
  });
});

describe('BoardModel', () => {
  it('applies ops in seq order, holding early ones until the gap fills', () => {
    const model = new BoardModel();
    assert.equal(model.apply(at(2, stroke('b', [[2, 2]]))), 'buffered');
    assert.equal(model.apply(at(3, stroke('c', [[3, 3]]))), 'buffered');
    assert.equal(model.seq, 0);
    assert.equal(model.held, 2);
    assert.deepEqual(model.visible(), []);
    assert.equal(model.apply(at(1, stroke('a', [[1, 1]]))), 'applied');
    assert.equal(model.seq, 3);
    assert.equal(model.held, 0);
    assert.deepEqual(
      model.visible().map(o => o.id),
      ['a', 'b', 'c']
    );
    assert.equal(model.apply(at(2, stroke('b', [[2, 2]]))), 'duplicate');
    assert.equal(model.apply(at(3, stroke('x', [[2, 2]]))), 'duplicate');
    assert.equal(model.visible().length, 3);
  });

  it('loads a whole board whose seq is past its last op, and goes on from there', () => {
    const model = new BoardModel();
    model.apply(at(9, stroke('early', [[0, 0]]))); // held, then covered by the reset
    model.apply(at(12, stroke('next', [[0, 0]]))); // held, after the reset's seq
    const changes = record(model);
    // seq 8..10 were extends folded into s (the server's snapshot has no op at 10)
    model.reset([at(7, stroke('s', [[0, 0], [1, 1], [2, 2]]))], 10);
    assert.equal(model.seq, 10);
    assert.equal(model.held, 1);
    assert.deepEqual(changes, [{ kind: 'reset' }]);
    assert.equal(model.apply(at(11, shape('r', 'rect'))), 'applied');
    assert.equal(model.seq, 12);
    assert.deepEqual(
      model.visible().map(o => o.id),
      ['s', 'r', 'next']
    );
  });

  it('says what changed: added on top, a visible stroke extended, anything else reset', () => {
    const model = new BoardModel();
    const changes = record(model);
    model.apply(at(1, stroke('s', [[0, 0]])));
    model.apply(at(2, { type: 'extend', id: 'e1', target: 's', points: [[1, 1], [2, 2]] }));
    const live = model.visible()[0] as StrokeOp;
    assert.deepEqual(changes, [
      { kind: 'added', object: live },
      { kind: 'extended', stroke: live, from: 1, to: 3 }
    ]);
    assert.deepEqual(live.points, [
      [0, 0],
      [1, 1],
      [2, 2]
    ]);
    changes.length = 0;
    model.apply(at(3, { type: 'erase', id: 'x', target: 's' }));
    assert.deepEqual(changes, [{ kind: 'reset' }]);
    assert.deepEqual(model.visible(), []);
    changes.length = 0;
    // an erased stroke takes its extends without telling the views (nothing to paint)
    model.apply(at(4, { type: 'extend', id: 'e2', target: 's', points: [[3, 3]] }));
    model.apply(at(5, { type: 'extend', id: 'e3', target: 'nosuch', points: [[3, 3]] }));
    assert.deepEqual(changes, []);
    model.apply(at(6, { type: 'undo', id: 'u', target: 'x' }));
    assert.deepEqual(changes, [{ kind: 'reset' }]);
    assert.equal((model.visible()[0] as StrokeOp).points.length, 4);
  });

  it('a new object hidden by an earlier undo or erase naming its id does not show', () => {
    // (the server refuses such targets; board.py still resolves them, and so does the model)
    const model = new BoardModel();
    const changes = record(model);
    model.apply(at(1, { type: 'undo', id: 'u', target: 'later' }));
    model.apply(at(2, { type: 'erase', id: 'x', target: 'later2' }));
    changes.length = 0;
    model.apply(at(3, stroke('later', [[0, 0]])));
    model.apply(at(4, stroke('later2', [[0, 0]])));
    model.apply(at(5, stroke('shown', [[0, 0]])));
    assert.deepEqual(
      model.visible().map(o => o.id),
      ['shown']
    );
    assert.deepEqual(changes.map(c => c.kind), ['added']);
  });

  it('leaves the ops it is given alone, and shows pending ops as they will be', () => {
    const first = stroke('s', [[0, 0]]);
    const model = new BoardModel([at(1, first)]);
    model.apply(at(2, { type: 'extend', id: 'e', target: 's', points: [[1, 1]] }));
    assert.deepEqual(first.points, [[0, 0]]);
    const pending: Op[] = [
      { type: 'extend', id: 'e2', target: 's', points: [[2, 2]] },
      text,
      { type: 'erase', id: 'x', target: 's' }
    ];
    assert.deepEqual(model.visible(pending), [text]);
    assert.deepEqual(model.visible(pending.slice(0, 2)), [
      { ...first, points: [[0, 0], [1, 1], [2, 2]] },
      text
    ]);
    // the model's own stroke did not take the pending extend
    assert.equal((model.visible()[0] as StrokeOp).points.length, 2);
    assert.deepEqual(model.opMeta('e'), { author: 'alice', type: 'extend', seq: 2 });
    assert.equal(model.opMeta('e2'), undefined);
  });

  it('visibleObjects folds a stroke\'s extends that come before it not at all', () => {
    const ops = [
      at(1, { type: 'extend', id: 'e', target: 's', points: [[9, 9]] }),
      at(2, stroke('s', [[0, 0]]))
    ];
    assert.deepEqual(visibleObjects(ops), [stroke('s', [[0, 0]])]);
  });
});

describe('checkOp limits', () => {
  const context = { memberId: 'alice', isHost: false, boardLocked: false };
  it('refuses too many points and too large images, with the server\'s limits if lower', () => {
    const board = new BoardModel();
    const many = Array.from({ length: MAX_POINTS + 1 }, (_, i): [number, number] => [i, i]);
    assert.equal(checkOp(board, stroke('s', many), context)?.code, 'too_large');
    assert.equal(checkOp(board, stroke('s', many.slice(1)), context), null);
    const small = { ...context, maxPoints: 2 };
    const refusal = checkOp(board, stroke('s', many.slice(0, 3)), small);
    assert.deepEqual(refusal, { code: 'too_large', message: 'an op holds at most 2 points' });
    assert.equal(checkOp(board, image, { ...context, maxImageSrc: 10 })?.code, 'too_large');
    assert.equal(checkOp(board, image, context), null);
  });
});

describe('geometry', () => {
  it('puts an arrow head at the end, opening backwards by pi/7', () => {
    const [tip, left, right] = arrowHead(0, 0, 100, 0, 2); // length max(12, 8) = 12
    assert.deepEqual(tip, [100, 0]);
    const back = 100 - 12 * Math.cos(Math.PI / 7);
    const side = 12 * Math.sin(Math.PI / 7);
    assert.ok(Math.abs(left[0] - back) < 1e-9 && Math.abs(left[1] - side) < 1e-9);
    assert.ok(Math.abs(right[0] - back) < 1e-9 && Math.abs(right[1] + side) < 1e-9);
    const [, wide] = arrowHead(0, 0, 0, 100, 5); // length 20, pointing down
    assert.ok(Math.abs(wide[1] - (100 - 20 * Math.cos(Math.PI / 7))) < 1e-9);
  });

  it('hits objects as the kernel-drawn board does', () => {
    const line = stroke('s', [
      [0, 0],
      [100, 0]
    ]);
    assert.ok(hits(line, 50, 10)); // 10 <= 4/2 + 8
    assert.ok(!hits(line, 50, 10.5));
    assert.ok(hits(stroke('dot', [[5, 5]]), 5, 15));
    const frame = shape('r', 'rect');
    assert.ok(hits(frame, 10, 45) && !hits(frame, 60, 45));
    assert.ok(hits(shape('rf', 'rect', '#ffffff'), 60, 45));
    const ring = shape('e', 'ellipse'); // centre (60, 45), radii 50 and 25
    assert.ok(hits(ring, 110, 45) && !hits(ring, 60, 45));
    assert.ok(hits(shape('ef', 'ellipse', '#ffffff'), 60, 45));
    assert.ok(hits(shape('a', 'arrow'), 60, 45) && !hits(shape('a', 'arrow'), 10, 70));
    assert.ok(hits(text, 5 + 0.6 * 20 * 5, 40) && !hits(text, 5 + 0.6 * 20 * 5 + 1, 40));
    assert.ok(hits(image, 31, 42) && !hits(image, 0, 2));
    assert.equal(topmostHit([frame, shape('rf', 'rect', '#ffffff')], 10, 45)?.id, 'rf');
    assert.equal(topmostHit([frame], 500, 500), null);
  });
});

/** A 2D context that records what is drawn, with the state each drawing used. */
class Recorder implements Context2D {
  globalAlpha = 1;
  strokeStyle: string | CanvasGradient | CanvasPattern = '#000000';
  fillStyle: string | CanvasGradient | CanvasPattern = '#000000';
  lineWidth = 1;
  lineCap: CanvasLineCap = 'butt';
  lineJoin: CanvasLineJoin = 'miter';
  font = '10px sans-serif';
  textBaseline: CanvasTextBaseline = 'alphabetic';
  calls: unknown[][] = [];
  private _saved: Record<string, unknown>[] = [];

  private _state(): Record<string, unknown> {
    const { globalAlpha, strokeStyle, fillStyle, lineWidth, lineCap, lineJoin, font, textBaseline } =
      this;
    return { globalAlpha, strokeStyle, fillStyle, lineWidth, lineCap, lineJoin, font, textBaseline };
  }
  private _path(name: string, args: unknown[]): void {
    this.calls.push([name, ...args]);
  }
  private _draw(name: string, args: unknown[], keys: string[]): void {
    const state = this._state();
    this.calls.push([name, ...args, Object.fromEntries(keys.map(k => [k, state[k]]))]);
  }
  save(): void {
    this._saved.push(this._state());
  }
  restore(): void {
    Object.assign(this, this._saved.pop());
  }
  beginPath(): void {
    this._path('beginPath', []);
  }
  moveTo(...args: number[]): void {
    this._path('moveTo', args);
  }
  lineTo(...args: number[]): void {
    this._path('lineTo', args);
  }
  arc(...args: unknown[]): void {
    this._path('arc', args);
  }
  ellipse(...args: unknown[]): void {
    this._path('ellipse', args);
  }
  closePath(): void {
    this._path('closePath', []);
  }
  clearRect(...args: number[]): void {
    this._path('clearRect', args);
  }
  stroke(): void {
    this._draw('stroke', [], ['strokeStyle', 'lineWidth', 'globalAlpha', 'lineCap', 'lineJoin']);
  }
  fill(): void {
    this._draw('fill', [], ['fillStyle', 'globalAlpha']);
  }
  strokeRect(...args: number[]): void {
    this._draw('strokeRect', args, ['strokeStyle', 'lineWidth', 'globalAlpha']);
  }
  fillRect(...args: number[]): void {
    this._draw('fillRect', args, ['fillStyle', 'globalAlpha']);
  }
  fillText(...args: unknown[]): void {
    this._draw('fillText', args, ['fillStyle', 'font', 'textBaseline', 'globalAlpha']);
  }
  drawImage(...args: unknown[]): void {
    this._draw('drawImage', args, ['globalAlpha']);
  }
}

describe('painting', () => {
  const round = { lineCap: 'round', lineJoin: 'round' };

  it('paints a pen stroke as a polyline and a one-point stroke as a dot', () => {
    const ctx = new Recorder();
    paintObject(ctx, stroke('s', [[0, 0], [5, 5], [9, 0]]));
    paintObject(ctx, stroke('d', [[3, 4]], { width: 6 }));
    assert.deepEqual(ctx.calls, [
      ['beginPath'],
      ['moveTo', 0, 0],
      ['lineTo', 5, 5],
      ['lineTo', 9, 0],
      ['stroke', { strokeStyle: '#ff0000', lineWidth: 4, globalAlpha: 1, ...round }],
      ['beginPath'],
      ['arc', 3, 4, 3, 0, 2 * Math.PI],
      ['fill', { fillStyle: '#ff0000', globalAlpha: 1 }]
    ]);
    assert.equal(ctx.globalAlpha, 1, 'state is restored');
  });

  it('paints a highlighter three times as wide, translucent', () => {
    const ctx = new Recorder();
    paintObject(ctx, stroke('h', [[0, 0], [1, 1]], { tool: 'highlighter' }));
    const drawn = ctx.calls[ctx.calls.length - 1];
    assert.deepEqual(drawn, [
      'stroke',
      { strokeStyle: '#ff0000', lineWidth: 12, globalAlpha: HIGHLIGHTER_ALPHA, ...round }
    ]);
    assert.equal(HIGHLIGHTER_ALPHA, 0.35);
  });

  it('continues a stroke from where it left off', () => {
    const ctx = new Recorder();
    paintSegment(ctx, stroke('s', [[0, 0]]), [[1, 1], [2, 3]]);
    assert.deepEqual(ctx.calls.slice(0, 3), [['beginPath'], ['moveTo', 1, 1], ['lineTo', 2, 3]]);
  });

  it('paints lines, arrows with their heads, rects and ellipses with their fills', () => {
    const ctx = new Recorder();
    paintObject(ctx, shape('a', 'arrow'));
    const [tip, left, right] = arrowHead(10, 20, 110, 70, 2);
    const line = { strokeStyle: '#000000', lineWidth: 2, globalAlpha: 1, ...round };
    assert.deepEqual(ctx.calls, [
      ['beginPath'],
      ['moveTo', 10, 20],
      ['lineTo', 110, 70],
      ['stroke', line],
      ['beginPath'],
      ['moveTo', ...tip],
      ['lineTo', ...left],
      ['lineTo', ...right],
      ['closePath'],
      ['fill', { fillStyle: '#000000', globalAlpha: 1 }]
    ]);
    ctx.calls = [];
    paintObject(ctx, { ...shape('r', 'rect', '#eeeeee'), x1: 110, x2: 10 });
    assert.deepEqual(ctx.calls, [
      ['fillRect', 10, 20, 100, 50, { fillStyle: '#eeeeee', globalAlpha: 1 }],
      ['strokeRect', 10, 20, 100, 50, { strokeStyle: '#000000', lineWidth: 2, globalAlpha: 1 }]
    ]);
    ctx.calls = [];
    paintObject(ctx, shape('e', 'ellipse'));
    assert.deepEqual(ctx.calls, [
      ['beginPath'],
      ['ellipse', 60, 45, 50, 25, 0, 0, 2 * Math.PI],
      ['stroke', line]
    ]);
  });

  it('paints text in the size\'s pixels of sans-serif on the alphabetic baseline', () => {
    const ctx = new Recorder();
    ctx.textBaseline = 'top';
    paintObject(ctx, text);
    assert.deepEqual(ctx.calls, [
      [
        'fillText',
        'héllo',
        5,
        50,
        { fillStyle: '#123456', font: '20px sans-serif', textBaseline: 'alphabetic', globalAlpha: 1 }
      ]
    ]);
  });

  it('paints an image once it is decoded, stretched to its box', () => {
    const ctx = new Recorder();
    const decoded = { width: 3, height: 4 } as unknown as CanvasImageSource;
    paintObject(ctx, image, () => null);
    assert.deepEqual(ctx.calls, []);
    paintObject(ctx, image, op => (op.id === 'i' ? decoded : null));
    assert.deepEqual(ctx.calls, [['drawImage', decoded, 1, 2, 30, 40, { globalAlpha: 1 }]]);
  });

  it('paints a board over a cleared canvas, bottom to top, and cursors as ring, dot, name', () => {
    const ctx = new Recorder();
    paintBoard(ctx, [text, shape('r', 'rect')]);
    assert.deepEqual(ctx.calls[0], ['clearRect', 0, 0, 1600, 900]);
    assert.equal(ctx.calls[1][0], 'fillText');
    assert.equal(ctx.calls[2][0], 'strokeRect');
    ctx.calls = [];
    paintCursor(ctx, 10, 10, '#abcdef', 'bob');
    assert.deepEqual(
      ctx.calls.map(c => c[0]),
      ['beginPath', 'arc', 'stroke', 'beginPath', 'arc', 'fill', 'fillText']
    );
    assert.deepEqual(ctx.calls[6].slice(0, 4), ['fillText', 'bob', 19, 1]);
  });
});

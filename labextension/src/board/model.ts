/**
 * The board as the browser holds it: the twin of jupyter_classroom/board.py.
 *
 * A board is its op log. `extend` ops grow a live stroke; `erase` hides one
 * object; `clear` hides everything before it; `undo` reverts one op, and
 * undoing an `undo` redoes it. What is visible is exactly what board.py's
 * `visible_objects` computes for the same log, in the same order (bottom to
 * top); tests/conformance holds op sequences both are checked against.
 *
 * Framework-free (no Lumino, no DOM) so it runs under Node's test runner and
 * in any view.
 */
import { Emitter } from '../emitter';
import type {
  BoardOp,
  ExtendOp,
  ImageOp,
  ListedOp,
  Op,
  ShapeOp,
  StrokeOp,
  TextOp
} from '../protocol.generated';

/** An op that draws something: what the board shows. */
export type VisibleObject = StrokeOp | ShapeOp | TextOp | ImageOp;

/** The op types that draw (board.py's DRAWABLE). */
export const DRAWABLE: ReadonlySet<Op['type']> = new Set<Op['type']>([
  'stroke',
  'shape',
  'text',
  'image'
]);

export function isDrawable(op: Op): op is VisibleObject {
  return DRAWABLE.has(op.type);
}

/** What the room logic knows about an op on the board (rooms.py's OpMeta). */
export interface OpMeta {
  author: string;
  type: Op['type'];
  seq: number;
}

/**
 * How the visible board changed, so a view can paint only what is new:
 * - `added`: `object` is drawn on top of everything (paint it);
 * - `extended`: a visible stroke got points `stroke.points[from..to]`
 *   (continue its line from `stroke.points[from - 1]`; `to` is the length the
 *   points had then, as they keep growing in place);
 * - `reset`: objects were hidden or restored (repaint `visible()`).
 */
export type BoardChange =
  | { kind: 'added'; object: VisibleObject }
  | { kind: 'extended'; stroke: StrokeOp; from: number; to: number }
  | { kind: 'reset' };

/** What `apply` did with an op. */
export type ApplyResult = 'applied' | 'duplicate' | 'buffered';

function copyStroke(boardOp: BoardOp, op: StrokeOp): BoardOp {
  return { ...boardOp, op: { ...op, points: op.points.slice() } };
}

/**
 * The same board with every `extend` merged into its stroke (copies: the input
 * is left alone). An extend whose target is not an earlier stroke stays as it is.
 */
export function foldExtends(ops: readonly BoardOp[]): BoardOp[] {
  const strokes = new Map<string, StrokeOp>();
  const folded: BoardOp[] = [];
  for (const boardOp of ops) {
    const op = boardOp.op;
    if (op.type === 'stroke') {
      const copy = copyStroke(boardOp, op);
      strokes.set(op.id, copy.op as StrokeOp);
      folded.push(copy);
    } else if (op.type === 'extend' && strokes.has(op.target)) {
      strokes.get(op.target)!.points.push(...op.points);
    } else {
      folded.push(boardOp);
    }
  }
  return folded;
}

/**
 * A `board:ops` list with each merged extend (`merged`: the earlier extends of
 * its stroke the server put into it, with how many of its points are theirs)
 * back as one extend per seq, as the server stores them, in seq order
 * (docs/protocol.md, "Merged extends"). Lists without one come back as they are.
 */
export function expandMerged(ops: readonly ListedOp[]): BoardOp[] {
  if (!ops.some(boardOp => boardOp.merged && boardOp.merged.length > 0)) {
    return ops as BoardOp[];
  }
  const out: BoardOp[] = [];
  for (const { merged, ...boardOp } of ops) {
    const op = boardOp.op as ExtendOp;
    if (!merged || merged.length === 0 || op.type !== 'extend') {
      out.push(boardOp);
      continue;
    }
    let start = 0;
    for (const part of merged) {
      const end = start + part.points;
      const piece: ExtendOp = { ...op, id: part.id, points: op.points.slice(start, end) };
      out.push({ ...boardOp, seq: part.seq, op: piece });
      start = end;
    }
    out.push({ ...boardOp, op: { ...op, points: op.points.slice(start) } });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/** The result of resolving a folded log: what shows, and why the rest does not. */
interface Resolved {
  visible: VisibleObject[];
  reverted: Map<string, boolean>; // op id -> reverted by an odd chain of undos
  erased: Set<string>; // ids targeted by an erase in effect
}

/** board.py's `_active_ops` and `visible_objects` over an already folded log. */
function resolve(folded: readonly BoardOp[]): Resolved {
  // An undo's effect depends on whether it is itself reverted: resolve from the end.
  const undoTarget = new Map<string, string>();
  for (const { op } of folded) {
    if (op.type === 'undo') {
      undoTarget.set(op.id, op.target);
    }
  }
  const reverted = new Map<string, boolean>();
  const undoIds = Array.from(undoTarget.keys()).reverse();
  for (const undoId of undoIds) {
    if (!reverted.get(undoId)) {
      const target = undoTarget.get(undoId)!;
      reverted.set(target, !reverted.get(target));
    }
  }
  let lastClear = -1;
  const erased = new Set<string>();
  folded.forEach(({ op }, index) => {
    if (reverted.get(op.id)) {
      return;
    }
    if (op.type === 'clear') {
      lastClear = index;
    } else if (op.type === 'erase') {
      erased.add(op.target);
    }
  });
  const visible: VisibleObject[] = [];
  folded.forEach(({ op }, index) => {
    if (index > lastClear && isDrawable(op) && !reverted.get(op.id) && !erased.has(op.id)) {
      visible.push(op);
    }
  });
  return { visible, reverted, erased };
}

/** What a board shows for `ops` (in seq order), bottom to top: board.py's `visible_objects`. */
export function visibleObjects(ops: readonly BoardOp[]): VisibleObject[] {
  return resolve(foldExtends(ops)).visible;
}

/**
 * A room's board, kept from the BoardOps the server sends (`board:ops`,
 * `board:op`, the acks of one's own ops, and the `board` of a join or attach).
 *
 * Ops are applied in `seq` order: one that comes early (a gap) is held until
 * the ops before it arrive; `seq` stays at the last op applied in order, so a
 * client that waits too long can rejoin with `since: model.seq`. An op at or
 * below `seq` is a duplicate and ignored (a batched socket hears its own ops
 * after their acks).
 *
 * Objects returned by `visible()` are the model's own: do not change them.
 * A live stroke's `points` grow in place as its extends arrive.
 */
export class BoardModel {
  /** Fires after every change of what is visible. */
  readonly changed = new Emitter<BoardChange>();

  private _seq = 0;
  private _log: BoardOp[] = []; // folded: extends merged into copies of their strokes
  private _strokes = new Map<string, StrokeOp>(); // the copies in _log, by id
  private _meta = new Map<string, OpMeta>();
  private _held = new Map<number, BoardOp>(); // early ops, by seq
  private _visible: VisibleObject[] = [];
  private _visibleIds = new Set<string>();
  private _reverted = new Map<string, boolean>();
  private _erased = new Set<string>();

  constructor(ops: readonly BoardOp[] = [], seq?: number) {
    if (ops.length > 0 || seq !== undefined) {
      this._load(ops, seq);
    }
  }

  /** The seq of the last op applied in order (0 for an empty board). */
  get seq(): number {
    return this._seq;
  }

  /** How many early ops wait for a gap before them to fill. */
  get held(): number {
    return this._held.size;
  }

  /** The board's log with extends folded into their strokes, in seq order. */
  get ops(): readonly BoardOp[] {
    return this._log;
  }

  /** Author, type and seq of an op applied to this board (extends included). */
  opMeta(id: string): OpMeta | undefined {
    return this._meta.get(id);
  }

  /** Apply one op the server accepted. */
  apply(boardOp: BoardOp): ApplyResult {
    if (boardOp.seq <= this._seq || this._held.has(boardOp.seq)) {
      return 'duplicate';
    }
    if (boardOp.seq !== this._seq + 1) {
      this._held.set(boardOp.seq, boardOp);
      return 'buffered';
    }
    this._append(boardOp);
    this._drainHeld();
    return 'applied';
  }

  /**
   * Apply ops in order (a `complete: false` board, a `board:ops` list; the
   * list's merged extends are expanded back to one per seq first).
   */
  applyAll(ops: readonly ListedOp[]): void {
    for (const boardOp of expandMerged(ops)) {
      this.apply(boardOp);
    }
  }

  /**
   * Replace the whole board (a `complete: true` board). `seq` is the board's
   * latest seq, which can be past its last op's when extends were folded.
   */
  reset(ops: readonly BoardOp[], seq?: number): void {
    this._load(ops, seq);
    this.changed.emit({ kind: 'reset' });
  }

  /**
   * What the board shows now, bottom to top. With `pending` (one's own ops
   * sent but not yet accepted), what it will show once they are, as the
   * kernel's `Whiteboard.objects` does.
   */
  visible(pending: readonly Op[] = []): readonly VisibleObject[] {
    if (pending.length === 0) {
      return this._visible;
    }
    const extra = pending.map(op => ({ seq: 0, author: '', ts: '', op }));
    return visibleObjects([...this._log, ...extra]);
  }

  private _load(ops: readonly BoardOp[], seq?: number): void {
    this._log = [];
    this._strokes.clear();
    this._meta.clear();
    for (const boardOp of ops) {
      this._record(boardOp);
    }
    this._seq = seq ?? (ops.length ? ops[ops.length - 1].seq : 0);
    for (const early of Array.from(this._held.keys())) {
      if (early <= this._seq) {
        this._held.delete(early);
      }
    }
    this._resolve();
    this._drainHeld();
  }

  private _drainHeld(): void {
    let next = this._held.get(this._seq + 1);
    while (next !== undefined) {
      this._held.delete(next.seq);
      this._append(next);
      next = this._held.get(this._seq + 1);
    }
  }

  /** Add one op to the log; an extend of a known stroke folds into it. */
  private _record(boardOp: BoardOp): void {
    const op = boardOp.op;
    this._meta.set(op.id, { author: boardOp.author, type: op.type, seq: boardOp.seq });
    if (op.type === 'stroke') {
      const copy = copyStroke(boardOp, op);
      this._strokes.set(op.id, copy.op as StrokeOp);
      this._log.push(copy);
    } else if (op.type === 'extend' && this._strokes.has(op.target)) {
      this._strokes.get(op.target)!.points.push(...op.points);
    } else {
      this._log.push(boardOp);
    }
  }

  /** Apply the next op in seq order and tell the views. */
  private _append(boardOp: BoardOp): void {
    this._seq = boardOp.seq;
    const op = boardOp.op;
    if (op.type === 'extend') {
      const stroke = this._strokes.get(op.target);
      const from = stroke ? stroke.points.length : 0;
      this._record(boardOp);
      if (stroke && this._visibleIds.has(stroke.id)) {
        this.changed.emit({ kind: 'extended', stroke, from, to: stroke.points.length });
      }
      return;
    }
    this._record(boardOp);
    const entry = this._log[this._log.length - 1].op;
    if (isDrawable(entry)) {
      // A new object goes on top. Undos, erases and clears resolve the same
      // whatever follows them, so it shows unless one of them names its id.
      if (!this._reverted.get(entry.id) && !this._erased.has(entry.id)) {
        this._visible.push(entry);
        this._visibleIds.add(entry.id);
        this.changed.emit({ kind: 'added', object: entry });
      }
      return;
    }
    this._resolve();
    this.changed.emit({ kind: 'reset' });
  }

  private _resolve(): void {
    const { visible, reverted, erased } = resolve(this._log);
    this._visible = visible;
    this._visibleIds = new Set(visible.map(op => op.id));
    this._reverted = reverted;
    this._erased = erased;
  }
}

/**
 * The board's outbox: what the person draws, sent once per animation frame.
 *
 * Ops are queued as they are made (a stroke's first point, a shape, a text, an undo...) and
 * the points a live stroke gains are gathered; `flush()` (called from the frame callback
 * that also paints them) sends the queued ops in order, then ONE `extend` per live stroke
 * with the points gathered since the last frame. The server applies one socket's events in
 * the order they were sent, so a stroke always precedes its extends.
 *
 * Every op sent is pending until its ack: the board shows accepted ops plus pending ones.
 * A refused op (say, the host locked the board) is dropped from pending and reported, and
 * the board redraws from the accepted ops.
 *
 * Backpressure: with `maxInFlight`, a flush sends nothing while that many frames await their
 * acks (a server behind, or pacing this socket, acks later): the ops wait and a live stroke's
 * points keep gathering, so the next frame carries them as one extend, and `ready` says when
 * to flush again. What the person draws is never dropped, and never queued for seconds in
 * the socket.
 */
import type { Op } from '../protocol.generated';

export type Point = [number, number];

/** Sends one op; resolves with its seq, rejects with an error carrying `code`/`message`. */
export type SendOp = (op: Op) => Promise<number>;

/** What the server said of one op of a batch: its seq, or why it refused it. */
export type OpOutcome = { seq: number } | { error: unknown };

/** Sends several ops in one frame (`board:ops`); resolves with one result per op, in order. */
export type SendOps = (ops: Op[]) => Promise<OpOutcome[]>;

export interface OutboxEvents {
  /** The server accepted `op` as `seq`. */
  accepted?: (op: Op, seq: number) => void;
  /** The server refused `op` (ops that extend a refused stroke are dropped too). */
  refused?: (op: Op, error: unknown) => void;
  /** A frame's acks came while flushes were held back (`maxInFlight`): flush again. */
  ready?: () => void;
}

let counter = 0;

/** A 16-hex-digit op id, unique enough per room (as the Python widget makes them). */
export function newOpId(): string {
  const random = Math.floor(Math.random() * 0xffffffff)
    .toString(16)
    .padStart(8, '0');
  counter = (counter + 1) & 0xffffffff;
  const time = ((Date.now() & 0xfffff) * 0x1000 + (counter & 0xfff)).toString(16).padStart(8, '0').slice(-8);
  return time + random;
}

export class Outbox {
  /** Ops sent and not yet acked, by id, in the order sent. */
  readonly pending = new Map<string, Op>();
  private _queue: Op[] = [];
  private _points = new Map<string, Point[]>(); // live stroke id -> points not yet sent
  private _refusedStrokes = new Set<string>();
  /** How many frames sent something (for tests and measurements). */
  framesSent = 0;
  private _inFlight = 0; // frames sent whose ops are not all settled
  private _held = false; // a flush found maxInFlight frames in flight

  /**
   * `sendMany`, when given, carries a frame of several ops in one message with one ack;
   * `maxInFlight` frames at most await their acks (see the class's comment).
   */
  constructor(
    private _send: SendOp,
    private _events: OutboxEvents = {},
    private _sendMany?: SendOps,
    readonly maxInFlight = Infinity
  ) {}

  /** Frames sent whose acks have not all come. */
  get inFlight(): number {
    return this._inFlight;
  }

  /** Whether points of `strokeId` wait for a flush (the stroke is not all sent). */
  holds(strokeId: string): boolean {
    return this._points.has(strokeId);
  }

  /** Queue an op for the next flush. */
  put(op: Op): void {
    this._queue.push(op);
  }

  /** Gather points for a live stroke (sent as one `extend` at the next flush). */
  extend(strokeId: string, points: Point[]): void {
    if (points.length === 0 || this._refusedStrokes.has(strokeId)) {
      return;
    }
    const gathered = this._points.get(strokeId);
    if (gathered) {
      gathered.push(...points);
    } else {
      this._points.set(strokeId, [...points]);
    }
  }

  /** Whether a flush would send anything. */
  get dirty(): boolean {
    return this._queue.length > 0 || this._points.size > 0;
  }

  /** Send what was queued and gathered since the last flush; returns the ops sent. */
  flush(): Op[] {
    if (!this.dirty) {
      return [];
    }
    if (this._inFlight >= this.maxInFlight) {
      this._held = true;
      return [];
    }
    const ops = this._queue;
    this._queue = [];
    for (const [target, points] of this._points) {
      ops.push({ type: 'extend', id: newOpId(), target, points });
    }
    this._points.clear();
    const sending = ops.filter(op => !(op.type === 'extend' && this._refusedStrokes.has(op.target)));
    for (const op of sending) {
      this.pending.set(op.id, op);
    }
    if (sending.length === 0) {
      return ops;
    }
    this._inFlight++;
    let unsettled = sending.length;
    const settle = (op: Op, result: OpOutcome | undefined): void => {
      this._settle(op, result);
      if (--unsettled === 0) {
        this._frameDone();
      }
    };
    if (sending.length > 1 && this._sendMany) {
      this._sendMany(sending).then(
        results => sending.forEach((op, i) => settle(op, results[i])),
        error => sending.forEach(op => settle(op, { error }))
      );
    } else {
      for (const op of sending) {
        this._send(op).then(
          seq => settle(op, { seq }),
          error => settle(op, { error })
        );
      }
    }
    this.framesSent++;
    return ops;
  }

  private _frameDone(): void {
    this._inFlight--;
    if (this._held && this._inFlight < this.maxInFlight) {
      this._held = false;
      this._events.ready?.();
    }
  }

  private _settle(op: Op, result: OpOutcome | undefined): void {
    this.pending.delete(op.id);
    if (result && 'seq' in result) {
      this._events.accepted?.(op, result.seq);
      return;
    }
    if (op.type === 'stroke') {
      this._refusedStrokes.add(op.id);
    }
    this._events.refused?.(op, result ? result.error : new Error('no answer for this op'));
  }
}

/**
 * The interactive board in the page, with no ipywidgets or ipycanvas in it: the notebook's
 * board (`BoardCanvasView`, board/view.ts) and the main-area board (`BoardWidget`,
 * board/board-widget.ts) are each a thin host around one `BoardSurface`.
 *
 * Everything a person does happens here, without the kernel:
 * - pen input (mouse, pen, touch; coalesced samples) is painted on the next animation frame
 *   onto the ink layer, and the same frame sends the ops made since the last one (a stroke,
 *   then one `extend` per frame) on the page's socket (`page/session.ts`);
 * - remote ops (`board:ops`) and cursors (`board:cursor`) are painted straight from that
 *   socket, through the board model (`board/model.ts`, the twin of `board.py`);
 * - the toolbar (tools, colour, width, undo/redo, the host's clear and lock);
 * - a refused op (the board is locked...) redraws the board from the accepted ops and says why.
 *
 * The surface draws on a room membership it is given (`connect(link)`): a notebook's link
 * (attached with the kernel's ticket) or one the page joined itself from the side panel.
 *
 * Layers, stacked, all 1600x900 and scaled by CSS: the ink (`canvas.jc-board-ink`, first in the
 * DOM, it takes the pointer), an optional underlay for another painter (the notebook's
 * `canvas.jc-board-python`, ipycanvas's drawing from Python, below the ink), the overlay
 * (`canvas.jc-board-overlay`: shape preview and cursor marks).
 * DOM hooks on the host element: `.jc-board[data-mode=browser][data-state=attaching|attached|
 * detached|ended|idle]`, `.jc-board-status` (`data-code`), `.jc-board-delay` (shown while the
 * server sends this member's ink late: `board:delayed`), `.jc-board-text-input`.
 */
import { BOARD_HEIGHT, BOARD_WIDTH } from '../protocol.generated';
import type {
  BoardDelayed,
  BoardOp,
  BoardOpsEvent,
  BoardState,
  CursorEvent,
  Op,
  OpResult,
  ShapeOp,
  StrokeOp
} from '../protocol.generated';
import { AttachAck, RequestError, RoomLink } from '../page/session';
import { topmostHit } from './geometry';
import { PenInput, PenSample } from './input';
import { BoardChange, BoardModel, VisibleObject } from './model';
import { newOpId, OpOutcome, Outbox } from './outbox';
import { ImageCache, paintBoard, paintCursor, paintObject, paintSegment } from './render';
import { SHAPES, Toolbar } from './toolbar';

const CURSOR_INTERVAL_MS = 33; // at most ~30 cursor positions a second
const CURSOR_IDLE_MS = 3000; // a still cursor mark is taken off after this long
// frames of ops awaiting their acks at most: past that, frames gather (a stroke's points go
// as one extend once acks come), so a server that is behind or paces us is not flooded
const MAX_FRAMES_IN_FLIGHT = 4;

/** What the surface uses of a room membership (a RoomLink, or a JoinedLink of the panel). */
export type BoardLink = Pick<
  RoomLink,
  'roomId' | 'state' | 'attached' | 'members' | 'message' | 'onAttached' | 'on' | 'request' | 'emit' | 'attach'
> & { sinceProvider: (() => number | undefined) | null };

export interface BoardSurfaceOptions {
  /** The class of a canvas layer under the ink, for another painter (ipycanvas's Python
   * drawing in the notebook); none when absent. */
  underlay?: string;
  /** Every (re)attach of the link, once the board holds the room's state. */
  attached?: (ack: AttachAck) => void;
  /** Given a link attached earlier (its ack's board may be old by now: the room's ops that
   * came meanwhile reached no board), ask the server for the ops since (`board:sync`). */
  catchUp?: boolean;
}

/** A local op not yet seen in the room's accepted ops (drawn meanwhile). */
interface LocalOp {
  op: Op;
  /** ids sent for it (a stroke and its extends) whose acceptance we have not seen */
  waiting: Set<string>;
  live: boolean;
}

export class BoardSurface {
  readonly root: HTMLElement;
  /** The stage holding the layers (16:9, scaled by CSS): its host may size it. */
  readonly stage: HTMLDivElement;
  /** The layer under the ink (`options.underlay`), or null. */
  readonly underlay: HTMLCanvasElement | null;
  private _ink: HTMLCanvasElement;
  private _inkCtx: CanvasRenderingContext2D;
  private _overlay: HTMLCanvasElement;
  private _overlayCtx: CanvasRenderingContext2D;
  private _status: HTMLDivElement;
  private _delay: HTMLDivElement;
  private _textInput: HTMLInputElement;
  private _toolbar: Toolbar;
  private _input: PenInput;
  private _link: BoardLink | null = null;
  private _previousSince: (() => number | undefined) | null = null;
  private _sinceProvider = (): number | undefined => this._board.seq;
  private _board = new BoardModel();
  private _images = new ImageCache(() => this._redrawSoon());
  private _changes: ({ kind: 'added'; object: VisibleObject } | { kind: 'extended'; stroke: StrokeOp; from: number; to: number })[] = [];
  private _outbox: Outbox;
  private _local = new Map<string, LocalOp>();
  private _live: { op: StrokeOp; painted: number } | null = null;
  private _shape: { x1: number; y1: number; x2: number; y2: number } | null = null;
  private _cursors = new Map<string, { x: number; y: number; at: number }>();
  private _cursorSent = 0;
  private _cursorPending: [number, number] | null = null;
  private _undo: string[] = [];
  private _redo: string[] = [];
  private _frame = 0;
  private _needRedraw = false;
  private _needOverlay = false;
  private _off: (() => void)[] = [];
  private _message = '';
  private _disposed = false;

  /** Builds the board in `root` (its toolbar, layers, status lines); `connect` gives it a room. */
  constructor(
    root: HTMLElement,
    private _options: BoardSurfaceOptions = {}
  ) {
    this.root = root;
    root.classList.add('jc-board');
    root.dataset.mode = 'browser';
    this._toolbar = new Toolbar({
      undo: () => this.undo(),
      redo: () => this.redo(),
      clear: () => this.clearBoard(),
      lock: locked => void this._setLock(locked),
      toolChanged: () => this._cancelText()
    });
    this.stage = document.createElement('div');
    this.stage.className = 'jc-board-stage';
    this._ink = this._layer('jc-board-ink');
    this.underlay = _options.underlay ? this._layer(_options.underlay) : null;
    this._overlay = this._layer('jc-board-overlay');
    this._inkCtx = this._ink.getContext('2d')!;
    this._overlayCtx = this._overlay.getContext('2d')!;
    this._textInput = document.createElement('input');
    this._textInput.type = 'text';
    this._textInput.className = 'jc-board-text-input';
    this._textInput.placeholder = 'Type, then Enter';
    this._textInput.hidden = true;
    this.stage.append(...[this._ink, this.underlay, this._overlay, this._textInput].filter(e => e !== null));
    this._status = document.createElement('div');
    this._status.className = 'jc-board-status';
    this._status.setAttribute('role', 'status');
    this._delay = document.createElement('div');
    this._delay.className = 'jc-board-delay';
    this._delay.setAttribute('role', 'status');
    this._delay.hidden = true;
    root.append(this._toolbar.el, this.stage, this._status, this._delay);

    this._outbox = new Outbox(
      op => this._sendOp(op),
      {
        accepted: (op, seq) => this._accepted(op, seq),
        refused: (op, error) => this._refused(op, error),
        ready: () => this._schedule()
      },
      ops => this._sendOps(ops),
      MAX_FRAMES_IN_FLIGHT
    );
    this._input = new PenInput(this._ink, BOARD_WIDTH, BOARD_HEIGHT, {
      down: s => this._penDown(s),
      move: samples => this._penMove(samples),
      up: s => this._penUp(s),
      hover: s => this._sendCursor(s.x, s.y)
    });
    this._textInput.addEventListener('keydown', e => this._textKey(e));
    this._setStatus('attaching', 'Connecting the board…');
  }

  /** Draws on `link`'s room from now on (its board comes with the link's attach ack). */
  connect(link: BoardLink): void {
    this._link = link;
    this._previousSince = link.sinceProvider;
    link.sinceProvider = this._sinceProvider;
    this._off.push(this._board.changed.connect(change => this._boardChanged(change)));
    this._off.push(
      link.state.changed.connect(() => this._showLinkState()),
      link.onAttached.connect(ack => this._attached(ack)),
      link.on<BoardOpsEvent>('board:ops', e => this._receive(e.ops)),
      link.on<BoardOp & { room_id: string }>('board:op', e => this._receive([e])),
      link.on<CursorEvent>('board:cursor', e => this._remoteCursor(e)),
      link.on<BoardDelayed>('board:delayed', e => this._showDelay(e.delay_ms)),
      link.on('room:member_left', (e: { member_id: string }) => {
        this._cursors.delete(e.member_id);
        this._needOverlay = true;
        this._schedule();
      }),
      link.on('room:updated', () => this._showLinkState())
    );
    if (link.attached) {
      this._attached(link.attached); // another view of this room attached it already
      if (this._options.catchUp) {
        void this._catchUp();
      }
    }
    this._showLinkState();
  }

  /** The ops the room took since the link's attach ack (`board:sync` from our seq). */
  private async _catchUp(): Promise<void> {
    const link = this._link;
    if (!link || link.state.value !== 'attached') {
      return; // the next attach brings the board
    }
    let board: BoardState | undefined;
    try {
      const ack = await link.request('board:sync', { room_id: link.roomId, since: this._board.seq });
      board = ack.board as BoardState | undefined;
    } catch (err) {
      this._flash(`The board may be missing recent ink: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (!board || this._disposed || this._link !== link) {
      return;
    }
    // ops that came live before this ack are in it too (duplicates are ignored)
    if (board.complete) {
      this._board.reset(board.ops, board.seq);
    } else {
      this._board.applyAll(board.ops);
    }
    this._dropSeenLocal();
  }

  /** No room to draw on (the status line says `text`). */
  idle(text: string): void {
    this._setStatus('idle', text);
  }

  /** The layers' resolution (board units stay 1600x900 on the wire; views scale by CSS). */
  resize(width: number, height: number): void {
    for (const canvas of [this._ink, this.underlay, this._overlay]) {
      if (canvas) {
        canvas.width = width;
        canvas.height = height;
      }
    }
    this._needRedraw = true;
    this._schedule();
  }

  /** The surface is gone: its pen, frames and listeners (the link stays with the page). */
  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    cancelAnimationFrame(this._frame);
    clearTimeout(this._cursorTimer);
    clearTimeout(this._cursorExpiry);
    clearTimeout(this._resyncTimer);
    this._input.dispose();
    this._off.forEach(off => off());
    this._off = [];
    const link = this._link;
    if (link && link.sinceProvider === this._sinceProvider) {
      link.sinceProvider = this._previousSince; // a re-attach asks from what the link knows
    }
  }

  get disposed(): boolean {
    return this._disposed;
  }

  // --- what tests and hosts may read -----------------------------------------------

  /** The objects this page shows, bottom to top (accepted plus local). */
  visibleObjects(): VisibleObject[] {
    const local = new Map<string, Op>();
    const pending: Op[] = [];
    for (const { op } of this._local.values()) {
      if (this._board.opMeta(op.id)) {
        local.set(op.id, op); // accepted, but the local copy may have more points
      } else {
        pending.push(op);
      }
    }
    return this._board.visible(pending).map(o => (local.get(o.id) as VisibleObject | undefined) ?? o);
  }

  /** The seq of the last op applied in order. */
  get seq(): number {
    return this._board.seq;
  }

  get link(): BoardLink | null {
    return this._link;
  }


  private _attached(ack: AttachAck): void {
    if (ack.board) {
      if (ack.board.complete) {
        this._board.reset(ack.board.ops, ack.board.seq);
      } else {
        this._board.applyAll(ack.board.ops);
      }
      this._dropSeenLocal();
    }
    this._showLinkState();
    this._options.attached?.(ack);
  }

  private _receive(ops: BoardOp[]): void {
    this._board.applyAll(ops);
    this._dropSeenLocal();
    if (this._board.held > 0) {
      this._resyncSoon();
    }
  }

  /** What the accepted ops changed: paint it at the next frame (not what this page drew). */
  private _boardChanged(change: BoardChange): void {
    if (change.kind === 'reset') {
      this._redrawSoon();
      return;
    }
    if (change.kind === 'added') {
      if (!this._local.has(change.object.id)) {
        this._changes.push(change);
      }
    } else if (!this._local.has(change.stroke.id)) {
      this._changes.push({ ...change, to: change.stroke.points.length });
    }
    this._schedule();
  }

  private _redrawSoon(): void {
    this._needRedraw = true;
    this._schedule();
  }

  /** Local ops whose acceptance arrived leave the local list (the model has them now). */
  private _dropSeenLocal(): void {
    for (const [id, local] of this._local) {
      for (const waiting of Array.from(local.waiting)) {
        if (this._board.opMeta(waiting)) {
          local.waiting.delete(waiting);
        }
      }
      if (local.waiting.size === 0 && !local.live) {
        this._local.delete(id);
      }
    }
  }

  private _resyncTimer: ReturnType<typeof setTimeout> | undefined;
  private _resyncSoon(): void {
    // a seq gap that does not fill within 2 s: attach again with `since` (the link's spare)
    if (this._resyncTimer === undefined) {
      this._resyncTimer = setTimeout(() => {
        this._resyncTimer = undefined;
        if (this._board.held > 0) {
          void this._link?.attach();
        }
      }, 2000);
    }
  }

  private _showLinkState(): void {
    const link = this._link;
    if (!link) {
      return;
    }
    const state = link.state.value;
    this.root.dataset.state = state;
    const room = link.attached?.room;
    const you = link.attached?.you;
    const isHost = !!room && !!you && room.host.id === you.id;
    const locked = !!room?.board_locked;
    this._toolbar.setHost(isHost, locked);
    if (state === 'attached') {
      if (this._message) {
        this._setStatus('refused', this._message);
      } else if (locked && !isHost) {
        this._setStatus('locked', 'The host has locked the board.');
      } else {
        this._setStatus('ready', 'Drawn in the browser: your ink never waits for the kernel.');
      }
    } else if (state === 'attaching') {
      this._setStatus('attaching', 'Connecting the board…');
    } else {
      this._setStatus(state, link.message || 'Not connected.');
    }
  }

  /** `board:delayed`: the server is behind with this room's ink (0: caught up). */
  private _showDelay(delayMs: number): void {
    const late = typeof delayMs === 'number' && delayMs > 0;
    this._delay.hidden = !late;
    this._delay.textContent = late
      ? `Your ink is delayed by the server (${(delayMs / 1000).toFixed(1)} s)`
      : '';
  }

  private _setStatus(code: string, text: string): void {
    this._status.dataset.code = code;
    this._status.textContent = text;
  }

  private get _lockedForMe(): boolean {
    const room = this._link?.attached?.room;
    const you = this._link?.attached?.you;
    return !!room && !!you && room.board_locked && room.host.id !== you.id;
  }

  // --- sending -------------------------------------------------------------------

  private _attachedLink(): BoardLink {
    const link = this._link;
    if (!link || link.state.value !== 'attached') {
      throw new RequestError('disconnected', 'The board is not connected; try again in a moment.');
    }
    return link;
  }

  private async _sendOp(op: Op): Promise<number> {
    const link = this._attachedLink();
    const ack = await link.request('board:op', { room_id: link.roomId, op });
    return ack.seq as number;
  }

  /** A frame's several ops in one `board:ops` message (one frame, one ack). */
  private async _sendOps(ops: Op[]): Promise<OpOutcome[]> {
    const link = this._attachedLink();
    const ack = await link.request('board:ops', { room_id: link.roomId, ops });
    return (ack.results as OpResult[]).map(({ seq, error }) =>
      error ? { error: new RequestError(error.code, error.message) } : { seq: seq ?? 0 }
    );
  }

  private _accepted(_op: Op, _seq: number): void {
    // The op's place on the board comes with the room's `board:ops` list (ours included).
  }

  private _refused(op: Op, error: unknown): void {
    for (const [id, local] of this._local) {
      if (id === op.id || local.waiting.has(op.id)) {
        this._local.delete(id);
      }
    }
    this._undo = this._undo.filter(id => id !== op.id);
    if (this._live?.op.id === op.id) {
      this._live = null;
    }
    const code = error instanceof RequestError ? error.code : '';
    this._message =
      code === 'forbidden' && this._lockedForMe
        ? 'The host has locked the board: your drawing was not kept.'
        : `Not kept: ${error instanceof Error ? error.message : String(error)}`;
    this._showLinkState();
    this._needRedraw = true;
    this._schedule();
  }

  /** Put an op made here: drawn at the next frame and sent in that frame's batch. */
  private _put(op: Op, undoable = true): void {
    this._message = '';
    this._local.set(op.id, { op, waiting: new Set([op.id]), live: false });
    // a live stroke's points grow in place as the pen moves: send the points it has now (the
    // rest follow as extends)
    this._outbox.put(op.type === 'stroke' ? { ...op, points: op.points.slice() } : op);
    if (undoable) {
      this._undo.push(op.id);
      this._redo = [];
    }
    if (op.type === 'stroke' || op.type === 'shape' || op.type === 'text' || op.type === 'image') {
      this._localNew.push(op);
    } else {
      this._needRedraw = true;
    }
    this._showLinkState();
    this._schedule();
  }
  private _localNew: VisibleObject[] = [];


  // --- pen input -------------------------------------------------------------------

  private _penDown(s: PenSample): void {
    this._cancelText();
    if (this._lockedForMe) {
      this._showLinkState();
      return;
    }
    const tool = this._toolbar.tool;
    const x = round(s.x);
    const y = round(s.y);
    if (tool === 'pen' || tool === 'highlighter') {
      const op: StrokeOp = {
        type: 'stroke',
        id: newOpId(),
        points: [[x, y]],
        color: this._toolbar.color,
        // a pen pressed harder draws wider (a mouse reports 0.5: the toolbar's width)
        width: Math.min(200, Math.max(0.5, round(this._toolbar.width * 2 * s.pressure))),
        tool
      };
      this._put(op);
      this._local.get(op.id)!.live = true;
      this._live = { op, painted: 0 };
    } else if (SHAPES.includes(tool)) {
      this._shape = { x1: x, y1: y, x2: x, y2: y };
    } else if (tool === 'eraser') {
      const hit = topmostHit(this.visibleObjects(), x, y);
      if (hit) {
        this._put({ type: 'erase', id: newOpId(), target: hit.id });
      }
    } else if (tool === 'text') {
      this._openText(x, y);
    }
  }

  private _penMove(samples: PenSample[]): void {
    const last = samples[samples.length - 1];
    this._sendCursor(last.x, last.y);
    if (this._live) {
      const points = samples.map(s => [round(s.x), round(s.y)] as [number, number]);
      this._live.op.points.push(...points);
      this._outbox.extend(this._live.op.id, points);
      this._schedule();
    } else if (this._shape) {
      this._shape.x2 = round(last.x);
      this._shape.y2 = round(last.y);
      this._needOverlay = true;
      this._schedule();
    }
  }

  private _penUp(s: PenSample): void {
    if (this._live) {
      this._schedule(); // the last points go in the next frame, which ends the stroke
      this._liveEnding = this._live;
      this._live = null;
    } else if (this._shape) {
      const op = this._shapeOp(newOpId(), round(s.x), round(s.y));
      this._shape = null;
      this._needOverlay = true;
      if (op.x1 !== op.x2 || op.y1 !== op.y2) {
        this._put(op);
      }
      this._schedule();
    }
  }
  private _liveEnding: { op: StrokeOp; painted: number } | null = null;

  private _sendCursor(x: number, y: number): void {
    const link = this._link;
    if (!link || link.state.value !== 'attached') {
      return;
    }
    const now = performance.now();
    this._cursorPending = [round(x), round(y)];
    if (now - this._cursorSent >= CURSOR_INTERVAL_MS) {
      this._flushCursor();
    } else if (!this._cursorTimer) {
      this._cursorTimer = setTimeout(() => this._flushCursor(), CURSOR_INTERVAL_MS - (now - this._cursorSent));
    }
  }
  private _cursorTimer: ReturnType<typeof setTimeout> | undefined;

  private _flushCursor(): void {
    clearTimeout(this._cursorTimer);
    this._cursorTimer = undefined;
    const at = this._cursorPending;
    const link = this._link;
    if (!at || !link) {
      return;
    }
    this._cursorPending = null;
    this._cursorSent = performance.now();
    link.emit('board:cursor', { room_id: link.roomId, x: at[0], y: at[1] });
  }

  // --- text ---------------------------------------------------------------------

  private _textAt: [number, number] | null = null;

  private _openText(x: number, y: number): void {
    this._textAt = [x, y];
    const input = this._textInput;
    input.hidden = false;
    input.value = '';
    input.style.left = `${(100 * x) / BOARD_WIDTH}%`;
    input.style.top = `${(100 * y) / BOARD_HEIGHT}%`;
    input.style.color = this._toolbar.color;
    setTimeout(() => input.focus(), 0);
  }

  private _textKey(e: KeyboardEvent): void {
    e.stopPropagation(); // keys typed here are not notebook shortcuts
    if (e.key === 'Escape') {
      this._cancelText();
    } else if (e.key === 'Enter') {
      const text = this._textInput.value;
      const at = this._textAt;
      this._cancelText();
      if (at && text.trim()) {
        this._put({
          type: 'text',
          id: newOpId(),
          x: at[0],
          y: at[1],
          text,
          color: this._toolbar.color,
          size: 8 + 4 * this._toolbar.width
        });
      }
    }
  }

  private _cancelText(): void {
    this._textAt = null;
    if (this._textInput) {
      this._textInput.hidden = true;
    }
  }

  // --- undo, redo, clear, lock ---------------------------------------------------

  undo(): void {
    const target = this._undo.pop();
    if (!target) {
      this._flash('Nothing of yours to undo.');
      return;
    }
    const undo: Op = { type: 'undo', id: newOpId(), target };
    this._put(undo, false);
    this._redo.push(undo.id);
  }

  redo(): void {
    const undoId = this._redo.pop();
    if (!undoId) {
      this._flash('Nothing to redo.');
      return;
    }
    const undone = this._local.get(undoId)?.op ?? this._opById(undoId);
    const target = undone && undone.type === 'undo' ? undone.target : undefined;
    this._put({ type: 'undo', id: newOpId(), target: undoId }, false);
    if (target) {
      this._undo.push(target);
    }
  }

  clearBoard(): void {
    this._put({ type: 'clear', id: newOpId() });
  }

  private async _setLock(locked: boolean): Promise<void> {
    const link = this._link;
    if (!link) {
      return;
    }
    try {
      await link.request('room:update', { room_id: link.roomId, board_locked: locked });
    } catch (err) {
      this._flash(err instanceof Error ? err.message : String(err));
    }
  }

  private _flash(message: string): void {
    this._message = message;
    this._showLinkState();
  }

  // --- remote cursors -----------------------------------------------------------

  private _remoteCursor(e: CursorEvent): void {
    this._cursors.set(e.member_id, { x: e.x, y: e.y, at: performance.now() });
    this._needOverlay = true;
    this._schedule();
    clearTimeout(this._cursorExpiry);
    this._cursorExpiry = setTimeout(() => {
      this._needOverlay = true;
      this._schedule();
    }, CURSOR_IDLE_MS + 50);
  }
  private _cursorExpiry: ReturnType<typeof setTimeout> | undefined;

  // --- painting, once per animation frame ---------------------------------------

  private _schedule(): void {
    if (!this._frame && !this._disposed) {
      this._frame = requestAnimationFrame(() => this._paint());
    }
  }

  private _paint(): void {
    this._frame = 0;
    if (this._disposed) {
      return;
    }
    const ctx = this._inkCtx;
    // 1. send what this frame made: queued ops, then one extend per live stroke
    for (const op of this._outbox.flush()) {
      if (op.type === 'extend') {
        const local = this._local.get(op.target);
        if (local) {
          local.waiting.add(op.id);
          if (this._live?.op.id !== op.target) {
            local.live = false; // an ended stroke's last points, held back by the outbox
          }
        }
      }
    }
    const ending = this._liveEnding;
    this._liveEnding = null;
    if (ending) {
      const local = this._local.get(ending.op.id);
      if (local) {
        // its last points went in this frame's batch, unless the outbox holds them back
        local.live = this._outbox.holds(ending.op.id);
      }
    }
    // 2. paint: the whole board after a reset, else only what is new
    if (this._needRedraw) {
      this._needRedraw = false;
      this._changes = [];
      this._localNew = [];
      const objects = this.visibleObjects();
      paintBoard(ctx, objects, this._images.lookup, this._ink.width, this._ink.height);
      this._images.retain(new Set(objects.filter(o => o.type === 'image').map(o => o.id)));
      for (const live of [this._live, ending]) {
        if (live) {
          live.painted = live.op.points.length;
        }
      }
    } else {
      for (const change of this._changes.splice(0)) {
        if (change.kind === 'added') {
          paintObject(ctx, change.object, this._images.lookup);
        } else {
          paintSegment(ctx, change.stroke, change.stroke.points.slice(Math.max(0, change.from - 1), change.to));
        }
      }
      for (const op of this._localNew.splice(0)) {
        paintObject(ctx, op as VisibleObject, this._images.lookup);
        for (const live of [this._live, ending]) {
          if (live && live.op === op) {
            live.painted = op.points.length;
          }
        }
      }
      for (const live of [this._live, ending]) {
        if (live && live.painted < live.op.points.length) {
          paintSegment(ctx, live.op, live.op.points.slice(Math.max(0, live.painted - 1)));
          live.painted = live.op.points.length;
        }
      }
    }
    if (this._needOverlay) {
      this._needOverlay = false;
      this._paintOverlay();
    }
  }

  private _paintOverlay(): void {
    const ctx = this._overlayCtx;
    ctx.clearRect(0, 0, this._overlay.width, this._overlay.height);
    if (this._shape) {
      paintObject(ctx, this._shapeOp('preview', this._shape.x2, this._shape.y2));
    }
    const now = performance.now();
    for (const [memberId, c] of this._cursors) {
      if (now - c.at > CURSOR_IDLE_MS) {
        this._cursors.delete(memberId);
        continue;
      }
      const member = this._link?.members.get(memberId);
      if (member) {
        paintCursor(ctx, c.x, c.y, member.color, member.name);
      }
    }
  }

  private _shapeOp(id: string, x2: number, y2: number): ShapeOp {
    const { x1, y1 } = this._shape!;
    return {
      type: 'shape',
      id,
      shape: this._toolbar.tool as ShapeOp['shape'],
      x1,
      y1,
      x2,
      y2,
      color: this._toolbar.color,
      width: this._toolbar.width,
      fill: null
    };
  }

  private _opById(id: string): Op | undefined {
    const ops = this._board.ops;
    for (let i = ops.length - 1; i >= 0; i--) {
      if (ops[i].op.id === id) {
        return ops[i].op;
      }
    }
    return undefined;
  }

  private _layer(className: string): HTMLCanvasElement {
    const canvas = document.createElement('canvas');
    canvas.className = `jc-board-layer ${className}`;
    canvas.width = BOARD_WIDTH;
    canvas.height = BOARD_HEIGHT;
    return canvas;
  }
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

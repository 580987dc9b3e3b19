/**
 * The browser whiteboard: `BoardCanvasModel` / `BoardCanvasView` extend ipycanvas's own
 * `CanvasModel` / `CanvasView` (ipycanvas's module as installed, shared at run time), so
 * Python drawing through ipycanvas keeps working: it shows as a layer under the ink.
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
 * The kernel is asked for one thing: a ticket to attach the page socket to its membership.
 *
 * Layers, stacked, all 1600x900 and scaled by CSS: the ink (`canvas.jc-board-ink`, first in the
 * DOM, it takes the pointer), ipycanvas's layer (`canvas.jc-board-python`, below the ink), the
 * overlay (`canvas.jc-board-overlay`: shape preview and cursor marks).
 * DOM hooks: `.jc-board[data-mode=browser][data-state=attaching|attached|detached|ended]`,
 * `.jc-board-status` (`data-code`), `.jc-board-text-input`.
 */
import { ISerializers } from '@jupyter-widgets/base';
import { CanvasModel, CanvasView } from 'ipycanvas';

import { BOARD_HEIGHT, BOARD_WIDTH } from '../protocol.generated';
import type { BoardOp, BoardOpsEvent, CursorEvent, Op, OpResult, ShapeOp, StrokeOp } from '../protocol.generated';
import { AttachAck, pageSession, RequestError, RoomLink } from '../page/session';
import { MODULE_NAME, MODULE_VERSION } from '../version';
import { topmostHit } from './geometry';
import { PenInput, PenSample } from './input';
import { BoardChange, BoardModel, VisibleObject } from './model';
import { newOpId, OpOutcome, Outbox } from './outbox';
import { ImageCache, paintBoard, paintCursor, paintObject, paintSegment } from './render';
import { SHAPES, Toolbar, Tool } from './toolbar';

const TICKET_TIMEOUT_MS = 20000;
const CURSOR_INTERVAL_MS = 33; // at most ~30 cursor positions a second
const CURSOR_IDLE_MS = 3000; // a still cursor mark is taken off after this long

export class BoardCanvasModel extends CanvasModel {
  defaults(): any {
    return {
      ...super.defaults(),
      _model_name: BoardCanvasModel.model_name,
      _model_module: MODULE_NAME,
      _model_module_version: MODULE_VERSION,
      _view_name: BoardCanvasModel.view_name,
      _view_module: MODULE_NAME,
      _view_module_version: MODULE_VERSION,
      room_id: '',
      member_id: '',
      socket_path: ''
    };
  }

  static serializers: ISerializers = { ...CanvasModel.serializers };
  static model_name = 'BoardCanvasModel';
  static view_name = 'BoardCanvasView';
}

type Reply = { type: string; ticket?: string; message?: string; request_id?: string };

/** A local op not yet seen in the room's accepted ops (drawn meanwhile). */
interface LocalOp {
  op: Op;
  /** ids sent for it (a stroke and its extends) whose acceptance we have not seen */
  waiting: Set<string>;
  live: boolean;
}

export class BoardCanvasView extends CanvasView {
  private _root!: HTMLDivElement;
  private _stage!: HTMLDivElement;
  private _ink!: HTMLCanvasElement;
  private _inkCtx!: CanvasRenderingContext2D;
  private _python!: HTMLCanvasElement;
  private _overlay!: HTMLCanvasElement;
  private _overlayCtx!: CanvasRenderingContext2D;
  private _status!: HTMLDivElement;
  private _textInput!: HTMLInputElement;
  private _toolbar!: Toolbar;
  private _input!: PenInput;
  private _link: RoomLink | null = null;
  private _board = new BoardModel();
  private _images = new ImageCache(() => this._redrawSoon());
  private _changes: ({ kind: 'added'; object: VisibleObject } | { kind: 'extended'; stroke: StrokeOp; from: number; to: number })[] = [];
  private _outbox!: Outbox;
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
  private _ticketWaiters = new Map<string, (reply: Reply) => void>();
  private _off: (() => void)[] = [];
  private _message = '';
  private _disposed = false;

  get tagName(): string {
    return 'div';
  }

  render(): void {
    this._root = this.el as unknown as HTMLDivElement;
    this._root.classList.add('jc-board');
    this._root.dataset.mode = 'browser';
    // The kernel hears that this front-end loaded the view at once, not only once attached (a
    // kernel that hears nothing puts its own kernel-drawn board in place: see frontend.py).
    this.send({ type: 'rendered' });
    this._toolbar = new Toolbar({
      undo: () => this.undo(),
      redo: () => this.redo(),
      clear: () => this.clearBoard(),
      lock: locked => void this._setLock(locked),
      toolChanged: () => this._cancelText()
    });
    this._stage = document.createElement('div');
    this._stage.className = 'jc-board-stage';
    this._ink = this._layer('jc-board-ink');
    this._python = this._layer('jc-board-python');
    this._overlay = this._layer('jc-board-overlay');
    this._inkCtx = this._ink.getContext('2d')!;
    this._overlayCtx = this._overlay.getContext('2d')!;
    this._textInput = document.createElement('input');
    this._textInput.type = 'text';
    this._textInput.className = 'jc-board-text-input';
    this._textInput.placeholder = 'Type, then Enter';
    this._textInput.hidden = true;
    this._stage.append(this._ink, this._python, this._overlay, this._textInput);
    this._status = document.createElement('div');
    this._status.className = 'jc-board-status';
    this._status.setAttribute('role', 'status');
    this._root.append(this._toolbar.el, this._stage, this._status);

    // ipycanvas's part: Python draws on the model's canvas; views copy it on each frame
    this.ctx = this._python.getContext('2d')!;
    this.resizeCanvas();
    this.model.on_some_change(['width', 'height'], this.resizeCanvas, this);
    this.updateCanvas();

    this._outbox = new Outbox(
      op => this._sendOp(op),
      {
        accepted: (op, seq) => this._accepted(op, seq),
        refused: (op, error) => this._refused(op, error)
      },
      ops => this._sendOps(ops)
    );
    this._input = new PenInput(this._ink, BOARD_WIDTH, BOARD_HEIGHT, {
      down: s => this._penDown(s),
      move: samples => this._penMove(samples),
      up: s => this._penUp(s),
      hover: s => this._sendCursor(s.x, s.y)
    });
    this._textInput.addEventListener('keydown', e => this._textKey(e));
    this._onCustomMsg = this._onCustomMsg.bind(this);
    this.model.on('msg:custom', this._onCustomMsg);
    (this._root as any).jcBoard = this; // for tests: the board as this page sees it
    this._setStatus('attaching', 'Connecting the board…');
    this._connect();
  }

  remove(): void {
    this._disposed = true;
    cancelAnimationFrame(this._frame);
    this._input?.dispose();
    this._off.forEach(off => off());
    this.model.off('msg:custom', this._onCustomMsg);
    this._link?.release();
    super.remove();
  }

  // --- ipycanvas's layer ----------------------------------------------------

  clear(): void {
    this.ctx.clearRect(0, 0, this._python.width, this._python.height);
  }

  updateCanvas(): void {
    this.clear();
    this.ctx.drawImage((this.model as CanvasModel).canvas, 0, 0);
  }

  protected resizeCanvas(): void {
    for (const canvas of [this._ink, this._python, this._overlay]) {
      canvas.width = this.model.get('width') || BOARD_WIDTH;
      canvas.height = this.model.get('height') || BOARD_HEIGHT;
    }
    this._needRedraw = true;
    this._schedule();
  }

  // --- what tests and the kernel may read ------------------------------------

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

  get link(): RoomLink | null {
    return this._link;
  }

  // --- the page socket ---------------------------------------------------------

  private _connect(): void {
    const roomId = this.model.get('room_id') as string;
    const memberId = this.model.get('member_id') as string;
    const socketPath = this.model.get('socket_path') as string;
    if (!roomId || !socketPath) {
      this._setStatus('idle', 'Not in a room yet.');
      return;
    }
    const link = pageSession(socketPath).link(roomId, memberId, () => this._askKernel());
    this._link = link;
    link.sinceProvider = () => this._board.seq;
    this._off.push(this._board.changed.connect(change => this._boardChanged(change)));
    this._off.push(
      link.state.changed.connect(() => this._showLinkState()),
      link.onAttached.connect(ack => this._attached(ack)),
      link.on<BoardOpsEvent>('board:ops', e => this._receive(e.ops)),
      link.on<BoardOp & { room_id: string }>('board:op', e => this._receive([e])),
      link.on<CursorEvent>('board:cursor', e => this._remoteCursor(e)),
      link.on('room:member_left', (e: { member_id: string }) => {
        this._cursors.delete(e.member_id);
        this._needOverlay = true;
        this._schedule();
      }),
      link.on('room:updated', () => this._showLinkState())
    );
    if (link.attached) {
      this._attached(link.attached); // another view of this room attached it already
    }
    this._showLinkState();
  }

  private _askKernel(): Promise<string> {
    return new Promise((resolve, reject) => {
      const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
      const timer = setTimeout(() => {
        this._ticketWaiters.delete(id);
        reject(new Error('the kernel did not answer (is it busy or stopped?)'));
      }, TICKET_TIMEOUT_MS);
      this._ticketWaiters.set(id, reply => {
        clearTimeout(timer);
        this._ticketWaiters.delete(id);
        if (reply.type === 'ticket' && reply.ticket) {
          resolve(reply.ticket);
        } else {
          reject(new Error(reply.message ?? 'no ticket'));
        }
      });
      this.send({ type: 'ticket_request', request_id: id });
    });
  }

  private _onCustomMsg(content: Reply): void {
    if (content && (content.type === 'ticket' || content.type === 'ticket_error') && content.request_id) {
      this._ticketWaiters.get(content.request_id)?.(content);
    }
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
    this.send({ type: 'rendered' });
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
    this._root.dataset.state = state;
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

  private _attachedLink(): RoomLink {
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
        this._local.get(op.target)?.waiting.add(op.id);
      }
    }
    const ending = this._liveEnding;
    this._liveEnding = null;
    if (ending) {
      const local = this._local.get(ending.op.id);
      if (local) {
        local.live = false; // its last points went in this frame's batch
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

export type { Tool };

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

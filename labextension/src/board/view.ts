/**
 * The notebook's whiteboard: `BoardCanvasModel` / `BoardCanvasView` extend ipycanvas's own
 * `CanvasModel` / `CanvasView` (ipycanvas's module as installed, shared at run time), so
 * Python drawing through ipycanvas keeps working: it shows as a layer under the ink.
 *
 * The view is a thin host around the board itself (`BoardSurface`, board/surface.ts: pen,
 * ink, outbox, remote ops and cursors, toolbar, status lines), which the main-area board
 * (board/board-widget.ts) uses too. What is the notebook's here:
 * - the room link comes from the widget's model (`room_id`, `member_id`, `socket_path`), and
 *   the kernel is asked for one thing: a ticket to attach the page socket to its membership;
 * - ipycanvas's layer (`canvas.jc-board-python`), under the ink;
 * - the kernel hears `{type: 'rendered'}` at once and after each attach (a kernel that hears
 *   nothing puts its own kernel-drawn board in place: see frontend.py).
 * DOM hooks: as board/surface.ts says (`.jc-board[data-mode=browser][data-state=...]`, ...).
 */
import { ISerializers } from '@jupyter-widgets/base';
import { CanvasModel, CanvasView } from 'ipycanvas';

import { BOARD_HEIGHT, BOARD_WIDTH } from '../protocol.generated';
import { pageSession, RoomLink } from '../page/session';
import { MODULE_NAME, MODULE_VERSION } from '../version';
import { VisibleObject } from './model';
import { BoardSurface } from './surface';
import { Tool } from './toolbar';

const TICKET_TIMEOUT_MS = 20000;

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

export class BoardCanvasView extends CanvasView {
  private _surface!: BoardSurface;
  private _python!: HTMLCanvasElement;
  private _link: RoomLink | null = null;
  private _ticketWaiters = new Map<string, (reply: Reply) => void>();

  get tagName(): string {
    return 'div';
  }

  render(): void {
    // The kernel hears that this front-end loaded the view at once, not only once attached (a
    // kernel that hears nothing puts its own kernel-drawn board in place: see frontend.py).
    this.send({ type: 'rendered' });
    const root = this.el as unknown as HTMLDivElement;
    this._surface = new BoardSurface(root, {
      underlay: 'jc-board-python',
      catchUp: true, // a second view of an attached room starts from the attach's board
      attached: () => this.send({ type: 'rendered' })
    });
    this._python = this._surface.underlay!;

    // ipycanvas's part: Python draws on the model's canvas; views copy it on each frame
    this.ctx = this._python.getContext('2d')!;
    this.resizeCanvas();
    this.model.on_some_change(['width', 'height'], this.resizeCanvas, this);
    this.updateCanvas();

    this._onCustomMsg = this._onCustomMsg.bind(this);
    this.model.on('msg:custom', this._onCustomMsg);
    (root as any).jcBoard = this; // for tests: the board as this page sees it
    this._connect();
  }

  remove(): void {
    this._surface?.dispose();
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
    this._surface.resize(this.model.get('width') || BOARD_WIDTH, this.model.get('height') || BOARD_HEIGHT);
  }

  // --- what tests and the kernel may read ------------------------------------

  /** The objects this page shows, bottom to top (accepted plus local). */
  visibleObjects(): VisibleObject[] {
    return this._surface.visibleObjects();
  }

  /** The seq of the last op applied in order. */
  get seq(): number {
    return this._surface.seq;
  }

  get link(): RoomLink | null {
    return this._link;
  }

  undo(): void {
    this._surface.undo();
  }

  redo(): void {
    this._surface.redo();
  }

  clearBoard(): void {
    this._surface.clearBoard();
  }

  // --- the page socket ---------------------------------------------------------

  private _connect(): void {
    const roomId = this.model.get('room_id') as string;
    const memberId = this.model.get('member_id') as string;
    const socketPath = this.model.get('socket_path') as string;
    if (!roomId || !socketPath) {
      this._surface.idle('Not in a room yet.');
      return;
    }
    const link = pageSession(socketPath).link(roomId, memberId, () => this._askKernel());
    this._link = link;
    this._surface.connect(link);
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
}

export type { Tool };

/**
 * The board as a JupyterLab main-area widget, with no kernel: the same `BoardSurface` as the
 * notebook's board (board/surface.ts), drawing on a room membership the page holds (the side
 * panel's link: a room joined from the panel, or a notebook's room the page adopted).
 *
 * It can be dragged and docked like any JupyterLab widget (beside a notebook, in a tab, split
 * below...); the board keeps its 16:9 shape and fits the area it is given. Closing it only
 * closes the view: the membership stays with the page (the panel leaves the room).
 *
 * DOM hooks: `.jc-board-widget[data-room-id]` (also `.jc-board`, as the surface says), and
 * the node's `jcBoard` (the surface: `visibleObjects()`, `seq`, `link`) for tests.
 */
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { RoomWidgets } from '../page/room-widgets';
import type { RoomLink } from '../page/session';
import { BOARD_HEIGHT, BOARD_WIDTH } from '../protocol.generated';
import { BoardSurface } from './surface';

const TITLE_PREFIX = 'Board — ';

/** A DOM id for a room's board widget (room ids are URL-safe tokens; anything else goes). */
export function boardWidgetId(roomId: string): string {
  return `jc-board-widget-${roomId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export class BoardWidget extends Widget {
  readonly surface: BoardSurface;
  private _off: (() => void)[] = [];

  constructor(readonly link: RoomLink) {
    super();
    this.id = boardWidgetId(link.roomId);
    this.addClass('jc-board-widget');
    this.node.dataset.roomId = link.roomId;
    this.title.closable = true;
    this.surface = new BoardSurface(this.node, { catchUp: true }); // joined maybe long ago
    // keys typed on the board (its text box) are not JupyterLab shortcuts
    this.node.querySelector<HTMLElement>('.jc-board-text-input')?.setAttribute('data-lm-suppress-shortcuts', 'true');
    (this.node as unknown as { jcBoard: BoardSurface }).jcBoard = this.surface; // for tests
    this._showTitle();
    this._off.push(
      link.onAttached.connect(() => this._showTitle()),
      link.on('room:updated', () => this._showTitle()),
      link.state.changed.connect(() => this._showTitle())
    );
    this.surface.connect(link);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._off.forEach(off => off());
    this._off = [];
    this.surface.dispose();
    super.dispose();
  }

  /** The tab says which room's board this is (and whether the membership ended). */
  private _showTitle(): void {
    const title = this.link.attached?.room.title ?? this.link.roomId;
    const ended = this.link.state.value === 'ended';
    this.title.label = `${TITLE_PREFIX}${title}${ended ? ' (left)' : ''}`;
    this.title.caption = ended
      ? `The board of “${title}”: ${this.link.message || 'no longer in this room'}`
      : `The board of “${title}”, drawn in the browser (no kernel)`;
  }

  /** Closing the tab ends this view (its surface and listeners); the membership stays. */
  protected onCloseRequest(msg: Message): void {
    super.onCloseRequest(msg);
    this.dispose();
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this._fit();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._fit();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._fit();
  }

  /** The stage as large as the area allows at 16:9, below the toolbar and status lines. */
  private _fit(): void {
    const node = this.node;
    const stage = this.surface.stage;
    if (!node.isConnected || !node.clientWidth) {
      return;
    }
    const style = getComputedStyle(node);
    const padX = (parseFloat(style.paddingLeft) || 0) + (parseFloat(style.paddingRight) || 0);
    const padY = (parseFloat(style.paddingTop) || 0) + (parseFloat(style.paddingBottom) || 0);
    const gap = parseFloat(style.rowGap) || 0;
    let others = 0;
    let shown = 0;
    for (const child of Array.from(node.children) as HTMLElement[]) {
      if (child !== stage && !child.hidden) {
        others += child.offsetHeight;
        shown++;
      }
    }
    const width = node.clientWidth - padX;
    const height = node.clientHeight - padY - others - gap * shown - 2; // 2: the stage's border
    const fitted = Math.max(160, Math.floor(Math.min(width, (height * BOARD_WIDTH) / BOARD_HEIGHT)));
    stage.style.width = `${fitted}px`;
  }
}

/** The open board widgets, one per room (see RoomWidgets). */
export class BoardWidgets extends RoomWidgets<BoardWidget> {
  constructor(add: (widget: BoardWidget) => void, activate: (widget: BoardWidget) => void) {
    super(link => new BoardWidget(link), add, activate);
  }
}

/**
 * A breakout group's board, read-only: the `breakout:board` BoardState painted once on a
 * canvas (board/render.ts, as the live board paints it), in a main-area widget.
 */
import { Widget } from '@lumino/widgets';

import { visibleObjects } from '../board/model';
import { ImageCache, paintBoard } from '../board/render';
import { BOARD_HEIGHT, BOARD_WIDTH } from '../protocol.generated';

import type { BoardState } from '../protocol.generated';

let counter = 0;

export class BreakoutBoardView extends Widget {
  constructor(
    readonly groupTitle: string,
    readonly board: BoardState
  ) {
    super();
    this.id = `jc-breakout-board-${++counter}`;
    this.addClass('jc-breakout-board');
    this.title.label = `${groupTitle}'s board`;
    this.title.caption = `${groupTitle}'s board, kept when the breakouts ended (read-only)`;
    this.title.closable = true;
    const note = document.createElement('div');
    note.className = 'jc-breakout-board-note';
    const objects = visibleObjects(board.ops ?? []);
    note.textContent = `${this.title.label} (read-only) \u00B7 ${objects.length} object${objects.length === 1 ? '' : 's'}`;
    this._canvas = document.createElement('canvas');
    this._canvas.className = 'jc-breakout-board-canvas';
    this._canvas.width = BOARD_WIDTH;
    this._canvas.height = BOARD_HEIGHT;
    this._canvas.dataset.objects = String(objects.length);
    this.node.append(note, this._canvas);
    this._images = new ImageCache(() => this.paint());
    this.paint();
  }

  /** Paints the board (again once an image has loaded). */
  paint(): void {
    const ctx = this._canvas.getContext('2d');
    if (!ctx) {
      return; // no canvas support (tests' DOM)
    }
    paintBoard(ctx, visibleObjects(this.board.ops ?? []), this._images.lookup);
  }

  private _canvas: HTMLCanvasElement;
  private _images: ImageCache;
}

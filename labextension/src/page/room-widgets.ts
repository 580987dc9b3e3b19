/**
 * The open widgets of one kind (board, video), one per room: `open(link)` shows the room's
 * widget (activated when it is open already), made for the page's current membership of that
 * room; a widget of an earlier membership (left, rejoined) is replaced by a fresh one.
 */
import type { Widget } from '@lumino/widgets';

import type { RoomLink } from './session';

export class RoomWidgets<W extends Widget & { readonly link: RoomLink }> {
  private _widgets = new Map<string, W>();

  constructor(
    private _make: (link: RoomLink) => W,
    /** Puts a new widget in the shell (where the settings say). */
    private _add: (widget: W) => void,
    /** Brings a widget to the front. */
    private _activate: (widget: W) => void
  ) {}

  get(roomId: string): W | undefined {
    const widget = this._widgets.get(roomId);
    return widget && !widget.isDisposed ? widget : undefined;
  }

  open(link: RoomLink): W {
    let widget = this.get(link.roomId);
    if (widget && widget.link !== link) {
      widget.dispose();
      widget = undefined;
    }
    if (!widget) {
      const made = this._make(link);
      widget = made;
      this._widgets.set(link.roomId, made);
      made.disposed.connect(() => {
        if (this._widgets.get(link.roomId) === made) {
          this._widgets.delete(link.roomId);
        }
      });
      this._add(made);
    }
    this._activate(widget);
    return widget;
  }

  dispose(): void {
    for (const widget of Array.from(this._widgets.values())) {
      widget.dispose();
    }
    this._widgets.clear();
  }
}

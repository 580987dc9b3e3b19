/**
 * The side panel's section for the board and video widgets moved into it ("Show in the
 * panel"): each is taken out of the main area or sidebar it was docked in and attached, as a
 * top-level Lumino widget, to a node of the panel; "Show beside the notebook" gives it back to
 * the shell (the plugin docks it again). The widget keeps its membership, surface and state
 * throughout: only its place changes.
 *
 * A held widget gets the resizes of its node (the panel's width; its height is the user's to
 * drag, CSS `resize: vertical`), as a docked one gets its area's.
 */
import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { Emitter } from '../emitter';

export class WidgetShelf {
  /** A widget came in or went out. */
  readonly changed = new Emitter<void>();
  private _held: Widget[] = [];
  private _observer: ResizeObserver | null = null;

  constructor(readonly node: HTMLElement) {
    if (typeof ResizeObserver !== 'undefined') {
      this._observer = new ResizeObserver(entries => {
        for (const entry of entries) {
          const widget = this._held.find(w => w.node === entry.target);
          if (widget) {
            this._resize(widget);
          }
        }
      });
    }
  }

  /** The widgets shown in the panel, in the order they came. */
  get widgets(): readonly Widget[] {
    return this._held.filter(w => !w.isDisposed);
  }

  holds(widget: Widget): boolean {
    return this._held.includes(widget) && !widget.isDisposed;
  }

  /** Moves `widget` into the panel (out of the dock or sidebar it is in). */
  hold(widget: Widget): void {
    if (this.holds(widget) || widget.isDisposed) {
      return;
    }
    if (widget.parent) {
      widget.parent = null; // out of its dock panel or sidebar
    } else if (widget.isAttached) {
      Widget.detach(widget);
    }
    Widget.attach(widget, this.node);
    widget.addClass('jc-shelved');
    this._held.push(widget);
    widget.disposed.connect(this._onDisposed, this);
    this._observer?.observe(widget.node);
    this._resize(widget);
    this.changed.emit();
  }

  /** Takes `widget` out of the panel, detached: the caller docks it again. */
  release(widget: Widget): void {
    if (!this._held.includes(widget)) {
      return;
    }
    this._forget(widget);
    if (widget.isAttached) {
      Widget.detach(widget);
    }
    widget.removeClass('jc-shelved');
    this.changed.emit();
  }

  /** The panel was resized or shown: every held widget fits its node again. */
  fit(): void {
    for (const widget of this.widgets) {
      this._resize(widget);
    }
  }

  dispose(): void {
    for (const widget of Array.from(this._held)) {
      this.release(widget);
    }
    this._observer?.disconnect();
    this.changed.clear();
  }

  private _resize(widget: Widget): void {
    if (widget.isAttached) {
      MessageLoop.sendMessage(widget, Widget.ResizeMessage.UnknownSize);
    }
  }

  private _onDisposed(widget: Widget): void {
    this._forget(widget);
    this.changed.emit();
  }

  private _forget(widget: Widget): void {
    this._held = this._held.filter(w => w !== widget);
    widget.disposed.disconnect(this._onDisposed, this);
    this._observer?.unobserve(widget.node);
  }
}

/**
 * A "Show in the panel" / "Show beside the notebook" button at the top of a room widget, and,
 * while the widget is in the panel (where it has no tab to close it by), a "Close" button.
 */
export function placeButton(widget: Widget, shelf: WidgetShelf, dock: (widget: Widget) => void): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'jp-Button jp-mod-styled jc-widget-place';
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'jp-Button jp-mod-styled jc-widget-close';
  close.textContent = 'Close';
  close.title = 'Close it, as its tab would beside the notebook';
  // a docked widget's tab closing disposes it; the same here
  close.addEventListener('click', () => widget.dispose());
  const label = (): void => {
    const held = shelf.holds(widget);
    button.textContent = held ? 'Show beside the notebook' : 'Show in the panel';
    button.title = held
      ? 'Put it back in the main area (or the sidebar the settings name)'
      : 'Move it into the classroom panel, under the room';
    close.hidden = !held;
    widget.node.dataset.place = held ? 'panel' : 'dock';
  };
  button.addEventListener('click', () => {
    if (shelf.holds(widget)) {
      shelf.release(widget);
      dock(widget);
    } else {
      shelf.hold(widget);
    }
  });
  const off = shelf.changed.connect(label);
  widget.disposed.connect(() => off());
  const bar = document.createElement('div');
  bar.className = 'jc-widget-placebar';
  bar.append(button, close);
  widget.node.prepend(bar);
  label();
  return button;
}

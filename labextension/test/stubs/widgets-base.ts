/**
 * Minimal stand-ins for @jupyter-widgets/base, enough for VideoView: a
 * Backbone-like model (attributes, events, custom messages) and a view with
 * `el`, `send` and `listenTo`.
 */
type Callback = (...args: any[]) => void;

export class DOMWidgetModel {
  static serializers: Record<string, unknown> = {};
  attributes: Record<string, unknown>;
  /** Custom messages the views sent to the kernel. */
  sent: unknown[] = [];
  private _handlers = new Map<string, Set<Callback>>();

  constructor(attributes: Record<string, unknown> = {}) {
    this.attributes = { ...this.defaults(), ...attributes };
  }

  defaults(): Record<string, unknown> {
    return {};
  }

  get(name: string): unknown {
    return this.attributes[name];
  }

  set(name: string, value: unknown): void {
    this.attributes[name] = value;
    this.trigger(`change:${name}`, this, value);
  }

  on(events: string, cb: Callback): void {
    for (const ev of events.split(/\s+/)) {
      if (!this._handlers.has(ev)) {
        this._handlers.set(ev, new Set());
      }
      this._handlers.get(ev)!.add(cb);
    }
  }

  off(events: string, cb: Callback): void {
    for (const ev of events.split(/\s+/)) {
      this._handlers.get(ev)?.delete(cb);
    }
  }

  trigger(ev: string, ...args: unknown[]): void {
    for (const cb of Array.from(this._handlers.get(ev) ?? [])) {
      cb(...args);
    }
  }

  listenerCount(ev: string): number {
    return this._handlers.get(ev)?.size ?? 0;
  }
}

export class DOMWidgetView {
  model: DOMWidgetModel;
  el: HTMLElement;
  private _listening: [DOMWidgetModel, string, Callback][] = [];

  constructor(options: { model: DOMWidgetModel }) {
    this.model = options.model;
    this.el = document.createElement('div');
  }

  send(content: unknown): void {
    this.model.sent.push(content);
  }

  listenTo(obj: DOMWidgetModel, events: string, cb: Callback): void {
    obj.on(events, cb);
    this._listening.push([obj, events, cb]);
  }

  remove(): void {
    for (const [obj, events, cb] of this._listening) {
      obj.off(events, cb);
    }
    this.el.remove();
  }
}

export type ISerializers = Record<string, unknown>;

/**
 * Pen input: pointer events (mouse, pen with pressure, touch) on the board's element, turned
 * into samples in board units (1600x900), with every coalesced sample the browser gathered
 * since the last event (a fast pen gives several per frame).
 *
 * One pointer draws at a time (the first that went down); another finger is ignored, so a
 * palm or a second touch does not draw. The pointer is captured, so a stroke that leaves the
 * board keeps going until the pen lifts.
 */
export interface PenSample {
  x: number;
  y: number;
  /** 0..1: a pen's pressure; 0.5 for a mouse or a finger */
  pressure: number;
  /** the event's timeStamp (ms, performance.now() clock) */
  t: number;
}

export interface PenHandler {
  down(sample: PenSample, event: PointerEvent): void;
  move(samples: PenSample[], event: PointerEvent): void;
  up(sample: PenSample, event: PointerEvent): void;
  /** the pointer moves over the board with nothing pressed (for the cursor mark) */
  hover(sample: PenSample): void;
}

export class PenInput {
  private _active: number | null = null;
  private _rect: DOMRect | null = null;
  private _off: (() => void)[] = [];

  constructor(
    readonly el: HTMLElement,
    readonly width: number,
    readonly height: number,
    private _handler: PenHandler
  ) {
    this._listen('pointerdown', e => this._down(e));
    this._listen('pointermove', e => this._move(e));
    this._listen('pointerup', e => this._up(e));
    this._listen('pointercancel', e => this._up(e));
    this._listen('lostpointercapture', e => this._up(e));
    this._listen('pointerleave', () => (this._rect = null));
  }

  dispose(): void {
    this._off.forEach(off => off());
    this._off = [];
  }

  get drawing(): boolean {
    return this._active !== null;
  }

  /** Board units for a pointer position (also used by the text tool). */
  toBoard(clientX: number, clientY: number): [number, number] {
    const rect = this._rect ?? (this._rect = this.el.getBoundingClientRect());
    const w = rect.width || this.width;
    const h = rect.height || this.height;
    return [((clientX - rect.left) * this.width) / w, ((clientY - rect.top) * this.height) / h];
  }

  private _listen(type: string, fn: (e: PointerEvent) => void): void {
    const listener = (e: Event): void => fn(e as PointerEvent);
    this.el.addEventListener(type, listener);
    this._off.push(() => this.el.removeEventListener(type, listener));
  }

  private _sample(e: PointerEvent): PenSample {
    const [x, y] = this.toBoard(e.clientX, e.clientY);
    // only a pen's pressure means something; a mouse or a finger draws at 0.5
    const pressure = e.pointerType === 'pen' && e.pressure ? e.pressure : 0.5;
    return { x, y, pressure, t: e.timeStamp };
  }

  private _down(e: PointerEvent): void {
    if (this._active !== null || (e.pointerType === 'mouse' && e.button !== 0) || !e.isPrimary) {
      return;
    }
    this._rect = this.el.getBoundingClientRect(); // the page may have scrolled since
    this._active = e.pointerId;
    try {
      this.el.setPointerCapture(e.pointerId);
    } catch {
      // (an element that is not in the document, in tests)
    }
    this._handler.down(this._sample(e), e);
  }

  private _move(e: PointerEvent): void {
    if (this._active === null) {
      this._handler.hover(this._sample(e));
      return;
    }
    if (e.pointerId !== this._active) {
      return;
    }
    const coalesced = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    const events = coalesced.length ? coalesced : [e];
    this._handler.move(
      events.map(c => this._sample(c)),
      e
    );
  }

  private _up(e: PointerEvent): void {
    if (e.pointerId !== this._active) {
      return;
    }
    this._active = null;
    this._handler.up(this._sample(e), e);
  }
}

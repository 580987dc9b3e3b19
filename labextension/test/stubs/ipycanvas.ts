/**
 * Stand-in for ipycanvas's CanvasModel / CanvasView (the installed extension's module at run
 * time), enough for the board view: the model's offscreen canvas and the view's hooks.
 */
import { DOMWidgetModel, DOMWidgetView } from './widgets-base';

export class CanvasModel extends DOMWidgetModel {
  static serializers: Record<string, unknown> = {};
  canvas: HTMLCanvasElement = document.createElement('canvas');

  defaults(): Record<string, unknown> {
    return { width: 1600, height: 900 };
  }

  on_some_change(names: string[], cb: () => void, context?: unknown): void {
    for (const name of names) {
      this.on(`change:${name}`, () => cb.call(context));
    }
  }
}

export class CanvasView extends DOMWidgetView {
  ctx!: CanvasRenderingContext2D;
  declare model: CanvasModel;
  clear(): void {}
  updateCanvas(): void {}
  protected resizeCanvas(): void {}
}

/**
 * Painting board objects onto a 2D canvas context, the way the kernel-drawn
 * board (jupyter_classroom/widgets/paint.py and the cursor marks of
 * whiteboard.py) paints them, so the browser board and the fallback look alike:
 * round caps and joins, a highlighter 3x as wide at 35% opacity, a one-point
 * stroke as a dot, arrow heads from `arrowHead`, text in `${size}px sans-serif`
 * on the alphabetic baseline, images stretched to (x, y, w, h).
 *
 * Pure functions of their arguments: no DOM access except in `ImageCache`.
 */
import { BOARD_HEIGHT, BOARD_WIDTH } from '../protocol.generated';
import type { ImageOp, ShapeOp, StrokeOp, TextOp } from '../protocol.generated';
import { arrowHead, Point } from './geometry';
import type { VisibleObject } from './model';

export const HIGHLIGHTER_ALPHA = 0.35;
/** A highlighter is this many times wider than a pen of its width. */
export const HIGHLIGHTER_WIDTH = 3;

/** The parts of CanvasRenderingContext2D the painters use. */
export type Context2D = Pick<
  CanvasRenderingContext2D,
  | 'globalAlpha'
  | 'strokeStyle'
  | 'fillStyle'
  | 'lineWidth'
  | 'lineCap'
  | 'lineJoin'
  | 'font'
  | 'textBaseline'
  | 'beginPath'
  | 'moveTo'
  | 'lineTo'
  | 'arc'
  | 'ellipse'
  | 'closePath'
  | 'stroke'
  | 'fill'
  | 'strokeRect'
  | 'fillRect'
  | 'fillText'
  | 'drawImage'
  | 'clearRect'
  | 'save'
  | 'restore'
>;

/** The decoded image of an image op, or null while it is not ready (skip it). */
export type ImageLookup = (op: ImageOp) => CanvasImageSource | null;

/** [line width, alpha] a stroke is drawn with. */
export function strokeStyle(op: StrokeOp): [number, number] {
  if (op.tool === 'highlighter') {
    return [op.width * HIGHLIGHTER_WIDTH, HIGHLIGHTER_ALPHA];
  }
  return [op.width, 1];
}

function polyline(ctx: Context2D, op: StrokeOp, points: readonly Point[]): void {
  if (points.length === 0) {
    return;
  }
  const [width, alpha] = strokeStyle(op);
  ctx.save();
  ctx.globalAlpha = alpha;
  ctx.strokeStyle = op.color;
  ctx.fillStyle = op.color;
  ctx.lineWidth = width;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.beginPath();
  if (points.length === 1) {
    const [x, y] = points[0];
    ctx.arc(x, y, width / 2, 0, 2 * Math.PI);
    ctx.fill();
  } else {
    ctx.moveTo(points[0][0], points[0][1]);
    for (let i = 1; i < points.length; i++) {
      ctx.lineTo(points[i][0], points[i][1]);
    }
    ctx.stroke();
  }
  ctx.restore();
}

/**
 * Continue a stroke through `points`, the first being where it left off
 * (a `BoardChange` `extended`: `stroke.points.slice(from - 1)`).
 */
export function paintSegment(ctx: Context2D, stroke: StrokeOp, points: readonly Point[]): void {
  polyline(ctx, stroke, points);
}

function paintShape(ctx: Context2D, op: ShapeOp): void {
  const { x1, y1, x2, y2 } = op;
  ctx.save();
  ctx.globalAlpha = 1;
  ctx.strokeStyle = op.color;
  ctx.lineWidth = op.width;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  if (op.shape === 'line' || op.shape === 'arrow') {
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x2, y2);
    ctx.stroke();
    if (op.shape === 'arrow') {
      const [a, b, c] = arrowHead(x1, y1, x2, y2, op.width);
      ctx.fillStyle = op.color;
      ctx.beginPath();
      ctx.moveTo(a[0], a[1]);
      ctx.lineTo(b[0], b[1]);
      ctx.lineTo(c[0], c[1]);
      ctx.closePath();
      ctx.fill();
    }
  } else {
    const left = Math.min(x1, x2);
    const top = Math.min(y1, y2);
    const width = Math.abs(x2 - x1);
    const height = Math.abs(y2 - y1);
    if (op.shape === 'rect') {
      if (op.fill) {
        ctx.fillStyle = op.fill;
        ctx.fillRect(left, top, width, height);
      }
      ctx.strokeRect(left, top, width, height);
    } else {
      ctx.beginPath();
      ctx.ellipse(left + width / 2, top + height / 2, width / 2, height / 2, 0, 0, 2 * Math.PI);
      if (op.fill) {
        ctx.fillStyle = op.fill;
        ctx.fill();
      }
      ctx.stroke();
    }
  }
  ctx.restore();
}

function paintText(ctx: Context2D, op: TextOp): void {
  ctx.save();
  ctx.globalAlpha = 1;
  ctx.font = `${op.size}px sans-serif`;
  ctx.fillStyle = op.color;
  ctx.textBaseline = 'alphabetic';
  ctx.fillText(op.text, op.x, op.y);
  ctx.restore();
}

/** Paint one object on top of what the context shows. */
export function paintObject(ctx: Context2D, op: VisibleObject, images?: ImageLookup): void {
  switch (op.type) {
    case 'stroke':
      polyline(ctx, op, op.points);
      break;
    case 'shape':
      paintShape(ctx, op);
      break;
    case 'text':
      paintText(ctx, op);
      break;
    case 'image': {
      const image = images?.(op) ?? null;
      if (image !== null) {
        ctx.drawImage(image, op.x, op.y, op.w, op.h);
      }
      break;
    }
  }
}

/** Clear the board's area and paint `objects` bottom to top. */
export function paintBoard(
  ctx: Context2D,
  objects: readonly VisibleObject[],
  images?: ImageLookup,
  width: number = BOARD_WIDTH,
  height: number = BOARD_HEIGHT
): void {
  ctx.clearRect(0, 0, width, height);
  for (const op of objects) {
    paintObject(ctx, op, images);
  }
}

/** A member's pointer: a ring and a dot (the ink under it stays visible) and the name. */
export function paintCursor(
  ctx: Context2D,
  x: number,
  y: number,
  color: string,
  name: string
): void {
  ctx.save();
  ctx.globalAlpha = 1;
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.arc(x, y, 7, 0, 2 * Math.PI);
  ctx.stroke();
  ctx.fillStyle = color;
  ctx.beginPath();
  ctx.arc(x, y, 2, 0, 2 * Math.PI);
  ctx.fill();
  ctx.font = '14px sans-serif';
  ctx.fillText(name, x + 9, y - 9);
  ctx.restore();
}

/**
 * Decoded images of image ops, by op id. `lookup` returns null until an image
 * has loaded, then `onLoad` is called so the view repaints the board.
 */
export class ImageCache {
  private _images = new Map<string, HTMLImageElement>();

  constructor(private readonly onLoad: (op: ImageOp) => void) {}

  readonly lookup: ImageLookup = (op: ImageOp) => {
    let image = this._images.get(op.id);
    if (image === undefined) {
      image = new Image();
      image.onload = () => this.onLoad(op);
      image.src = op.src;
      this._images.set(op.id, image);
    }
    return image.complete && image.naturalWidth > 0 ? image : null;
  };

  /** Forget images whose ops are no longer on the board. */
  retain(ids: ReadonlySet<string>): void {
    for (const id of Array.from(this._images.keys())) {
      if (!ids.has(id)) {
        this._images.delete(id);
      }
    }
  }
}

/**
 * Geometry of board objects in board units: arrow heads and hit testing, the
 * twin of jupyter_classroom/widgets/geometry.py.
 */
import type { VisibleObject } from './model';

/** Board units a click may miss an object by and still hit it. */
export const HIT_SLOP = 8;

export type Point = [number, number];

/** The triangle at the (x2, y2) end of an arrow. */
export function arrowHead(
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  width: number
): [Point, Point, Point] {
  const length = Math.max(12, 4 * width);
  const angle = Math.atan2(y2 - y1, x2 - x1);
  const spread = Math.PI / 7;
  return [
    [x2, y2],
    [x2 - length * Math.cos(angle - spread), y2 - length * Math.sin(angle - spread)],
    [x2 - length * Math.cos(angle + spread), y2 - length * Math.sin(angle + spread)]
  ];
}

function segmentDistance(
  px: number,
  py: number,
  ax: number,
  ay: number,
  bx: number,
  by: number
): number {
  const dx = bx - ax;
  const dy = by - ay;
  if (dx === 0 && dy === 0) {
    return Math.hypot(px - ax, py - ay);
  }
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

function polylineDistance(x: number, y: number, points: readonly Point[]): number {
  if (points.length === 1) {
    return Math.hypot(x - points[0][0], y - points[0][1]);
  }
  let best = Infinity;
  for (let i = 0; i < points.length - 1; i++) {
    const [ax, ay] = points[i];
    const [bx, by] = points[i + 1];
    best = Math.min(best, segmentDistance(x, y, ax, ay, bx, by));
  }
  return best;
}

/** Whether a click at (x, y) touches the drawn object `op`. */
export function hits(op: VisibleObject, x: number, y: number): boolean {
  switch (op.type) {
    case 'stroke':
      return polylineDistance(x, y, op.points) <= op.width / 2 + HIT_SLOP;
    case 'shape': {
      const { x1, y1, x2, y2 } = op;
      const slop = op.width / 2 + HIT_SLOP;
      if (op.shape === 'line' || op.shape === 'arrow') {
        return segmentDistance(x, y, x1, y1, x2, y2) <= slop;
      }
      const left = Math.min(x1, x2);
      const right = Math.max(x1, x2);
      const top = Math.min(y1, y2);
      const bottom = Math.max(y1, y2);
      if (op.shape === 'rect') {
        const inside =
          left - slop <= x && x <= right + slop && top - slop <= y && y <= bottom + slop;
        if (op.fill) {
          return inside;
        }
        const nearEdge =
          Math.min(Math.abs(x - left), Math.abs(x - right), Math.abs(y - top), Math.abs(y - bottom)) <=
          slop;
        return inside && nearEdge;
      }
      const rx = Math.max((right - left) / 2, 1e-6);
      const ry = Math.max((bottom - top) / 2, 1e-6);
      const cx = left + rx;
      const cy = top + ry;
      const r = Math.hypot((x - cx) / rx, (y - cy) / ry);
      const tolerance = slop / Math.min(rx, ry);
      return op.fill ? r <= 1 + tolerance : Math.abs(r - 1) <= tolerance;
    }
    case 'text': {
      // Python's len() counts code points; so does spreading the string.
      const width = 0.6 * op.size * [...op.text].length;
      return op.x <= x && x <= op.x + width && op.y - op.size <= y && y <= op.y + 0.3 * op.size;
    }
    case 'image':
      return op.x <= x && x <= op.x + op.w && op.y <= y && y <= op.y + op.h;
  }
  return false;
}

/** The object drawn last among those a click at (x, y) touches. */
export function topmostHit(
  objects: readonly VisibleObject[],
  x: number,
  y: number
): VisibleObject | null {
  for (let i = objects.length - 1; i >= 0; i--) {
    if (hits(objects[i], x, y)) {
      return objects[i];
    }
  }
  return null;
}

/**
 * Simulcast through the SFU, the pure part: the two layers a browser publishes, which layer
 * each tile takes (`rtc:layer`, docs/protocol.md "SFU") and when a weak reception drops a
 * tile to the low layer by itself. sfu.ts sends what this decides; video-surface.ts says how
 * large each tile is.
 *
 * A tile takes the layer its size needs: the lecture layout's large tile (the host's) and a
 * grid of a few tiles take `high`; the lecture strip and a grid of many take `low` (a quarter
 * of the width, a fraction of the bytes). A watcher whose received video loses packets badly
 * or freezes takes `low` of that publisher for a while, whatever the tile.
 */
import { TileRole } from './lecture';

/** The layers a watcher may take of a publisher's video (`rtc:layer`'s `layer`). */
export type Layer = 'high' | 'low';

/**
 * What a browser publishes through the SFU: the full picture (`h`) and a quarter of its width
 * (`l`). Chromium sends two layers from 640x360 up (fewer for smaller captures), VP8, which
 * the room's VideoRoom uses; Janus forwards each watcher the layer it asked for.
 */
export const SIMULCAST_ENCODINGS: ReadonlyArray<RTCRtpEncodingParameters> = Object.freeze([
  { rid: 'h', active: true },
  { rid: 'l', active: true, scaleResolutionDownBy: 4, maxBitrate: 150_000 }
]);

/** Up to this many remote tiles in the grid each is large enough to want the full layer. */
export const GRID_HIGH_MAX = 4;

/** The layer a tile of `role` takes, with `gridTiles` remote tiles showing. */
export function tileLayer(role: TileRole, gridTiles: number): Layer {
  if (role === 'main') {
    return 'high';
  }
  if (role === 'strip') {
    return 'low';
  }
  return gridTiles <= GRID_HIGH_MAX ? 'high' : 'low';
}

/** A subscription's received video at one time (from getStats' inbound-rtp). */
export interface ReceptionSample {
  /** ms */
  at: number;
  packetsReceived: number;
  packetsLost: number;
  framesDecoded: number;
}

/** More lost packets than this share of those sent over a look: the reception is weak. */
export const LOSS_LIMIT = 0.1;
/** Packets arriving and no frame decoded for this long (ms): the video froze. */
export const FREEZE_MS = 2000;
/** How long (ms) a weak reception keeps a publisher on the low layer after it was seen. */
export const WEAK_HOLD_MS = 30_000;
/** How often (ms) a page looks at its received video. */
export const WATCH_INTERVAL_MS = 2000;

/** The received video inside a getStats report, if any. */
export function readReception(report: RTCStatsReport | Iterable<[string, unknown]>, at: number): ReceptionSample | null {
  for (const [, raw] of report as Iterable<[string, unknown]>) {
    const stats = raw as Record<string, unknown>;
    if (stats.type === 'inbound-rtp' && (stats.kind ?? stats.mediaType) === 'video') {
      return {
        at,
        packetsReceived: Number(stats.packetsReceived ?? 0),
        packetsLost: Number(stats.packetsLost ?? 0),
        framesDecoded: Number(stats.framesDecoded ?? 0)
      };
    }
  }
  return null;
}

/** Whether the reception between two samples was weak: heavy loss, or a freeze. */
export function receptionWeak(before: ReceptionSample, after: ReceptionSample): boolean {
  const received = after.packetsReceived - before.packetsReceived;
  const lost = Math.max(0, after.packetsLost - before.packetsLost);
  if (received + lost > 0 && lost / (received + lost) > LOSS_LIMIT) {
    return true;
  }
  // packets come and nothing decodes (a publisher that stops sending is no freeze of ours)
  return after.at - before.at >= FREEZE_MS && received > 0 && after.framesDecoded === before.framesDecoded;
}

/** Which layer of each publisher this page takes: its tile's, unless the reception was weak. */
export class LayerChooser {
  constructor(private _now: () => number = Date.now) {}

  /** The layer `memberId`'s tile wants (its size). */
  setTile(memberId: string, layer: Layer): void {
    this._tiles.set(memberId, layer);
  }

  /** A new sample of `memberId`'s received video; whether it showed a weak reception. */
  sample(memberId: string, sample: ReceptionSample): boolean {
    const before = this._samples.get(memberId);
    this._samples.set(memberId, sample);
    if (before && sample.at > before.at && receptionWeak(before, sample)) {
      this._weakUntil.set(memberId, this._now() + WEAK_HOLD_MS);
      return true;
    }
    return false;
  }

  /** Whether `memberId`'s reception was weak lately (its video held on the low layer). */
  weak(memberId: string): boolean {
    return this._now() < (this._weakUntil.get(memberId) ?? 0);
  }

  /** The layer to take of `memberId` now. */
  layer(memberId: string): Layer {
    return this.weak(memberId) ? 'low' : (this._tiles.get(memberId) ?? 'high');
  }

  /** A new subscription starts from fresh samples; a member gone is forgotten. */
  restart(memberId: string): void {
    this._samples.delete(memberId);
  }

  forget(memberId: string): void {
    this._tiles.delete(memberId);
    this._samples.delete(memberId);
    this._weakUntil.delete(memberId);
  }

  private _tiles = new Map<string, Layer>();
  private _samples = new Map<string, ReceptionSample>();
  private _weakUntil = new Map<string, number>();
}

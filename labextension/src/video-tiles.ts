/**
 * The remote members' tiles of a video view (video-surface.ts): one `.jc-video-tile` per member
 * in the view's grid, playing the tracks its transport delivers, marked with what the member
 * said of its microphone and camera (`rtc:media`), placed as the room's lecture policy says
 * (lecture.ts) and, through the SFU, taking the simulcast layer its size needs (simulcast.ts).
 *
 * DOM hooks: `.jc-video-tile[data-member-id][data-state][data-audio][data-video]
 * [data-lecture-role][data-layer][data-has-video][data-muted][data-reception]`, and
 * `.jc-video-weak` (shown while the tile's video comes weak and on the low layer).
 */
import { Policy, tileRole, tileShown } from './lecture';
import { SfuVideo } from './sfu';
import { tileLayer } from './simulcast';

/** What a member said of its microphone and camera. */
export interface RemoteMedia {
  audio: boolean;
  video: boolean;
}

/** Where the tiles go: the room's host and policy, as the view last heard them. */
export interface TileLayout {
  hostId: string;
  policy: Policy;
}

interface Tile {
  el: HTMLDivElement;
  video: HTMLVideoElement;
  weakMark: HTMLDivElement;
  stream: MediaStream | null;
}

export class RemoteTiles {
  /**
   * `grid` holds the tiles (after the view's own); `layout` says where they go; `onMutedPlay`
   * runs when autoplay with sound was refused and a tile plays muted until clicked.
   */
  constructor(
    private readonly _grid: HTMLElement,
    private readonly _layout: () => TileLayout,
    private readonly _onMutedPlay: () => void
  ) {}

  /** The SFU transport whose layers the tiles choose (null in a mesh). */
  set sfu(sfu: SfuVideo | null) {
    this._sfu = sfu;
    this._chooseLayers();
  }

  get size(): number {
    return this._tiles.size;
  }

  add(remoteId: string, name: string): void {
    if (this._tiles.has(remoteId)) {
      return;
    }
    const el = document.createElement('div');
    el.className = 'jc-video-box jc-video-tile';
    el.dataset.memberId = remoteId;
    el.dataset.state = 'new';
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    const label = document.createElement('div');
    label.className = 'jc-video-name';
    label.textContent = name;
    const weakMark = document.createElement('div');
    weakMark.className = 'jc-video-weak';
    weakMark.textContent = 'Weak connection';
    weakMark.title = `${name}'s video reaches you badly: it comes in lower quality for a while`;
    weakMark.hidden = true;
    el.append(video, label, weakMark);
    this._tiles.set(remoteId, { el, video, weakMark, stream: null });
    this._place(remoteId, el);
    this._showMedia(remoteId);
    // Clicking a tile resumes playback blocked by the autoplay policy.
    el.addEventListener('click', () => {
      video.muted = false;
      void video.play().catch(() => undefined);
    });
    this._grid.append(el);
    this._chooseLayers();
  }

  remove(remoteId: string): void {
    const tile = this._tiles.get(remoteId);
    if (!tile) {
      return;
    }
    tile.video.srcObject = null;
    tile.el.remove();
    this._tiles.delete(remoteId);
    this._chooseLayers();
  }

  /** Every tile goes (what members said of their media stays, unless `forgetMedia`). */
  clear(forgetMedia = false): void {
    for (const id of Array.from(this._tiles.keys())) {
      this.remove(id);
    }
    if (forgetMedia) {
      this._media.clear();
    }
  }

  /** The state of the connection a member's media comes on (`data-state`). */
  setState(remoteId: string, state: RTCPeerConnectionState): void {
    const tile = this._tiles.get(remoteId);
    if (tile) {
      tile.el.dataset.state = state;
    }
  }

  /** Whether `remoteId`'s video reaches us weak (`data-reception`, and a mark on the tile). */
  setReception(remoteId: string, weak: boolean): void {
    const tile = this._tiles.get(remoteId);
    if (tile) {
      tile.el.dataset.reception = weak ? 'weak' : 'good';
      tile.weakMark.hidden = !weak;
    }
  }

  /** What `remoteId` said of its microphone and camera (`rtc:media`), kept for its tile. */
  setMedia(remoteId: string, media: RemoteMedia): void {
    this._media.set(remoteId, media);
    this._showMedia(remoteId);
  }

  /** A track of `remoteId`'s arrived: its tile plays it (in place of one of the same kind). */
  addTrack(remoteId: string, track: MediaStreamTrack): void {
    const tile = this._tiles.get(remoteId);
    if (!tile) {
      return;
    }
    if (!tile.stream) {
      tile.stream = new MediaStream();
      tile.video.srcObject = tile.stream;
    }
    const stream = tile.stream;
    for (const old of stream.getTracks()) {
      if (old.kind === track.kind && old !== track) {
        stream.removeTrack(old);
      }
    }
    if (!stream.getTracks().includes(track)) {
      stream.addTrack(track);
    }
    track.addEventListener('ended', () => stream.removeTrack(track));
    tile.el.dataset.hasVideo = String(stream.getVideoTracks().length > 0);
    tile.video.play().catch(() => {
      // Autoplay with sound was refused: play muted, unmute on click.
      tile.video.muted = true;
      tile.el.dataset.muted = 'true';
      void tile.video.play().catch(() => undefined);
      this._onMutedPlay();
    });
  }

  /** The layout changed (policy, host): every tile's place and layer again. */
  placeAll(): void {
    this._tiles.forEach((tile, id) => this._place(id, tile.el));
    this._chooseLayers();
  }

  /** A tile's place in the layout; gone while its member may not publish. */
  private _place(memberId: string, el: HTMLElement): void {
    const { hostId, policy } = this._layout();
    el.dataset.lectureRole = tileRole(memberId, hostId, policy);
    el.hidden = !tileShown(memberId, hostId, policy);
  }

  /**
   * Through the SFU each tile takes the simulcast layer its size needs: the lecture's large
   * tile and a grid of a few the full one, the strip and a grid of many the low one.
   */
  private _chooseLayers(): void {
    const sfu = this._sfu;
    if (!sfu) {
      return;
    }
    const { hostId, policy } = this._layout();
    const showing = Array.from(this._tiles.values()).filter(tile => !tile.el.hidden).length;
    this._tiles.forEach((tile, id) => {
      const layer = tileLayer(tileRole(id, hostId, policy), showing);
      tile.el.dataset.layer = layer;
      sfu.setTileLayer(id, layer);
    });
  }

  /** Mark a tile with what its member said of their microphone and camera (`rtc:media`). */
  private _showMedia(remoteId: string): void {
    const tile = this._tiles.get(remoteId);
    const state = this._media.get(remoteId);
    if (tile && state) {
      tile.el.dataset.audio = state.audio ? 'on' : 'off';
      tile.el.dataset.video = state.video ? 'on' : 'off';
    }
  }

  private _tiles = new Map<string, Tile>();
  private _media = new Map<string, RemoteMedia>();
  private _sfu: SfuVideo | null = null;
}

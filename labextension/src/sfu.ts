/**
 * Video through the room server's SFU (Janus): the camera goes up once, on one
 * RTCPeerConnection (`rtc:publish`), and each other publisher comes down on a
 * connection of its own (`rtc:subscribe` → Janus's offer → our answer in
 * `rtc:subscribe_answer`). The browser never talks to Janus: every SDP goes
 * through the classroom socket (docs/protocol.md, "SFU"; docs/sfu.md).
 *
 * Like the {@link Mesh} it stands in for, it knows neither socket.io nor the
 * DOM: the view gives it a `request` function and room events, and draws
 * tiles from the same signals (`peerAdded`, `trackAdded`, ...).
 *
 * SDPs carry their ICE candidates (the SFU events have no trickle), so every
 * local description is sent once gathering is complete.
 *
 * Simulcast (simulcast.ts): given `simulcast` encodings, the camera goes up in two layers,
 * and each subscription takes the layer its tile wants (`setTileLayer`, `rtc:layer`), or
 * the low one for a while when `watchReception` sees its video lose packets or freeze.
 */
import { Emitter } from './emitter';
import { MemberLike, PeerEvent } from './mesh';
import {
  ConnectionStateEvent,
  NegotiationErrorEvent,
  PeerConnectionFactory,
  RemoteTrackEvent
} from './negotiation';
import { Layer, LayerChooser, WATCH_INTERVAL_MS, readReception } from './simulcast';

/** How long to wait for ICE gathering before sending what was gathered. */
export const GATHER_TIMEOUT_MS = 3000;

export type SfuRequest = (event: string, payload: Record<string, unknown>) => Promise<Record<string, unknown>>;

export interface SfuOptions {
  roomId: string;
  localId: string;
  createPeerConnection: PeerConnectionFactory;
  /** Sends a request on the classroom socket; resolves with the ack, rejects on a refusal. */
  request: SfuRequest;
  gatherTimeoutMs?: number;
  /** The encodings to publish the camera in (simulcast.ts's SIMULCAST_ENCODINGS); else one. */
  simulcast?: ReadonlyArray<RTCRtpEncodingParameters>;
  /** Look at the received video every WATCH_INTERVAL_MS and take `low` of a weak one. */
  watchReception?: boolean;
  /** The clock of the layer choice (tests). */
  now?: () => number;
}

/** `rtc:publishers` as the room hears it. */
export interface PublishersEvent {
  room_id?: string;
  publishers: string[];
  reset?: boolean;
}

/** A refusal's code (`not_found`, ...), when the error carries one. */
function errorCode(err: unknown): string {
  return String((err as { code?: unknown } | null)?.code ?? '');
}

/**
 * Resolves once `pc` has gathered its candidates (or after `timeoutMs`): the
 * end of gathering is the null candidate, which browsers (and our fakes) send.
 */
export function gathered(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') {
    return Promise.resolve();
  }
  return new Promise(resolve => {
    const previous = pc.onicecandidate;
    const done = (): void => {
      clearTimeout(timer);
      pc.onicecandidate = previous;
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.onicecandidate = ev => {
      if (!ev.candidate) {
        done();
      }
    };
  });
}

interface Subscription {
  pc: RTCPeerConnection | null;
  closed: boolean;
  /** Janus has our answer: `rtc:layer` may go. */
  answered: boolean;
  /** The layer Janus forwards us (its default: the highest). */
  layer: Layer;
}

export class SfuVideo {
  readonly roomId: string;
  readonly localId: string;
  /** A member's tile is due (every member present, publishing or not). */
  readonly peerAdded = new Emitter<PeerEvent>();
  readonly peerRemoved = new Emitter<{ remoteId: string; byRemote: boolean }>();
  readonly trackAdded = new Emitter<RemoteTrackEvent>();
  readonly connectionStateChanged = new Emitter<ConnectionStateEvent>();
  readonly errorOccurred = new Emitter<NegotiationErrorEvent>();
  /** A publisher's video came weak (held on the low layer) or is well again. */
  readonly receptionChanged = new Emitter<{ remoteId: string; weak: boolean }>();

  constructor(options: SfuOptions) {
    this.roomId = options.roomId;
    this.localId = options.localId;
    this._factory = options.createPeerConnection;
    this._request = options.request;
    this._gatherTimeoutMs = options.gatherTimeoutMs ?? GATHER_TIMEOUT_MS;
    this._simulcast = options.simulcast ?? null;
    this._now = options.now ?? Date.now;
    this._layers = new LayerChooser(this._now);
    if (options.watchReception) {
      this._watchTimer = setInterval(() => void this.watchReception(), WATCH_INTERVAL_MS);
    }
  }

  get isPublishing(): boolean {
    return this._stream !== null;
  }

  /** The members we watch now (a subscription made or under way). */
  get watching(): string[] {
    return Array.from(this._subs.keys());
  }

  /** The connection our camera goes up on, if any (for tests and stats). */
  get sending(): RTCPeerConnection | null {
    return this._pub;
  }

  subscription(memberId: string): RTCPeerConnection | null {
    return this._subs.get(memberId)?.pc ?? null;
  }

  /** The layer of `memberId`'s video Janus was asked to forward us (null: not watched). */
  layerOf(memberId: string): Layer | null {
    return this._subs.get(memberId)?.layer ?? null;
  }

  // --- simulcast layers ------------------------------------------------------------

  /** The layer `memberId`'s tile wants (its size); sent when it changes what we take. */
  setTileLayer(memberId: string, layer: Layer): void {
    this._layers.setTile(memberId, layer);
    this._applyLayer(memberId);
  }

  /** One look at each subscription's received video: a weak one takes the low layer. */
  async watchReception(): Promise<void> {
    for (const [memberId, sub] of Array.from(this._subs)) {
      if (!sub.answered || !sub.pc || sub.closed) {
        continue;
      }
      try {
        const sample = readReception(await sub.pc.getStats(), this._now());
        if (sample && !sub.closed) {
          this._layers.sample(memberId, sample);
        }
      } catch {
        // (closed meanwhile: _applyLayer sees it)
      }
      this._showReception(memberId);
      this._applyLayer(memberId); // also when a weak spell ended, or a request was refused
    }
  }

  private _showReception(memberId: string): void {
    const weak = this._layers.weak(memberId);
    if (weak !== this._weak.has(memberId)) {
      if (weak) {
        this._weak.add(memberId);
      } else {
        this._weak.delete(memberId);
      }
      this.receptionChanged.emit({ remoteId: memberId, weak });
    }
  }

  private _applyLayer(memberId: string): void {
    const sub = this._subs.get(memberId);
    const layer = this._layers.layer(memberId);
    if (!sub || !sub.answered || sub.closed || this._disposed || sub.layer === layer) {
      return;
    }
    const before = sub.layer;
    sub.layer = layer;
    this._request('rtc:layer', { room_id: this.roomId, publisher: memberId, layer }).catch(error => {
      if (sub.layer === layer) {
        sub.layer = before; // Janus forwards what it did: the next look asks again
      }
      // not_found: the subscription ended meanwhile (the next one asks again)
      if (errorCode(error) !== 'not_found' && !sub.closed) {
        this._error(memberId, error, 'rtc:layer');
      }
    });
  }

  // --- members (tiles) ---------------------------------------------------------

  addMember(member: MemberLike): void {
    if (this._disposed || member.id === this.localId || this._members.has(member.id)) {
      return;
    }
    this._members.set(member.id, member);
    this.peerAdded.emit({ remoteId: member.id, member });
  }

  removeMember(remoteId: string): void {
    if (!this._members.delete(remoteId)) {
      return;
    }
    this._closeSubscription(remoteId);
    this._layers.forget(remoteId);
    this._weak.delete(remoteId);
    this.peerRemoved.emit({ remoteId, byRemote: true });
  }

  syncMembers(members: ReadonlyArray<MemberLike>): void {
    const wanted = new Set(members.map(m => m.id));
    for (const id of Array.from(this._members.keys())) {
      if (!wanted.has(id)) {
        this.removeMember(id);
      }
    }
    members.forEach(m => this.addMember(m));
  }

  // --- publishers ----------------------------------------------------------------

  /** Asks who publishes now (a member arriving after the announcements). */
  async start(): Promise<void> {
    try {
      const ack = await this._request('rtc:publishers', { room_id: this.roomId });
      const publishers = Array.isArray(ack.publishers) ? (ack.publishers as string[]) : [];
      await this.handlePublishers({ publishers });
    } catch (error) {
      this._error(this.localId, error, 'rtc:publishers');
    }
  }

  /**
   * Follows `rtc:publishers`: watch the new publishers, drop those gone. After
   * `reset` (Janus restarted and lost every stream) publish again.
   * One change at a time, in the order heard.
   */
  handlePublishers(ev: PublishersEvent): Promise<void> {
    const publishers = (ev.publishers ?? []).filter(id => typeof id === 'string');
    const next = this._following.then(() => this._follow(publishers, ev.reset === true));
    this._following = next.catch(() => undefined);
    return next;
  }

  private async _follow(publishers: string[], reset: boolean): Promise<void> {
    if (this._disposed) {
      return;
    }
    if (reset) {
      for (const id of this.watching) {
        this._closeSubscription(id);
      }
      if (this._stream) {
        await this._publish(); // the room announces it again once its media reaches Janus
      }
    }
    const listed = new Set(publishers);
    for (const id of this.watching) {
      if (!listed.has(id)) {
        this._closeSubscription(id);
      }
    }
    const jobs = publishers
      .filter(id => id !== this.localId && !this._subs.has(id))
      .map(id => this._subscribe(id));
    await Promise.all(jobs);
  }

  private async _subscribe(memberId: string): Promise<void> {
    const sub: Subscription = { pc: null, closed: false, answered: false, layer: 'high' };
    this._layers.restart(memberId);
    this._subs.set(memberId, sub);
    try {
      const ack = await this._request('rtc:subscribe', { room_id: this.roomId, member_id: memberId });
      if (sub.closed || this._disposed) {
        return;
      }
      const pc = (sub.pc = this._factory());
      pc.ontrack = ev =>
        !sub.closed && this.trackAdded.emit({ remoteId: memberId, track: ev.track, streams: ev.streams ?? [] });
      pc.onconnectionstatechange = () =>
        !sub.closed && this.connectionStateChanged.emit({ remoteId: memberId, state: pc.connectionState });
      await pc.setRemoteDescription({ type: 'offer', sdp: String(ack.sdp ?? '') });
      const done = gathered(pc, this._gatherTimeoutMs);
      await pc.setLocalDescription();
      await done;
      if (sub.closed || this._disposed) {
        return;
      }
      await this._request('rtc:subscribe_answer', {
        room_id: this.roomId,
        member_id: memberId,
        sdp: pc.localDescription?.sdp ?? ''
      });
      sub.answered = true;
      this._applyLayer(memberId); // Janus starts on the highest layer
    } catch (error) {
      if (this._subs.get(memberId) === sub) {
        this._closeSubscription(memberId);
      }
      // not_found: it stopped publishing meanwhile (rtc:publishers says so next)
      if (errorCode(error) !== 'not_found' && !sub.closed) {
        this._error(memberId, error, 'rtc:subscribe');
      }
    }
  }

  private _closeSubscription(memberId: string): void {
    const sub = this._subs.get(memberId);
    if (!sub) {
      return;
    }
    this._subs.delete(memberId);
    sub.closed = true;
    sub.pc?.close();
  }

  // --- our camera ------------------------------------------------------------------

  /** Sends `stream` through the SFU (replacing what was sent). */
  publish(stream: MediaStream): void {
    if (this._disposed) {
      return;
    }
    this._stream = stream;
    void this._publish();
  }

  /** Screen share and back: the new video on the same connection, else publish again. */
  async setVideoTrack(track: MediaStreamTrack | null): Promise<void> {
    if (!this._stream) {
      return;
    }
    for (const old of this._stream.getVideoTracks()) {
      this._stream.removeTrack(old);
    }
    if (track) {
      this._stream.addTrack(track);
    }
    const sender = this._senders.get('video');
    if (sender) {
      await sender.replaceTrack(track);
    } else if (track) {
      await this._publish();
    }
  }

  private async _publish(): Promise<void> {
    const stream = this._stream;
    if (!stream || this._disposed) {
      return;
    }
    const generation = ++this._pubGeneration;
    this._pub?.close();
    this._senders.clear();
    const pc = (this._pub = this._factory());
    try {
      for (const track of stream.getTracks()) {
        this._senders.set(track.kind, this._addTrack(pc, track, stream));
      }
      const done = gathered(pc, this._gatherTimeoutMs);
      await pc.setLocalDescription();
      await done;
      if (generation !== this._pubGeneration || this._disposed) {
        return;
      }
      const ack = await this._request('rtc:publish', {
        room_id: this.roomId,
        sdp: pc.localDescription?.sdp ?? ''
      });
      if (generation !== this._pubGeneration || this._disposed) {
        return;
      }
      await pc.setRemoteDescription({ type: 'answer', sdp: String(ack.sdp ?? '') });
    } catch (error) {
      if (generation === this._pubGeneration && !this._disposed) {
        this._error(this.localId, error, 'rtc:publish');
      }
    }
  }

  /** The camera in the simulcast layers (where the browser has transceivers), else as it is. */
  private _addTrack(pc: RTCPeerConnection, track: MediaStreamTrack, stream: MediaStream): RTCRtpSender {
    if (track.kind === 'video' && this._simulcast && typeof RTCRtpTransceiver !== 'undefined') {
      const sendEncodings = this._simulcast.map(encoding => ({ ...encoding }));
      return pc.addTransceiver(track, { direction: 'sendonly', streams: [stream], sendEncodings }).sender;
    }
    return pc.addTrack(track, stream);
  }

  /** Closes every connection; tells the room we stopped sending. Unusable after. */
  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    clearInterval(this._watchTimer);
    for (const id of this.watching) {
      this._closeSubscription(id);
    }
    if (this._pub) {
      this._pub.close();
      this._pub = null;
      void this._request('rtc:unpublish', { room_id: this.roomId }).catch(() => undefined);
    }
    for (const id of Array.from(this._members.keys())) {
      this.peerRemoved.emit({ remoteId: id, byRemote: false });
    }
    this._members.clear();
    this._stream = null;
    this.peerAdded.clear();
    this.peerRemoved.clear();
    this.trackAdded.clear();
    this.connectionStateChanged.clear();
    this.errorOccurred.clear();
    this.receptionChanged.clear();
  }

  private _error(remoteId: string, error: unknown, context: string): void {
    this.errorOccurred.emit({ remoteId, error, context });
  }

  private _factory: PeerConnectionFactory;
  private _request: SfuRequest;
  private _gatherTimeoutMs: number;
  private _simulcast: ReadonlyArray<RTCRtpEncodingParameters> | null;
  private _layers: LayerChooser;
  private _now: () => number;
  private _watchTimer: ReturnType<typeof setInterval> | undefined = undefined;
  private _members = new Map<string, MemberLike>();
  private _subs = new Map<string, Subscription>();
  private _weak = new Set<string>(); // publishers whose video came weak (receptionChanged)
  private _pub: RTCPeerConnection | null = null;
  private _pubGeneration = 0;
  private _senders = new Map<string, RTCRtpSender>();
  private _stream: MediaStream | null = null;
  private _following: Promise<void> = Promise.resolve();
  private _disposed = false;
}

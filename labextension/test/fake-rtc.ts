/**
 * Fake WebRTC objects for unit tests under Node (no browser).
 *
 * FakePeerConnection models what perfect negotiation depends on:
 * - signalingState transitions stable / have-local-offer / have-remote-offer
 *   / closed, with InvalidStateError for out-of-state calls;
 * - setLocalDescription() without arguments creating an offer or an answer
 *   from the current state, and `{type: "rollback"}`;
 * - NO implicit rollback: setRemoteDescription(offer) in have-local-offer
 *   throws, so a polite peer must roll back explicitly;
 * - negotiationneeded fired asynchronously, only in stable, and re-checked on
 *   every return to stable;
 * - trickle ICE: candidates are gathered after the first setLocalDescription
 *   and carry the ufrag; addIceCandidate throws InvalidStateError without a
 *   remote description and OperationError for a foreign ufrag;
 * - ontrack for remote tracks listed in a remote description.
 * Every async operation yields to the event loop first, so calls interleave
 * as they do in a browser; one called on a closed connection rejects, one
 * pending when close() is called never settles (as the spec says).
 */

let nextId = 1;

export class DOMExceptionLike extends Error {
  constructor(message: string, name: string) {
    super(message);
    this.name = name;
  }
}

export class FakeTrack {
  enabled = true;
  readyState: 'live' | 'ended' = 'live';
  readonly id: string;
  private _listeners = new Map<string, Set<() => void>>();
  constructor(
    readonly kind: 'audio' | 'video',
    id?: string
  ) {
    this.id = id ?? `${kind}-${nextId++}`;
  }
  addEventListener(type: string, cb: () => void): void {
    if (!this._listeners.has(type)) {
      this._listeners.set(type, new Set());
    }
    this._listeners.get(type)!.add(cb);
  }
  removeEventListener(type: string, cb: () => void): void {
    this._listeners.get(type)?.delete(cb);
  }
  /** stop() ends the track without an event, as in browsers. */
  stop(): void {
    this.readyState = 'ended';
  }
  /** What the browser does when the user ends a screen share. */
  endByUser(): void {
    this.readyState = 'ended';
    for (const cb of Array.from(this._listeners.get('ended') ?? [])) {
      cb();
    }
  }
}

export class FakeStream {
  readonly id = `stream-${nextId++}`;
  private _tracks: FakeTrack[];
  constructor(tracks: FakeTrack[] = []) {
    this._tracks = [...tracks];
  }
  getTracks(): FakeTrack[] {
    return [...this._tracks];
  }
  getAudioTracks(): FakeTrack[] {
    return this._tracks.filter(t => t.kind === 'audio');
  }
  getVideoTracks(): FakeTrack[] {
    return this._tracks.filter(t => t.kind === 'video');
  }
  addTrack(track: FakeTrack): void {
    if (!this._tracks.includes(track)) {
      this._tracks.push(track);
    }
  }
  removeTrack(track: FakeTrack): void {
    this._tracks = this._tracks.filter(t => t !== track);
  }
}

export class FakeSender {
  constructor(public track: FakeTrack | null) {}
  async replaceTrack(track: FakeTrack | null): Promise<void> {
    await tick();
    this.track = track;
  }
}

interface FakeSdp {
  /** Stands for the DTLS fingerprint: fixed for the life of a connection. */
  session: string;
  ufrag: string;
  streamId: string;
  tracks: { id: string; kind: string }[];
  kinds: string[];
}

type Desc = { type: RTCSdpType; sdp: string };

export function tick(): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, 0));
}

/** Never settles: what a browser does with an operation pending at close(). */
const NEVER = new Promise<never>(() => undefined);

export class FakePeerConnection {
  /** Emulate engines without parameterless setLocalDescription (see above). */
  static eagerSldType = false;

  readonly label: string;
  readonly ufrag: string;
  readonly streamId: string;
  signalingState: RTCSignalingState = 'stable';
  connectionState: RTCPeerConnectionState = 'new';
  iceConnectionState: RTCIceConnectionState = 'new';

  onnegotiationneeded: (() => void) | null = null;
  onicecandidate: ((ev: { candidate: RTCIceCandidateInit | null }) => void) | null = null;
  ontrack: ((ev: { track: FakeTrack; streams: { id: string }[] }) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  oniceconnectionstatechange: (() => void) | null = null;

  /** Every call, for assertions and debugging. */
  readonly log: string[] = [];
  readonly addedCandidates: RTCIceCandidateInit[] = [];
  readonly remoteTracks: FakeTrack[] = [];
  readonly senders: FakeSender[] = [];
  readonly recvTransceivers: string[] = [];
  negotiationNeededCount = 0;

  constructor(label?: string) {
    const id = nextId++;
    this.label = label ?? `pc${id}`;
    this.ufrag = `ufrag-${this.label}-${id}`;
    this.streamId = `remote-stream-${id}`;
  }

  get localDescription(): Desc | null {
    return this._pendingLocal ?? this._currentLocal;
  }

  get remoteDescription(): Desc | null {
    return this._pendingRemote ?? this._currentRemote;
  }

  addTrack(track: FakeTrack, _stream?: unknown): FakeSender {
    this._checkOpen('addTrack');
    const sender = new FakeSender(track);
    this.senders.push(sender);
    this._updateNegotiationNeeded();
    return sender;
  }

  addTransceiver(kind: string, _init?: unknown): void {
    this._checkOpen('addTransceiver');
    this.recvTransceivers.push(kind);
    this._updateNegotiationNeeded();
  }

  getSenders(): FakeSender[] {
    return [...this.senders];
  }

  setLocalDescription(desc?: { type: RTCSdpType | 'rollback' }): Promise<void> {
    this._pendingOps++;
    const op = this._setLocalDescriptionImpl(desc);
    void op.then(
      () => this._pendingOps--,
      () => this._pendingOps--
    );
    return op;
  }

  private async _setLocalDescriptionImpl(desc?: { type: RTCSdpType | 'rollback' }): Promise<void> {
    this._checkOpen('setLocalDescription');
    if (!desc && FakePeerConnection.eagerSldType) {
      // Like createOffer()/createAnswer() + setLocalDescription(d): the type
      // is fixed at call time, not when the operation runs.
      desc = { type: this.signalingState === 'have-remote-offer' ? 'answer' : 'offer' };
    }
    await tick();
    if (this.signalingState === 'closed') {
      return NEVER;
    }
    const state = this.signalingState;
    if (desc?.type === 'rollback') {
      this.log.push('sld:rollback');
      if (state === 'have-local-offer') {
        this._pendingLocal = null;
      } else if (state === 'have-remote-offer') {
        this._pendingRemote = null;
      } else {
        throw new DOMExceptionLike(`rollback in ${state}`, 'InvalidStateError');
      }
      this._setSignalingState('stable');
      return;
    }
    const type = desc?.type ?? (state === 'have-remote-offer' ? 'answer' : 'offer');
    this.log.push(`sld:${type}`);
    if (type === 'offer') {
      if (state !== 'stable' && state !== 'have-local-offer') {
        throw new DOMExceptionLike(`offer in ${state}`, 'InvalidStateError');
      }
      this._pendingLocal = { type: 'offer', sdp: this._makeSdp(null) };
      this._setSignalingState('have-local-offer');
    } else if (type === 'answer') {
      if (state !== 'have-remote-offer') {
        throw new DOMExceptionLike(`answer in ${state}`, 'InvalidStateError');
      }
      const offer = parseSdp(this._pendingRemote!.sdp);
      const answer = { type: 'answer' as RTCSdpType, sdp: this._makeSdp(offer.kinds) };
      this._markNegotiated(parseSdp(answer.sdp));
      this._currentLocal = answer;
      this._currentRemote = this._pendingRemote;
      this._pendingRemote = null;
      this._setSignalingState('stable');
    } else {
      throw new DOMExceptionLike(`unsupported ${type}`, 'InvalidStateError');
    }
    this._gather();
    this._maybeConnect();
  }

  setRemoteDescription(desc: Desc): Promise<void> {
    this._pendingOps++;
    const op = this._setRemoteDescriptionImpl(desc);
    void op.then(
      () => this._pendingOps--,
      () => this._pendingOps--
    );
    return op;
  }

  private async _setRemoteDescriptionImpl(desc: Desc): Promise<void> {
    this._checkOpen('setRemoteDescription');
    await tick();
    if (this.signalingState === 'closed') {
      return NEVER;
    }
    this.log.push(`srd:${desc.type}`);
    const sdp = parseSdp(desc.sdp);
    if (desc.type === 'offer') {
      if (this.signalingState !== 'stable') {
        throw new DOMExceptionLike(
          `remote offer in ${this.signalingState} (this fake has no implicit rollback)`,
          'InvalidStateError'
        );
      }
      if (this._currentRemote && parseSdp(this._currentRemote.sdp).session !== sdp.session) {
        throw new DOMExceptionLike('remote fingerprint changed', 'InvalidAccessError');
      }
      this._pendingRemote = { type: 'offer', sdp: desc.sdp };
      this._setSignalingState('have-remote-offer');
    } else if (desc.type === 'answer') {
      if (this.signalingState !== 'have-local-offer') {
        throw new DOMExceptionLike(`remote answer in ${this.signalingState}`, 'InvalidStateError');
      }
      this._markNegotiated(parseSdp(this._pendingLocal!.sdp));
      this._currentRemote = { type: 'answer', sdp: desc.sdp };
      this._currentLocal = this._pendingLocal;
      this._pendingLocal = null;
      this._setSignalingState('stable');
    } else {
      throw new DOMExceptionLike(`unsupported ${desc.type}`, 'InvalidStateError');
    }
    this._fireTracks(sdp);
    this._maybeConnect();
  }

  addIceCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    this._pendingOps++;
    const op = this._addIceCandidateImpl(candidate);
    void op.then(
      () => this._pendingOps--,
      () => this._pendingOps--
    );
    return op;
  }

  private async _addIceCandidateImpl(candidate: RTCIceCandidateInit): Promise<void> {
    this._checkOpen('addIceCandidate');
    await tick();
    if (this.signalingState === 'closed') {
      return NEVER;
    }
    const remote = this.remoteDescription;
    if (!remote) {
      throw new DOMExceptionLike('no remote description', 'InvalidStateError');
    }
    if (candidate.usernameFragment && candidate.usernameFragment !== parseSdp(remote.sdp).ufrag) {
      throw new DOMExceptionLike('candidate for another ICE generation', 'OperationError');
    }
    this.log.push('addIceCandidate');
    this.addedCandidates.push(candidate);
    this._maybeConnect();
  }

  /**
   * Nothing pending: no operation running, no negotiationneeded or ICE
   * gathering scheduled (operations that never settle after close() count as
   * done).
   */
  get idle(): boolean {
    return (
      (this._pendingOps === 0 || this.signalingState === 'closed') &&
      !this._nnQueued &&
      !this._gathering
    );
  }

  restartIce(): void {
    this.log.push('restartIce');
  }

  close(): void {
    if (this.signalingState === 'closed') {
      return;
    }
    this.log.push('close');
    this.signalingState = 'closed';
    this.connectionState = 'closed';
    this.iceConnectionState = 'closed';
  }

  private _checkOpen(op: string): void {
    if (this.signalingState === 'closed') {
      throw new DOMExceptionLike(`${op} on a closed connection`, 'InvalidStateError');
    }
  }

  private _setSignalingState(state: RTCSignalingState): void {
    this.signalingState = state;
    if (state === 'stable') {
      this._updateNegotiationNeeded();
    }
  }

  private _localKinds(): string[] {
    return [
      ...this.senders.filter(s => s.track).map(s => s.track!.kind),
      ...this.recvTransceivers
    ];
  }

  private _isNegotiationNeeded(): boolean {
    return (
      this.senders.some(s => s.track && !this._negotiated.has(s.track.id)) ||
      this.recvTransceivers.length > this._negotiatedRecv
    );
  }

  private _updateNegotiationNeeded(): void {
    if (this._nnQueued) {
      return;
    }
    this._nnQueued = true;
    setTimeout(() => {
      this._nnQueued = false;
      if (
        this.signalingState === 'stable' &&
        this._isNegotiationNeeded() &&
        this.onnegotiationneeded
      ) {
        this.negotiationNeededCount++;
        this.onnegotiationneeded();
      }
    }, 0);
  }

  /** An offer lists every local track; an answer those matching the offer's kinds. */
  private _makeSdp(offerKinds: string[] | null): string {
    let tracks = this.senders.filter(s => s.track).map(s => ({ id: s.track!.id, kind: s.track!.kind }));
    if (offerKinds) {
      const available = [...offerKinds];
      tracks = tracks.filter(t => {
        const i = available.indexOf(t.kind);
        if (i < 0) {
          return false;
        }
        available.splice(i, 1);
        return true;
      });
    }
    const sdp: FakeSdp = {
      session: this.streamId,
      ufrag: this.ufrag,
      streamId: this.streamId,
      tracks,
      kinds: offerKinds ? [...offerKinds] : this._localKinds()
    };
    return JSON.stringify(sdp);
  }

  private _markNegotiated(local: FakeSdp): void {
    for (const t of local.tracks) {
      this._negotiated.add(t.id);
    }
    this._negotiatedRecv = this.recvTransceivers.length;
  }

  private _fireTracks(remote: FakeSdp): void {
    for (const t of remote.tracks) {
      if (!this.remoteTracks.some(r => r.id === t.id)) {
        const track = new FakeTrack(t.kind as 'audio' | 'video', t.id);
        this.remoteTracks.push(track);
        this.ontrack?.({ track, streams: [{ id: remote.streamId }] });
      }
    }
  }

  private _gather(): void {
    if (this._gathered) {
      return;
    }
    this._gathered = true;
    this._gathering = true;
    setTimeout(() => {
      this._gathering = false;
      if (this.signalingState === 'closed') {
        return;
      }
      for (let i = 1; i <= 2; i++) {
        this.onicecandidate?.({
          candidate: {
            candidate: `candidate:${i} 1 udp 2122260223 10.0.0.${i} 5000${i} typ host`,
            sdpMid: '0',
            sdpMLineIndex: 0,
            usernameFragment: this.ufrag
          }
        });
      }
      this.onicecandidate?.({ candidate: null });
    }, 1);
  }

  private _maybeConnect(): void {
    if (
      this.connectionState !== 'connected' &&
      this.signalingState === 'stable' &&
      this._currentLocal &&
      this._currentRemote &&
      this.addedCandidates.length > 0
    ) {
      this.connectionState = 'connected';
      this.iceConnectionState = 'connected';
      this.onconnectionstatechange?.();
      this.oniceconnectionstatechange?.();
    }
  }

  private _pendingLocal: Desc | null = null;
  private _currentLocal: Desc | null = null;
  private _pendingRemote: Desc | null = null;
  private _currentRemote: Desc | null = null;
  private _negotiated = new Set<string>();
  private _negotiatedRecv = 0;
  private _nnQueued = false;
  private _gathered = false;
  private _gathering = false;
  private _pendingOps = 0;
}

function parseSdp(sdp: string): FakeSdp {
  return JSON.parse(sdp) as FakeSdp;
}

export function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/** Polls `cond` until true; rejects after `timeoutMs` with `what`. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(2);
  }
}

/**
 * One RTCPeerConnection towards one remote member, negotiated with the
 * "perfect negotiation" pattern (W3C WebRTC spec example, MDN "Perfect
 * negotiation").
 *
 * Both ends may start a negotiation at any time (adding a track, sharing a
 * screen, ICE restarts); when their offers cross ("glare") the *impolite* side
 * ignores the incoming offer and the *polite* side rolls its own offer back and
 * answers instead. Which side is polite is derived from the member ids, so the
 * two ends agree without talking about it.
 *
 * Nothing here touches the DOM or socket.io: the connection comes from an
 * injected factory and outgoing signals go through a `send` callback, so the
 * logic is unit-tested with fake peer connections.
 */
import { Emitter } from './emitter';

/** The `data` of an `rtc:signal` event (see protocol.md). */
export interface SignalData {
  type: 'offer' | 'answer' | 'candidate' | 'bye';
  sdp?: string;
  candidate?: RTCIceCandidateInit | null;
}

export type PeerConnectionFactory = () => RTCPeerConnection;

export interface NegotiatorOptions {
  /** The remote member's id. */
  remoteId: string;
  /** Polite peers give way on glare; see {@link isPolite}. */
  polite: boolean;
  /** Creates the peer connection (configured with the room's ICE servers). */
  createPeerConnection: PeerConnectionFactory;
  /** Sends signaling data to the remote member. */
  send: (data: SignalData) => void | Promise<unknown>;
}

export interface RemoteTrackEvent {
  remoteId: string;
  track: MediaStreamTrack;
  streams: ReadonlyArray<MediaStream>;
}

export interface ConnectionStateEvent {
  remoteId: string;
  state: RTCPeerConnectionState;
}

export interface NegotiationErrorEvent {
  remoteId: string;
  error: unknown;
  context: string;
}

/**
 * Whether the local side is the polite one: the member with the greater id
 * (plain string comparison, the same on every client) is polite.
 */
export function isPolite(localId: string, remoteId: string): boolean {
  return localId > remoteId;
}

function errorName(err: unknown): string {
  return (err as { name?: string } | null)?.name ?? '';
}

export class Negotiator {
  readonly remoteId: string;
  readonly polite: boolean;
  readonly pc: RTCPeerConnection;

  /** A remote track arrived. */
  readonly trackAdded = new Emitter<RemoteTrackEvent>();
  /** The connection state changed. */
  readonly connectionStateChanged = new Emitter<ConnectionStateEvent>();
  /** Negotiation failed in a way the pattern does not absorb. */
  readonly errorOccurred = new Emitter<NegotiationErrorEvent>();
  /** The negotiator was closed (locally, or by the remote's `bye`). */
  readonly closed = new Emitter<{ remoteId: string; byRemote: boolean }>();

  /** Offers ignored by the impolite side during glare (for tests, diagnostics). */
  ignoredOffers = 0;
  /** Local offers rolled back by the polite side during glare. */
  rollbacks = 0;

  /**
   * Settles when the negotiator closes. Browsers leave the promises of
   * operations pending at close() unsettled forever; callers that wait on
   * {@link handleSignal} race it against this.
   */
  readonly whenClosed: Promise<void>;

  constructor(options: NegotiatorOptions) {
    this.whenClosed = new Promise(resolve => (this._resolveClosed = resolve));
    this.remoteId = options.remoteId;
    this.polite = options.polite;
    this._send = options.send;
    this.pc = options.createPeerConnection();
    this.pc.onnegotiationneeded = () => void this._onNegotiationNeeded();
    this.pc.onicecandidate = ev => {
      // A null candidate marks the end of gathering; nothing to send.
      if (ev.candidate) {
        const candidate =
          typeof ev.candidate.toJSON === 'function'
            ? ev.candidate.toJSON()
            : (ev.candidate as RTCIceCandidateInit);
        this._emitSignal({ type: 'candidate', candidate });
      }
    };
    this.pc.ontrack = ev => {
      this.trackAdded.emit({
        remoteId: this.remoteId,
        track: ev.track,
        streams: ev.streams ?? []
      });
    };
    this.pc.onconnectionstatechange = () => {
      this.connectionStateChanged.emit({
        remoteId: this.remoteId,
        state: this.pc.connectionState
      });
    };
    this.pc.oniceconnectionstatechange = () => {
      // Recover from a failed ICE path (network change, TURN hiccup).
      if (this.pc.iceConnectionState === 'failed' && typeof this.pc.restartIce === 'function') {
        this.pc.restartIce();
      }
    };
  }

  get isClosed(): boolean {
    return this._closed;
  }

  /**
   * Handles signaling data from the remote member. Messages are processed
   * strictly in arrival order: a candidate must never overtake the offer it
   * belongs to.
   */
  handleSignal(data: SignalData): Promise<boolean> {
    const next = this._queue.then(() => this._process(data));
    this._queue = next.then(
      () => undefined,
      () => undefined
    );
    return next;
  }

  /** Sends `bye` to the remote member and tears the connection down. */
  close(): void {
    if (this._closed) {
      return;
    }
    this._emitSignal({ type: 'bye' });
    this._teardown(false);
  }

  /**
   * Tears down without a `bye`: used when the remote started a new session
   * (its page reloaded) and this connection is stale; a `bye` would close
   * the remote's new connection.
   */
  abandon(): void {
    this._teardown(false);
  }

  private async _onNegotiationNeeded(): Promise<void> {
    // While a remote offer is being applied (after an explicit rollback the
    // state is briefly stable) an offer of ours would race the answer; the
    // browser fires negotiationneeded again once back in stable if needed.
    if (this._closed || this._handlingRemoteOffer || this.pc.signalingState !== 'stable') {
      return;
    }
    try {
      this._makingOffer = true;
      // Without arguments this creates the right description for the state.
      await this.pc.setLocalDescription();
      this._sendLocalDescription();
    } catch (err) {
      this._reportError(err, 'negotiationneeded');
    } finally {
      this._makingOffer = false;
    }
  }

  /** Resolves to false when the signal could not be applied. */
  private async _process(data: SignalData): Promise<boolean> {
    if (this._closed) {
      return true;
    }
    try {
      switch (data.type) {
        case 'offer':
        case 'answer':
          await this._onDescription({ type: data.type, sdp: data.sdp ?? '' });
          break;
        case 'candidate':
          await this._onCandidate(data.candidate ?? null);
          break;
        case 'bye':
          this._teardown(true);
          break;
        default:
          this._reportError(new Error(`unknown signal type ${String((data as SignalData).type)}`), 'signal');
          return false;
      }
      return true;
    } catch (err) {
      this._reportError(err, `signal:${data.type}`);
      return false;
    }
  }

  private async _onDescription(description: RTCSessionDescriptionInit): Promise<void> {
    const pc = this.pc;
    const readyForOffer =
      !this._makingOffer && (pc.signalingState === 'stable' || this._settingRemoteAnswer);
    const offerCollision = description.type === 'offer' && !readyForOffer;

    this._ignoreOffer = !this.polite && offerCollision;
    if (this._ignoreOffer) {
      this.ignoredOffers++;
      return;
    }
    if (description.type === 'answer' && pc.signalingState !== 'have-local-offer') {
      // A stale answer (our offer was rolled back or already answered).
      return;
    }
    if (description.type === 'offer') {
      this._handlingRemoteOffer = true;
    }
    try {
      await this._applyDescription(description, offerCollision);
    } finally {
      this._handlingRemoteOffer = false;
    }
  }

  private async _applyDescription(
    description: RTCSessionDescriptionInit,
    offerCollision: boolean
  ): Promise<void> {
    const pc = this.pc;
    if (offerCollision) {
      // Polite side: give way. Explicit rollback works on every engine,
      // including those without implicit rollback in setRemoteDescription.
      this.rollbacks++;
      if (pc.signalingState === 'have-local-offer') {
        await pc.setLocalDescription({ type: 'rollback' });
      } else {
        // Our offer is still being created: wait for it, then roll it back.
        await this._waitUntilNotMakingOffer();
        if ((pc.signalingState as RTCSignalingState) === 'have-local-offer') {
          await pc.setLocalDescription({ type: 'rollback' });
        }
      }
    }

    this._settingRemoteAnswer = description.type === 'answer';
    try {
      await pc.setRemoteDescription(description);
    } finally {
      this._settingRemoteAnswer = false;
    }
    await this._flushCandidates();

    if (description.type === 'offer') {
      await pc.setLocalDescription();
      this._sendLocalDescription();
    }
  }

  private async _onCandidate(candidate: RTCIceCandidateInit | null): Promise<void> {
    if (!candidate) {
      return;
    }
    if (!this.pc.remoteDescription) {
      // Arrived before the description it belongs to: keep it for later.
      this._pendingCandidates.push(candidate);
      return;
    }
    await this._addCandidate(candidate);
  }

  private async _flushCandidates(): Promise<void> {
    const pending = this._pendingCandidates;
    this._pendingCandidates = [];
    for (const candidate of pending) {
      await this._addCandidate(candidate);
    }
  }

  private async _addCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (err) {
      // Candidates of an offer we ignored are expected to fail.
      if (!this._ignoreOffer) {
        this._reportError(err, 'addIceCandidate');
      }
    }
  }

  private _waitUntilNotMakingOffer(): Promise<void> {
    return new Promise(resolve => {
      const check = (): void => {
        if (!this._makingOffer || this._closed) {
          resolve();
        } else {
          setTimeout(check, 0);
        }
      };
      check();
    });
  }

  private _sendLocalDescription(): void {
    const desc = this.pc.localDescription;
    if (!desc || this._closed) {
      return;
    }
    if (desc.type === 'offer' || desc.type === 'answer') {
      this._emitSignal({ type: desc.type, sdp: desc.sdp });
    }
  }

  private _emitSignal(data: SignalData): void {
    try {
      const result = this._send(data);
      if (result && typeof (result as Promise<unknown>).catch === 'function') {
        (result as Promise<unknown>).catch(err => this._reportError(err, `send:${data.type}`));
      }
    } catch (err) {
      this._reportError(err, `send:${data.type}`);
    }
  }

  private _reportError(error: unknown, context: string): void {
    if (this._closed && errorName(error) === 'InvalidStateError') {
      return; // operations racing with close() fail harmlessly
    }
    this.errorOccurred.emit({ remoteId: this.remoteId, error, context });
  }

  private _teardown(byRemote: boolean): void {
    if (this._closed) {
      return;
    }
    this._closed = true;
    this._resolveClosed();
    this._pendingCandidates = [];
    const pc = this.pc;
    pc.onnegotiationneeded = null;
    pc.onicecandidate = null;
    pc.ontrack = null;
    pc.onconnectionstatechange = null;
    pc.oniceconnectionstatechange = null;
    try {
      pc.close();
    } catch {
      // already closed
    }
    this.connectionStateChanged.emit({ remoteId: this.remoteId, state: 'closed' });
    this.closed.emit({ remoteId: this.remoteId, byRemote });
    this.trackAdded.clear();
    this.connectionStateChanged.clear();
    this.errorOccurred.clear();
    this.closed.clear();
  }

  private _send: NegotiatorOptions['send'];
  private _queue: Promise<void> = Promise.resolve();
  private _makingOffer = false;
  private _ignoreOffer = false;
  private _settingRemoteAnswer = false;
  private _handlingRemoteOffer = false;
  private _resolveClosed: () => void = () => undefined;
  private _closed = false;
  private _pendingCandidates: RTCIceCandidateInit[] = [];
}

/**
 * The full mesh of peer connections of one attached video socket: one
 * {@link Negotiator} per remote member present in the room, plus the local
 * media every connection publishes.
 *
 * The mesh knows neither socket.io nor the DOM: the view feeds it room events
 * and incoming `rtc:signal` data, and it calls `send(to, data)` for outgoing
 * signals. That keeps membership bookkeeping unit-testable.
 */
import { Emitter } from './emitter';
import {
  ConnectionStateEvent,
  isPolite,
  Negotiator,
  NegotiationErrorEvent,
  PeerConnectionFactory,
  RemoteTrackEvent,
  SignalData
} from './negotiation';

/** Publishers allowed in one room when the server does not say. */
export const DEFAULT_MAX_PUBLISHERS = 6;

/**
 * Whether a newcomer may publish: every member present is counted as a
 * potential publisher, so the number of sending peers in a mesh never exceeds
 * the cap (upload cost grows with every publisher for every member).
 */
export function mayPublish(othersPresent: number, maxPublishers: number): boolean {
  return othersPresent + 1 <= Math.max(0, maxPublishers);
}

export interface MemberLike {
  id: string;
  name: string;
}

export interface MeshOptions {
  localId: string;
  createPeerConnection: PeerConnectionFactory;
  send: (to: string, data: SignalData) => void | Promise<unknown>;
}

export interface PeerEvent {
  remoteId: string;
  member: MemberLike;
}

export class Mesh {
  readonly localId: string;
  readonly peerAdded = new Emitter<PeerEvent>();
  readonly peerRemoved = new Emitter<{ remoteId: string; byRemote: boolean }>();
  readonly trackAdded = new Emitter<RemoteTrackEvent>();
  readonly connectionStateChanged = new Emitter<ConnectionStateEvent>();
  readonly errorOccurred = new Emitter<NegotiationErrorEvent>();

  constructor(options: MeshOptions) {
    this.localId = options.localId;
    this._factory = options.createPeerConnection;
    this._send = options.send;
  }

  /** Remote member ids with a live connection. */
  get peerIds(): string[] {
    return Array.from(this._peers.keys());
  }

  get isPublishing(): boolean {
    return this._stream !== null;
  }

  peer(remoteId: string): Negotiator | undefined {
    return this._peers.get(remoteId);
  }

  member(remoteId: string): MemberLike | undefined {
    return this._members.get(remoteId);
  }

  /** Adds a connection to `member` unless there is one (or it is us). */
  addMember(member: MemberLike): Negotiator | undefined {
    if (this._disposed || member.id === this.localId) {
      return undefined;
    }
    this._members.set(member.id, member);
    const existing = this._peers.get(member.id);
    if (existing) {
      return existing;
    }
    const negotiator = new Negotiator({
      remoteId: member.id,
      polite: isPolite(this.localId, member.id),
      createPeerConnection: this._factory,
      send: data => this._send(member.id, data)
    });
    negotiator.trackAdded.connect(ev => this.trackAdded.emit(ev));
    negotiator.connectionStateChanged.connect(ev => this.connectionStateChanged.emit(ev));
    negotiator.errorOccurred.connect(ev => this.errorOccurred.emit(ev));
    negotiator.closed.connect(({ byRemote }) => {
      if (this._peers.get(member.id) === negotiator) {
        this._peers.delete(member.id);
        this._senders.delete(member.id);
        this.peerRemoved.emit({ remoteId: member.id, byRemote });
      }
    });
    this._peers.set(member.id, negotiator);
    this.peerAdded.emit({ remoteId: member.id, member });
    this._attachMedia(negotiator);
    return negotiator;
  }

  /** Closes the connection to a member who left (sends `bye`). */
  removeMember(remoteId: string): void {
    this._members.delete(remoteId);
    this._peers.get(remoteId)?.close();
  }

  /** Makes the set of connections match `members` (after a re-attach). */
  syncMembers(members: ReadonlyArray<MemberLike>): void {
    const wanted = new Set(members.filter(m => m.id !== this.localId).map(m => m.id));
    for (const id of this.peerIds) {
      if (!wanted.has(id)) {
        this.removeMember(id);
      }
    }
    for (const member of members) {
      this.addMember(member);
    }
  }

  /**
   * Routes an incoming `rtc:signal`. An offer from a member we have no
   * connection to (it attached after our member snapshot, or re-attached
   * after a `bye`) creates the connection on demand; other signals for an
   * unknown member are dropped.
   */
  handleSignal(from: string, data: SignalData): Promise<void> {
    // Per member, strictly in order: the candidates following an offer must
    // reach the connection that offer ended up on.
    const previous = this._chains.get(from) ?? Promise.resolve();
    const next = previous.then(() => this._route(from, data));
    const settled = next.catch(() => undefined);
    this._chains.set(from, settled);
    void settled.then(() => {
      if (this._chains.get(from) === settled) {
        this._chains.delete(from);
      }
    });
    return next;
  }

  private async _route(from: string, data: SignalData): Promise<void> {
    if (this._disposed || from === this.localId) {
      return;
    }
    const member = this._members.get(from) ?? { id: from, name: from };
    let negotiator = this._peers.get(from);
    if (!negotiator) {
      // Only an offer starts a connection; anything else is a leftover of a
      // connection already closed.
      if (data.type !== 'offer') {
        return;
      }
      negotiator = this.addMember(member);
      if (!negotiator) {
        return;
      }
    }
    const ok = await Promise.race([
      negotiator.handleSignal(data),
      negotiator.whenClosed.then(() => true)
    ]);
    if (!ok && data.type === 'offer' && !negotiator.isClosed && !this._disposed) {
      // An offer our connection cannot apply comes from a new session of
      // that member (its page reloaded without a bye): start over with it.
      negotiator.abandon();
      const fresh = this.addMember(member);
      if (fresh) {
        await fresh.handleSignal(data);
      }
    }
  }

  /**
   * Starts publishing `stream` on every connection (and on later ones).
   * Tracks go through `addTrack`, which re-uses the receive-only transceivers
   * created while we were not publishing, then renegotiates.
   */
  publish(stream: MediaStream): void {
    if (this._disposed) {
      return;
    }
    this._stream = stream;
    for (const negotiator of this._peers.values()) {
      this._attachMedia(negotiator);
    }
  }

  /**
   * Replaces the outgoing video (screen share and back) without a
   * renegotiation where a video sender exists; adds one where none does.
   */
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
    const jobs: Promise<void>[] = [];
    for (const [id, negotiator] of this._peers) {
      const senders = this._senders.get(id) ?? new Map<string, RTCRtpSender>();
      this._senders.set(id, senders);
      const sender = senders.get('video');
      if (sender) {
        jobs.push(sender.replaceTrack(track));
      } else if (track) {
        senders.set('video', negotiator.pc.addTrack(track, this._stream));
      }
    }
    await Promise.all(jobs);
  }

  /** Closes every connection (sending `bye`); the mesh is unusable after. */
  dispose(): void {
    if (this._disposed) {
      return;
    }
    for (const negotiator of Array.from(this._peers.values())) {
      negotiator.close();
    }
    this._disposed = true;
    this._peers.clear();
    this._members.clear();
    this._senders.clear();
    this.peerAdded.clear();
    this.peerRemoved.clear();
    this.trackAdded.clear();
    this.connectionStateChanged.clear();
    this.errorOccurred.clear();
  }

  private _attachMedia(negotiator: Negotiator): void {
    const pc = negotiator.pc;
    const senders = this._senders.get(negotiator.remoteId) ?? new Map<string, RTCRtpSender>();
    this._senders.set(negotiator.remoteId, senders);
    if (this._stream) {
      for (const track of this._stream.getTracks()) {
        if (!senders.has(track.kind)) {
          senders.set(track.kind, pc.addTrack(track, this._stream));
        }
      }
    } else if (!this._receivers.has(negotiator)) {
      // Ask for the remote's media even when we send none, so a connection
      // is negotiated whichever side publishes.
      this._receivers.add(negotiator);
      if (typeof pc.addTransceiver === 'function') {
        pc.addTransceiver('audio', { direction: 'recvonly' });
        pc.addTransceiver('video', { direction: 'recvonly' });
      }
    }
  }

  private _factory: PeerConnectionFactory;
  private _send: MeshOptions['send'];
  private _peers = new Map<string, Negotiator>();
  private _members = new Map<string, MemberLike>();
  private _senders = new Map<string, Map<string, RTCRtpSender>>();
  private _receivers = new WeakSet<Negotiator>();
  private _chains = new Map<string, Promise<void>>();
  private _stream: MediaStream | null = null;
  private _disposed = false;
}

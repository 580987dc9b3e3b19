/**
 * The page's classroom socket: ONE Socket.IO connection per browser page, shared by every
 * classroom view on it (board now; chat, participants and video next).
 *
 * API (also in /work/notes/session-api.md):
 *
 *   const session = pageSession(socketPath);          // the page's session for that server
 *   const link = session.link(roomId, memberId, askKernel);  // shared per room, ref-counted
 *     // askKernel(): Promise<string> — a one-time `room:ticket` from the widget's kernel
 *   link.attached            // the last `room:attach` ack (AttachAck) or null
 *   link.members             // Map<member id, Member>, kept current
 *   link.state.value         // 'attaching' | 'attached' | 'detached' | 'ended'
 *   link.state.changed.connect(s => ...)
 *   link.onAttached.connect(ack => ...)   // every (re)attach, with the ack
 *   await link.request('board:op', {room_id, op})   // ack without `ok`; rejects RequestError
 *   link.emit('board:cursor', {room_id, x, y})      // no ack
 *   const off = link.on('board:ops', data => ...)   // events of this room only
 *   link.sinceProvider = () => lastSeq              // re-attach asks for a delta from here
 *   link.release()                                  // a view is done with it
 *   session.state.value      // 'connecting' | 'connected' | 'reconnecting'
 *
 * The socket connects with `auth.batch: true`, so board ops arrive as `board:ops` lists.
 * A link attaches with `room:attach {ticket, board: true}` using a ticket from the kernel
 * (through the widget comm). While attached it keeps a spare ticket, asked for on this very
 * socket with `room:ticket` and renewed before its ttl runs out, so a reconnect re-attaches
 * without the kernel (which may be busy running a cell for minutes).
 */
import type { Socket } from 'socket.io-client';

import { Emitter } from '../emitter';
import { openClassroomSocket, refusalMessage } from './connect';

import type { AttachedReply, BoardOp, Member, RoomInfo } from '../protocol.generated';

export type { AttachedReply, BoardOp, Member, RoomInfo };

/** The `room:attach {ticket, board: true}` ack (without `ok`). */
export type AttachAck = AttachedReply;

export type SessionState = 'connecting' | 'connected' | 'reconnecting';
export type LinkState = 'attaching' | 'attached' | 'detached' | 'ended';

/** A refused request: `code` is the protocol's error code. */
export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** A value with a change signal. */
export class Observable<T> {
  readonly changed = new Emitter<T>();
  constructor(private _value: T) {}
  get value(): T {
    return this._value;
  }
  set(value: T): void {
    if (value !== this._value) {
      this._value = value;
      this.changed.emit(value);
    }
  }
}

export type TicketSource = () => Promise<string>;
export type SocketFactory = (socketPath: string) => Socket;

export const REQUEST_TIMEOUT_MS = 15000;
const SPARE_RENEW_FRACTION = 0.75; // renew the spare ticket at this fraction of its ttl
const ATTACH_RETRY_MS = 1000;
const RETRYABLE = new Set(['unauthorized', 'timeout', 'internal', 'rate_limited']);

/** Opens the page's socket: same origin, websocket only, batched board ops; credentials as
 * page/connect.ts gives them (the auth payload, only to the page's own classroom). */
export function openSocket(socketPath: string): Socket {
  return openClassroomSocket({
    path: socketPath,
    auth: { batch: true },
    reconnectionDelay: 300,
    reconnectionDelayMax: 5000
  });
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

type Ack = { ok?: boolean; error?: { code?: string; message?: string } } & Record<string, unknown>;

/** The page's connection to one classroom server. */
export class PageSession {
  readonly state = new Observable<SessionState>('connecting');
  readonly socket: Socket;
  private _links = new Map<string, RoomLink>();

  constructor(
    readonly socketPath: string,
    factory: SocketFactory = openSocket
  ) {
    this.socket = factory(socketPath);
    this.socket.on('connect', () => {
      this.state.set('connected');
      for (const link of this._links.values()) {
        void link.attach();
      }
    });
    this.socket.on('disconnect', (reason: string) => {
      this.state.set('reconnecting');
      for (const link of this._links.values()) {
        link.detached();
      }
      if (reason === 'io server disconnect') {
        // dropped on purpose (say, a frame over the limit): come back as a new socket
        setTimeout(() => this.socket.connect(), ATTACH_RETRY_MS);
      }
    });
    this.socket.on('connect_error', (err: unknown) => {
      // refused (or unreachable): say so on every link's status line
      for (const link of this._links.values()) {
        link.detached(`Cannot reach the classroom: ${refusalMessage(err)}`);
      }
    });
    this.socket.onAny((event: string, data: unknown) => this._dispatch(event, data));
  }

  /** The link to `roomId` as `memberId`; views of the same room share it. */
  link(roomId: string, memberId: string, askKernel: TicketSource): RoomLink {
    let link = this._links.get(roomId);
    if (link && (link.state.value === 'ended' || link.memberId !== memberId)) {
      // the kernel rejoined (new member) or the membership ended: start over
      link.end('replaced');
      this._links.delete(roomId);
      link = undefined;
    }
    if (!link) {
      link = new RoomLink(this, roomId, memberId, askKernel);
      this._links.set(roomId, link);
      if (this.socket.connected) {
        void link.attach();
      }
    } else {
      link.askKernel = askKernel; // the newest view's comm is the likeliest to be alive
    }
    link.refs++;
    return link;
  }

  /** Sends an event and resolves with its ack (without `ok`), or rejects RequestError. */
  async request(event: string, payload: unknown, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Record<string, unknown>> {
    if (!this.socket.connected) {
      throw new RequestError('disconnected', 'not connected to the classroom server');
    }
    let ack: Ack;
    try {
      ack = (await this.socket.timeout(timeoutMs).emitWithAck(event, payload)) as Ack;
    } catch (err) {
      throw new RequestError('timeout', `no answer to ${event} in ${timeoutMs / 1000} s`);
    }
    if (!ack || !ack.ok) {
      throw new RequestError(ack?.error?.code ?? 'internal', ack?.error?.message ?? 'unexpected reply');
    }
    const { ok: _ok, ...rest } = ack;
    return rest;
  }

  emit(event: string, payload: unknown): void {
    if (this.socket.connected) {
      this.socket.emit(event, payload);
    }
  }

  private _dispatch(event: string, data: unknown): void {
    if (!data || typeof data !== 'object') {
      return;
    }
    const d = data as { room_id?: unknown; room?: { id?: unknown } };
    const roomId = typeof d.room_id === 'string' ? d.room_id : typeof d.room?.id === 'string' ? d.room.id : null;
    if (roomId !== null) {
      this._links.get(roomId)?.deliver(event, data as Record<string, unknown>);
    }
  }

  /** Ends every link of this page (tests; a page going away). */
  endLinks(message: string): void {
    for (const link of Array.from(this._links.values())) {
      link.end(message);
    }
  }

  /** Ends every link and closes the socket (the page is going away; tests). */
  close(): void {
    for (const link of Array.from(this._links.values())) {
      link.end('closed');
    }
    this.socket.disconnect();
  }

  /** @internal */
  forget(link: RoomLink): void {
    if (this._links.get(link.roomId) === link) {
      this._links.delete(link.roomId);
    }
  }
}

/** The page socket's membership of one room (the kernel's member, attached by ticket). */
export class RoomLink {
  readonly state = new Observable<LinkState>('attaching');
  readonly onAttached = new Emitter<AttachAck>();
  /** Why the link is detached or ended, for a status line. */
  message = '';
  attached: AttachAck | null = null;
  readonly members = new Map<string, Member>();
  sinceProvider: (() => number | undefined) | null = null;
  refs = 0;
  private _listeners = new Map<string, Set<(data: any) => void>>();
  private _spare: { ticket: string; expires: number } | null = null;
  private _spareTimer: ReturnType<typeof setTimeout> | undefined;
  private _attaching = false;

  constructor(
    readonly session: PageSession,
    readonly roomId: string,
    readonly memberId: string,
    public askKernel: TicketSource
  ) {}

  request(event: string, payload: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>> {
    return this.session.request(event, payload, timeoutMs);
  }

  emit(event: string, payload: Record<string, unknown>): void {
    if (this.state.value === 'attached') {
      this.session.emit(event, payload);
    }
  }

  /** Listens to `event` for this room only; returns the unsubscribe function. */
  on<T = any>(event: string, listener: (data: T) => void): () => void {
    let set = this._listeners.get(event);
    if (!set) {
      set = new Set();
      this._listeners.set(event, set);
    }
    set.add(listener);
    return () => set!.delete(listener);
  }

  /** A view is done with the link. The page socket stays attached (there is no detach in the
   * protocol, and `room:leave` would take the kernel out too); a new view reuses it. */
  release(): void {
    this.refs = Math.max(0, this.refs - 1);
  }

  /** @internal: an event for this room arrived on the page socket. */
  deliver(event: string, data: Record<string, unknown>): void {
    if (this.state.value === 'ended') {
      return;
    }
    if (event === 'room:member_joined') {
      const member = data.member as Member;
      this.members.set(member.id, member);
    } else if (event === 'room:member_left') {
      this.members.delete(data.member_id as string);
      if (data.member_id === this.memberId) {
        const reason = data.reason as string;
        this.end(reason === 'kicked' ? 'You were removed from the room.' : 'You left the room.');
      }
    } else if (event === 'room:updated' && this.attached) {
      this.attached.room = data.room as RoomInfo;
      for (const member of this.members.values()) {
        member.role = member.id === this.attached.room.host.id ? 'host' : 'member';
      }
    } else if (event === 'room:closed') {
      this.end('The room was closed.');
    }
    for (const listener of Array.from(this._listeners.get(event) ?? [])) {
      try {
        listener(data);
      } catch (err) {
        console.error(`jupyter-classroom: ${event} listener failed`, err);
      }
    }
  }

  /** (Re)attaches the page socket to the member: spare ticket first, else the kernel's. */
  async attach(): Promise<void> {
    if (this._attaching || this.state.value === 'ended') {
      return;
    }
    this._attaching = true;
    this.state.set('attaching');
    try {
      for (let attempt = 0; attempt < 5 && this.session.socket.connected; attempt++) {
        let ticket: string;
        const spare = this._takeSpare();
        try {
          ticket = spare ?? (await this.askKernel());
        } catch (err) {
          this.message = `Could not get a ticket from the kernel: ${describe(err)}`;
          this.state.set('detached');
          return;
        }
        const since = this.attached ? this.sinceProvider?.() : undefined;
        const payload: Record<string, unknown> = { ticket, board: true };
        if (since !== undefined) {
          payload.since = since;
        }
        try {
          const ack = (await this.session.request('room:attach', payload)) as unknown as AttachAck;
          if (this._ended) {
            return;
          }
          this._adopt(ack);
          return;
        } catch (err) {
          const code = err instanceof RequestError ? err.code : 'internal';
          this.message = describe(err);
          if (!RETRYABLE.has(code) && !spare) {
            this.end(`Could not join the room: ${this.message}`);
            return;
          }
          await new Promise(resolve => setTimeout(resolve, ATTACH_RETRY_MS * (attempt + 1)));
        }
      }
      this.state.set('detached');
    } finally {
      this._attaching = false;
    }
  }

  /** @internal: the socket went away; the next connect re-attaches. */
  detached(message = 'Connection to the classroom lost; reconnecting…'): void {
    if (this.state.value !== 'ended') {
      this.message = message;
      if (this.state.value === 'detached') {
        this.state.changed.emit('detached'); // the same state, a new reason
      }
      this.state.set('detached');
    }
  }

  private get _ended(): boolean {
    return this.state.value === 'ended';
  }

  end(message: string): void {
    this.message = message;
    clearTimeout(this._spareTimer);
    this._spare = null;
    this.state.set('ended');
    this.session.forget(this);
  }

  private _adopt(ack: AttachAck): void {
    this.attached = ack;
    this.members.clear();
    for (const member of ack.members ?? []) {
      this.members.set(member.id, member);
    }
    this.message = '';
    this.state.set('attached');
    this.onAttached.emit(ack);
    void this._renewSpare();
  }

  private _takeSpare(): string | null {
    const spare = this._spare;
    this._spare = null;
    clearTimeout(this._spareTimer);
    return spare && spare.expires > Date.now() ? spare.ticket : null;
  }

  /** Keeps one unused ticket, asked for on the page socket, renewed before it expires. */
  private async _renewSpare(): Promise<void> {
    clearTimeout(this._spareTimer);
    if (this.state.value !== 'attached') {
      return;
    }
    let wait = 30000;
    try {
      const ack = await this.request('room:ticket', { room_id: this.roomId });
      const ttlMs = (typeof ack.ttl === 'number' ? ack.ttl : 60) * 1000;
      this._spare = { ticket: ack.ticket as string, expires: Date.now() + ttlMs * 0.95 };
      wait = ttlMs * SPARE_RENEW_FRACTION;
    } catch {
      wait = 5000; // rate limited or a passing fault: try again soon
    }
    if (this.state.value === 'attached') {
      this._spareTimer = setTimeout(() => void this._renewSpare(), wait);
    }
  }
}

const sessions = new Map<string, PageSession>();

/** The page's one session for a socket path (module-level registry). */
export function pageSession(socketPath: string, factory?: SocketFactory): PageSession {
  let session = sessions.get(socketPath);
  if (!session) {
    session = new PageSession(socketPath, factory);
    sessions.set(socketPath, session);
  }
  return session;
}

/** For tests: forget every session (their sockets are closed). */
export function resetPageSessions(): void {
  for (const session of sessions.values()) {
    session.endLinks('The page session was reset.'); // their spare-ticket timers too
    session.socket.disconnect();
  }
  sessions.clear();
}

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
 * The page's own room (the side panel; no kernel):
 *   await session.listRooms()                     // {rooms, can_create}
 *   await session.join(roomId, password?)          // a JoinedLink (same API as a RoomLink)
 *   await session.create({title, password?})       // host of a new room
 *   await session.leave()                           // room:leave
 *   session.room.value / .changed                   // the page's room: its own, or a
 *                                                   //   notebook's attached link (adopted)
 *   session.roomEnded.connect(({roomId, message}) => ...)  // kicked, closed, left
 * and, during breakouts, the page's group room beside it (the main room is kept):
 *   await session.joinGroup(roomId)                // room:join of a breakout room
 *   await session.leaveGroup()                      // back to the main room only
 *   session.group.value / .changed                  // the group room, or null
 *   session.groupEnded.connect(({roomId, message, reason}) => ...)  // recalled, ...
 * The socket's `auth.client_id` is the tab's (sessionStorage), so a JoinedLink re-joins after a
 * reconnect (with `since`) or a reload as the same member, without the password.
 *
 * One membership per room and page: when a notebook's views ask for a room the page joined
 * itself (`link(roomId, kernelMemberId, ...)` while the page holds a JoinedLink of its own for
 * it), they get the page's own link, and the page offers its kernel a one-time `room:ticket`
 * of that membership (`membershipOffers`, which a view of that kernel's widget claims and
 * sends through its comm: page/view-link.ts): the kernel attaches to it and leaves the member
 * it had joined as (widgets/page_views.py). A person is then one member, with the hand, group
 * and chat of the panel's membership.
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

import type { AttachedReply, BoardOp, JoinedReply, Member, RoomInfo, RoomListReply } from '../protocol.generated';

export type { AttachedReply, BoardOp, JoinedReply, Member, RoomInfo, RoomListReply };

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

/** The page's own membership of a room, offered to the kernel that joined it as another
 * member: the first view of that kernel's widgets to `claim()` it sends `ticket` to its kernel. */
export interface MembershipOffer {
  roomId: string;
  /** The member the kernel joined as (the widget model's `member_id`). */
  kernelMemberId: string;
  /** The page's member, the ticket's: the kernel hands it the host role if it hosts. */
  pageMemberId: string;
  /** A one-time `room:ticket` of the page's member. */
  ticket: string;
  /** True for the first caller only: that view sends the ticket. */
  claim(): boolean;
}
export type SocketFactory = (socketPath: string) => Socket;

export const REQUEST_TIMEOUT_MS = 15000;
const SPARE_RENEW_FRACTION = 0.75; // renew the spare ticket at this fraction of its ttl
const ATTACH_RETRY_MS = 1000;
const RETRYABLE = new Set(['unauthorized', 'timeout', 'internal', 'rate_limited']);

const CLIENT_ID_KEY = 'jupyter-classroom:client-id';
let displayName = '';

/** A client id for this browser tab (kept across reloads of the tab, in sessionStorage), so
 * the server keeps this page's member id across reconnects and reloads (`auth.client_id`):
 * a room the page joined itself is re-joined as the same member, without the password. */
export function pageClientId(): string {
  const make = (): string =>
    `page-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
  try {
    const storage = window.sessionStorage;
    let id = storage.getItem(CLIENT_ID_KEY);
    if (!id) {
      id = make();
      storage.setItem(CLIENT_ID_KEY, id);
    }
    return id;
  } catch {
    return (fallbackClientId ??= make());
  }
}
let fallbackClientId: string | undefined;

/** The display name sent as `auth.name` (the server uses it where it allows chosen names).
 * It applies to sockets opened afterwards (the page's next connection). */
export function setDisplayName(name: string): void {
  displayName = name.trim();
  for (const session of sessions.values()) {
    // socket.io-client sends `socket.auth` again at every (re)connect
    const auth = (session.socket as unknown as { auth?: Record<string, unknown> }).auth;
    if (auth && typeof auth === 'object') {
      if (displayName) {
        auth.name = displayName;
      } else {
        delete auth.name;
      }
    }
  }
}

/** The page's identity fields for the `auth` payload. */
function pageIdentity(): Record<string, string> {
  const identity: Record<string, string> = { client_id: pageClientId() };
  if (displayName) {
    identity.name = displayName;
  }
  return identity;
}

/** Opens the page's socket: same origin, websocket only, batched board ops; credentials as
 * page/connect.ts gives them (the auth payload, only to the page's own classroom). */
export function openSocket(socketPath: string): Socket {
  return openClassroomSocket({
    path: socketPath,
    auth: { batch: true, ...pageIdentity() },
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
  /** The room this page is in for the side panel: one the page joined or created itself
   * (`join`, `create`), or a notebook's room the page socket is attached to (adopted when
   * the page is in no room of its own). Null in the lobby. */
  readonly room = new Observable<RoomLink | null>(null);
  /** Why the page's room went away (left, kicked, closed), as the link said. */
  readonly roomEnded = new Emitter<{ roomId: string; message: string }>();
  /** During breakouts: the breakout room the page is in besides its main room (its own
   * group, or one the host visits). The main room's membership stays meanwhile. */
  readonly group = new Observable<RoomLink | null>(null);
  /** The group room went away: `reason` is the `room:closed` reason ("recalled"), or ''. */
  readonly groupEnded = new Emitter<{ roomId: string; message: string; reason: string }>();
  /** The page's membership offered to a kernel that joined the same room (see above). */
  readonly membershipOffers = new Emitter<MembershipOffer>();
  private _links = new Map<string, RoomLink>();
  /** `${roomId} ${kernelMemberId}` of the offers made, so one kernel is offered once. */
  private _offered = new Set<string>();

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
    if (link instanceof JoinedLink && link.state.value !== 'ended' && memberId && link.memberId !== memberId) {
      // The page's own membership (the panel's) and a kernel's of the same room: the views
      // show the page's, and the kernel is offered it (one person, one member).
      this.offerMembership(link, memberId);
      link.refs++;
      return link;
    }
    if (link && (link.state.value === 'ended' || link.memberId !== memberId)) {
      // the kernel rejoined (new member) or the membership ended: start over
      if (link instanceof JoinedLink && link.state.value !== 'ended' && this.socket.connected) {
        // The panel's own member of this room: a socket is one member per room, so it goes
        // (sent before the attach below, which the server handles after it); the panel then
        // shows the notebook's membership instead.
        this.request('room:leave', { room_id: roomId }).catch(() => undefined);
      }
      link.end('replaced');
      this._links.delete(roomId);
      link = undefined;
    }
    if (!link) {
      link = new RoomLink(this, roomId, memberId, askKernel);
      this._links.set(roomId, link);
      const adopt = link;
      const off = link.onAttached.connect(() => {
        off();
        if (this.room.value === null && adopt.state.value !== 'ended') {
          this.room.set(adopt); // a notebook's room shows in the panel: the same membership
        }
      });
      if (this.socket.connected) {
        // after the caller has its link in hand: its ticket source may refer to it (and
        // the page socket is often connected already, opened by the side panel at start)
        const fresh = link;
        queueMicrotask(() => void fresh.attach());
      }
    } else {
      link.askKernel = askKernel; // the newest view's comm is the likeliest to be alive
    }
    link.refs++;
    return link;
  }

  /**
   * Offers `link`'s membership to the kernel that joined its room as `kernelMemberId`: a
   * `room:ticket` asked on the page socket (once the link is attached), emitted as a
   * MembershipOffer. Once per kernel member, unless no view claimed it (or it failed): then a
   * later view makes a new one; `again`: the kernel asked (`membership_request`).
   */
  offerMembership(link: RoomLink, kernelMemberId: string, again = false): void {
    const key = `${link.roomId} ${kernelMemberId}`;
    if (again) {
      this._offered.delete(key); // the kernel asks: it is its own member again (a reconnect)
    }
    if (this._offered.has(key) || link.memberId === kernelMemberId) {
      return;
    }
    this._offered.add(key);
    const offer = async (): Promise<void> => {
      let claimed = false;
      try {
        const ack = await link.request('room:ticket', { room_id: link.roomId });
        if (typeof ack.ticket === 'string' && link.state.value === 'attached') {
          this.membershipOffers.emit({
            roomId: link.roomId,
            kernelMemberId,
            pageMemberId: link.memberId,
            ticket: ack.ticket,
            claim: () => !claimed && (claimed = true)
          });
        }
      } catch {
        // not attached any more, or rate limited: a later view asks again
      }
      if (!claimed) {
        this._offered.delete(key);
      }
    };
    if (link.state.value === 'attached') {
      void offer();
    } else {
      const off = link.onAttached.connect(() => {
        off();
        void offer();
      });
    }
  }

  /** The rooms in the lobby (`room:list` ack: `rooms`, and `can_create` where the server
   * says whether this user may create one). */
  async listRooms(): Promise<RoomListReply> {
    return (await this.request('room:list', {})) as unknown as RoomListReply;
  }

  /**
   * Joins `roomId` as this page's own member (no kernel involved), or adopts the page
   * socket's existing membership of that room (a notebook's); it becomes `room`. A page is in
   * one room of its own at a time: joining another leaves the previous one. Rejects with
   * RequestError (`bad_password`, `forbidden`, `room_full`, `not_found`, ...); a refused join
   * leaves the page where it was.
   */
  async join(roomId: string, password?: string): Promise<RoomLink> {
    const current = this.room.value;
    if (current && current.roomId === roomId && current.state.value !== 'ended') {
      return current;
    }
    const existing = this._links.get(roomId);
    if (existing && existing.state.value !== 'ended') {
      await this._leaveOwn(current);
      this.room.set(existing);
      return existing;
    }
    const link = new JoinedLink(this, roomId);
    const payload: Record<string, unknown> = { room_id: roomId };
    if (password) {
      payload.password = password;
    }
    // registered before the ack, so the room's events that race it reach the link
    this._links.set(roomId, link);
    let ack: JoinedReply;
    try {
      ack = (await this.request('room:join', payload)) as unknown as JoinedReply;
    } catch (err) {
      this.forget(link);
      throw err;
    }
    await this.leaveGroup();
    await this._leaveOwn(current);
    return this._settle(link, ack);
  }

  /** Creates a room (the page's member is its host) and makes it the page's room. */
  async create(options: { title: string; password?: string | null; listed?: boolean }): Promise<RoomLink> {
    const payload: Record<string, unknown> = { title: options.title };
    if (options.password) {
      payload.password = options.password;
    }
    if (options.listed === false) {
      payload.listed = false;
    }
    const ack = (await this.request('room:create', payload)) as unknown as JoinedReply;
    await this.leaveGroup();
    await this._leaveOwn(this.room.value);
    return this._settle(new JoinedLink(this, ack.room.id), ack);
  }

  /** Leaves the page's room (`room:leave`: the member goes, with all of its sockets; for a
   * notebook's room that is the kernel's member too, the same membership). */
  async leave(): Promise<void> {
    const link = this.room.value;
    if (!link) {
      return;
    }
    await this.leaveGroup();
    try {
      if (link.state.value !== 'ended' && this.socket.connected) {
        await this.request('room:leave', { room_id: link.roomId });
      }
    } finally {
      if (link.state.value !== 'ended') {
        link.end('You left the room.');
      }
      if (this.room.value === link) {
        this.room.set(null);
      }
    }
  }

  /**
   * Joins a breakout room (the page's group, or one the host visits) beside the main room,
   * which the page keeps; it becomes `group`, replacing a previous group room (left).
   */
  async joinGroup(roomId: string): Promise<RoomLink> {
    const current = this.group.value;
    if (current && current.roomId === roomId && current.state.value !== 'ended') {
      return current;
    }
    if (this.room.value?.roomId === roomId) {
      throw new RequestError('bad_request', 'that room is the main room');
    }
    const link = new JoinedLink(this, roomId);
    this._links.set(roomId, link); // before the ack: the room's events that race it
    let ack: JoinedReply;
    try {
      ack = (await this.request('room:join', { room_id: roomId })) as unknown as JoinedReply;
    } catch (err) {
      this.forget(link);
      throw err;
    }
    await this.leaveGroup();
    this._links.set(roomId, link);
    link.admitted(ack);
    this.group.set(link);
    return link;
  }

  /** Leaves the group room (`room:leave` of it only): the page is in its main room alone. */
  async leaveGroup(): Promise<void> {
    const link = this.group.value;
    if (!link) {
      return;
    }
    this.group.set(null);
    if (link.state.value !== 'ended') {
      try {
        if (this.socket.connected) {
          await this.request('room:leave', { room_id: link.roomId });
        }
      } catch {
        // gone already (recalled), or disconnected: the server lets the member go
      }
      link.end('You left the group.');
    }
  }

  private _settle(link: JoinedLink, ack: JoinedReply): RoomLink {
    const previous = this._links.get(link.roomId);
    if (previous && previous !== link && previous.state.value !== 'ended') {
      previous.end('replaced');
    }
    this._links.set(link.roomId, link);
    link.admitted(ack);
    this.room.set(link);
    return link;
  }

  /** Before the page goes into another room: a room of its own is left, an adopted
   * notebook's room is only let go (the notebook still shows it). */
  private async _leaveOwn(link: RoomLink | null): Promise<void> {
    if (!link) {
      return;
    }
    if (this.room.value === link) {
      this.room.set(null);
    }
    if (link instanceof JoinedLink && link.state.value !== 'ended') {
      try {
        await this.request('room:leave', { room_id: link.roomId });
      } catch {
        // gone already, or disconnected: the server lets the member go with the socket
      }
      link.end('You left the room.');
    }
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
    if (this.room.value === link) {
      this.room.set(null);
      this.roomEnded.emit({ roomId: link.roomId, message: link.message });
    }
    if (this.group.value === link) {
      this.group.set(null);
      this.groupEnded.emit({ roomId: link.roomId, message: link.message, reason: link.closedReason });
    }
  }
}

/** The page socket's membership of one room (the kernel's member, attached by ticket). */
export class RoomLink {
  readonly state = new Observable<LinkState>('attaching');
  readonly onAttached = new Emitter<AttachAck>();
  /** Why the link is detached or ended, for a status line. */
  message = '';
  /** The `room:closed` reason when the room was closed ("recalled" for a breakout room). */
  closedReason = '';
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
    /** Set by the join ack for a room the page joins itself. */
    public memberId: string,
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
      this.closedReason = typeof data.reason === 'string' ? data.reason : '';
      this.end(this.closedReason === 'recalled' ? 'The host brought everyone back.' : 'The room was closed.');
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

  protected get _ended(): boolean {
    return this.state.value === 'ended';
  }

  end(message: string): void {
    this.message = message;
    clearTimeout(this._spareTimer);
    this._spare = null;
    this.state.set('ended');
    this.session.forget(this);
  }

  protected _adopt(ack: AttachAck): void {
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
  protected async _renewSpare(): Promise<void> {
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

/** A join ack without `rtc` (an older server): the page's own membership only watches video. */
const NO_RTC = { ice_servers: [], max_publishers: 0 };

/**
 * A membership the page holds itself: joined or created on the page socket with no kernel.
 * It re-joins after a reconnect with `since` (the last board seq it saw), as the same member
 * (the page's `auth.client_id`), which the server lets back in without the password.
 */
export class JoinedLink extends RoomLink {
  /** The last board seq seen: the `since` of a re-join. */
  lastSeq: number | undefined;
  private _joining = false;

  constructor(session: PageSession, roomId: string) {
    super(session, roomId, '', () => Promise.reject(new Error('a page membership needs no ticket')));
    this.sinceProvider = () => this.lastSeq;
  }

  /** @internal: the first join's (or create's) ack. */
  admitted(ack: JoinedReply): void {
    this.memberId = ack.you.id;
    this._take(ack);
  }

  deliver(event: string, data: Record<string, unknown>): void {
    if (event === 'board:ops' && Array.isArray(data.ops)) {
      for (const op of data.ops as { seq?: unknown }[]) {
        this._saw(op.seq);
      }
    } else if (event === 'board:op') {
      this._saw(data.seq);
    }
    super.deliver(event, data);
  }

  /** Re-joins after a reconnect (the connect handler calls it). */
  async attach(): Promise<void> {
    if (this._joining || this._ended || !this.memberId) {
      return;
    }
    this._joining = true;
    this.state.set('attaching');
    try {
      for (let attempt = 0; attempt < 5 && this.session.socket.connected; attempt++) {
        const payload: Record<string, unknown> = { room_id: this.roomId };
        const since = this.sinceProvider?.();
        if (since !== undefined) {
          payload.since = since;
        }
        try {
          const ack = (await this.session.request('room:join', payload)) as unknown as JoinedReply;
          if (!this._ended) {
            this._take(ack);
          }
          return;
        } catch (err) {
          const code = err instanceof RequestError ? err.code : 'internal';
          if (!RETRYABLE.has(code)) {
            this.end(`Could not rejoin the room: ${describe(err)}`);
            return;
          }
          this.message = describe(err);
          await new Promise(resolve => setTimeout(resolve, ATTACH_RETRY_MS * (attempt + 1)));
        }
      }
      if (!this._ended) {
        this.state.set('detached');
      }
    } finally {
      this._joining = false;
    }
  }

  /** No spare tickets: a page membership re-joins by itself. */
  protected async _renewSpare(): Promise<void> {}

  private _take(ack: JoinedReply): void {
    this._saw(ack.board?.seq);
    this._adopt({ ...ack, rtc: ack.rtc ?? NO_RTC });
  }

  private _saw(seq: unknown): void {
    if (typeof seq === 'number' && (this.lastSeq === undefined || seq > this.lastSeq)) {
      this.lastSeq = seq;
    }
  }
}

const sessions = new Map<string, PageSession>();

/** The page's one session for a socket path (module-level registry). */
export function pageSession(socketPath: string, factory?: SocketFactory): PageSession {
  // one socket whichever spelling names the path (the panel's from the page config, a
  // widget's from its kernel): a trailing slash or an escape is the same server
  let key = socketPath.replace(/\/+$/, '');
  try {
    key = decodeURIComponent(key);
  } catch {
    // keep it as it is
  }
  let session = sessions.get(key);
  if (!session) {
    session = new PageSession(socketPath, factory);
    sessions.set(key, session);
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

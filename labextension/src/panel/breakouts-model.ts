/**
 * A main room's breakouts as one member of it sees them: the groups while they are open (from
 * the join ack after a reload, `breakout:opened`, the host's own acks), when they end, the
 * groups whose boards were kept after the recall (the server lists them in the join ack too, so
 * a reload keeps them), and the requests (open, message all groups,
 * visit, bring everyone back, read a kept board).
 *
 * A member in a group goes into its room at once (`session.joinGroup`): the page keeps the main
 * room meanwhile, as the server does. The group's `room:closed {reason: "recalled"}` ends that
 * membership (page/session.ts); `breakout:closed` then lists the kept boards.
 */
import { Emitter } from '../emitter';
import type { Observable, RoomLink } from '../page/session';

import { MAX_BREAKOUT_MINUTES, MAX_BREAKOUTS, MIN_BREAKOUTS } from '../protocol.generated';
import type { BoardState, BoardSynced, Breakout, BreakoutsOpened, BreakoutsReply } from '../protocol.generated';

/** What the model needs of the page session: its group room (PageSession). */
export interface GroupSession {
  readonly group: Observable<RoomLink | null>;
  joinGroup(roomId: string): Promise<RoomLink>;
  leaveGroup(): Promise<void>;
}

/** How the host opens breakouts (the dialog's answer). */
export interface BreakoutOptions {
  /** A random split of the members (the host aside) into this many groups. */
  count?: number;
  /** Or the groups, as member ids. */
  groups?: string[][];
  /** A timer: the server brings everyone back after this many minutes. */
  minutes?: number;
  /** Each group starts with a copy of the main room's board. */
  copyBoard?: boolean;
}

/** The dialog's fields as typed, before they are checked. */
export interface BreakoutForm {
  count: string;
  choose: boolean;
  /** Member id → group number (1-based) as chosen; 0 for none (stays in the main room). */
  assignment: Record<string, number>;
  minutes: string;
  copyBoard: boolean;
}

/** Checks the form: the options for `breakout:open`, or a sentence saying what to change. */
export function breakoutOptions(form: BreakoutForm, members: number): BreakoutOptions | string {
  const count = Number(form.count);
  if (!Number.isInteger(count) || count < MIN_BREAKOUTS || count > MAX_BREAKOUTS) {
    return `The number of groups is a whole number from ${MIN_BREAKOUTS} to ${MAX_BREAKOUTS}.`;
  }
  const options: BreakoutOptions = {};
  if (form.choose) {
    const groups: string[][] = Array.from({ length: count }, () => []);
    for (const [memberId, group] of Object.entries(form.assignment)) {
      if (group >= 1 && group <= count) {
        groups[group - 1].push(memberId);
      }
    }
    if (groups.some(g => !g.length)) {
      return 'Every group needs at least one member: choose fewer groups or move someone.';
    }
    options.groups = groups;
  } else {
    if (members < count) {
      return `${members} member${members === 1 ? '' : 's'} besides you cannot make ${count} groups: choose fewer groups.`;
    }
    options.count = count;
  }
  if (form.minutes.trim()) {
    const minutes = Number(form.minutes);
    if (!Number.isFinite(minutes) || minutes <= 0 || minutes > MAX_BREAKOUT_MINUTES) {
      return `The timer is a number of minutes above 0 and at most ${MAX_BREAKOUT_MINUTES}, or empty for none.`;
    }
    options.minutes = minutes;
  }
  options.copyBoard = form.copyBoard;
  return options;
}

/** "12:30" or "1:02:03" for a number of milliseconds (rounded up to the second). */
export function clock(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export class BreakoutsModel {
  readonly changed = new Emitter<void>();
  /** This member was put in a group (and is being moved into its room). */
  readonly assigned = new Emitter<Breakout>();
  /** Moving into the group's room failed, with the reason. */
  readonly failed = new Emitter<string>();
  /** The groups while breakouts are open, else null. */
  groups: Breakout[] | null = null;
  /** When the server brings everyone back (ISO 8601 UTC), or null without a timer. */
  endsAt: string | null = null;
  /** The groups of the last breakouts, once recalled: their boards are kept. */
  kept: Breakout[] = [];
  private _off: (() => void)[] = [];

  constructor(
    readonly link: RoomLink,
    private _session: GroupSession
  ) {
    this._off.push(
      link.onAttached.connect(ack => {
        this._keptFrom(ack.kept_breakouts);
        if (ack.breakouts) {
          this._opened(ack.breakouts);
        } else if (this.groups) {
          this._closed(this.groups); // recalled while this page was away
        }
      }),
      link.on<BreakoutsOpened>('breakout:opened', e => this._opened(e)),
      link.on<BreakoutsReply>('breakout:closed', e => this._closed(e.breakouts)),
      _session.group.changed.connect(() => this.changed.emit())
    );
    this._keptFrom(link.attached?.kept_breakouts);
    if (link.attached?.breakouts) {
      this._opened(link.attached.breakouts);
    }
  }

  get isHost(): boolean {
    return this.link.attached?.room.host.id === this.link.memberId;
  }

  /** This member's group while breakouts are open. */
  get mine(): Breakout | null {
    return this.groups?.find(g => g.members.includes(this.link.memberId)) ?? null;
  }

  /** The open group whose room the page is in (its own, or one the host visits). */
  get current(): Breakout | null {
    const group = this._session.group.value;
    return (group && this.groups?.find(g => g.room_id === group.roomId)) ?? null;
  }

  /** Milliseconds until the server brings everyone back; null without a timer. */
  msLeft(now = Date.now()): number | null {
    if (!this.groups || !this.endsAt) {
      return null;
    }
    const end = Date.parse(this.endsAt);
    return Number.isNaN(end) ? null : Math.max(0, end - now);
  }

  /** "You are in Group 1 — 12:30 left", "Visiting Group 2", or '' outside a group. */
  line(now = Date.now()): string {
    const current = this.current;
    if (!current) {
      return '';
    }
    const left = this.msLeft(now);
    const time = left === null ? '' : ` \u2014 ${clock(left)} left`;
    return current === this.mine ? `You are in ${current.title}${time}` : `Visiting ${current.title}${time}`;
  }

  /** (Host) opens breakouts; every member of the main room hears `breakout:opened`. */
  async start(options: BreakoutOptions): Promise<Breakout[]> {
    const payload: Record<string, unknown> = { room_id: this.link.roomId };
    if (options.groups) {
      payload.groups = options.groups;
    } else if (options.count !== undefined) {
      payload.count = options.count;
    }
    if (options.minutes !== undefined) {
      payload.minutes = options.minutes;
    }
    if (options.copyBoard) {
      payload.copy_board = true;
    }
    const ack = (await this.link.request('breakout:open', payload)) as unknown as BreakoutsOpened;
    this._opened(ack);
    return ack.breakouts;
  }

  /** (Host) a chat message in every group's room. */
  async broadcast(text: string): Promise<void> {
    await this.link.request('breakout:broadcast', { room_id: this.link.roomId, text });
  }

  /** (Host) brings everyone back; the groups' boards are kept. */
  async recall(): Promise<void> {
    const ack = (await this.link.request('breakout:recall', { room_id: this.link.roomId })) as unknown as BreakoutsReply;
    this._closed(ack.breakouts);
  }

  /** (Host) goes into a group's room; the main room is kept. */
  visit(breakoutId: string): Promise<RoomLink> {
    return this._session.joinGroup(breakoutId);
  }

  /** Leaves the group's room: back in the main room only. */
  comeBack(): Promise<void> {
    return this._session.leaveGroup();
  }

  /** A group's board: kept after the recall (any member), live while open (the host). */
  async board(breakoutId: string): Promise<BoardState> {
    const ack = (await this.link.request('breakout:board', {
      room_id: this.link.roomId,
      breakout_id: breakoutId
    })) as unknown as BoardSynced;
    return ack.board;
  }

  dispose(): void {
    this._off.forEach(off => off());
    this._off = [];
    this.changed.clear();
    this.assigned.clear();
    this.failed.clear();
  }

  private _opened(event: BreakoutsOpened): void {
    if (!event || !Array.isArray(event.breakouts)) {
      return;
    }
    this.groups = event.breakouts.filter(g => g && typeof g.room_id === 'string' && Array.isArray(g.members));
    this.endsAt = typeof event.ends_at === 'string' ? event.ends_at : null;
    this.changed.emit();
    const mine = this.mine;
    const group = this._session.group.value;
    if (mine && group?.roomId !== mine.room_id && !this.isHost) {
      this.assigned.emit(mine);
      this._session.joinGroup(mine.room_id).catch((err: unknown) => {
        this.failed.emit(err instanceof Error ? err.message : String(err));
      });
    }
  }

  /** The kept groups a join or attach ack lists (after a reload, or for a late joiner): the
   * server's list is the room's; an ack without it keeps what this page saw. */
  private _keptFrom(kept: Breakout[] | undefined): void {
    if (Array.isArray(kept)) {
      this.kept = kept.filter(g => g && typeof g.room_id === 'string');
      this.changed.emit();
    }
  }

  private _closed(breakouts: Breakout[]): void {
    const roomIds = new Set((this.groups ?? []).map(g => g.room_id));
    this.groups = null;
    this.endsAt = null;
    if (Array.isArray(breakouts)) {
      // the last recall's groups after those kept before (as the server lists them)
      const recalled = breakouts.filter(g => g && typeof g.room_id === 'string');
      const ids = new Set(recalled.map(g => g.room_id));
      this.kept = [...this.kept.filter(g => !ids.has(g.room_id)), ...recalled];
    }
    const group = this._session.group.value;
    if (group && roomIds.has(group.roomId)) {
      void this._session.leaveGroup(); // its room:closed may come late, or not to this page
    }
    this.changed.emit();
  }
}

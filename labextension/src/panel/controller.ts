/**
 * What the side panel, the commands and the status-bar item share: the page session's lobby
 * (RoomListModel), the page's room (`session.room`: joined from the panel, or a notebook's)
 * with its hands queue, and the page-wide events (announcements, your hand taken).
 * No DOM here: the panel and status bar render it; tests drive it on a fake socket.
 */
import { Emitter } from '../emitter';
import type { PageSession, RoomLink } from '../page/session';

import { BreakoutsModel } from './breakouts-model';
import { HandsModel } from './hands-model';
import { RoomListModel } from './rooms-model';

import type {
  Announcement,
  ChatMessage,
  ChatSent,
  HandTaken as HandTakenEvent,
  Member,
  RoomInfo,
  RtcMediaEvent
} from '../protocol.generated';

/** `hand:taken` for this page's member, with the room's title for the notification. */
export interface HandTaken extends HandTakenEvent {
  title: string;
  byName: string;
}

export class ClassroomController {
  /** Something the panel or the status bar shows changed. */
  readonly changed = new Emitter<void>();
  readonly announcement = new Emitter<Announcement>();
  readonly handTaken = new Emitter<HandTaken>();
  /** The page's room went away (left, kicked, closed), with the link's sentence. */
  readonly roomEnded = new Emitter<{ roomId: string; message: string }>();
  /** The page's breakout group room went away (`reason` "recalled": everyone is back). */
  readonly groupEnded = new Emitter<{ roomId: string; message: string; reason: string }>();
  /** This member was put in a breakout group (the page moves into its room), or could not. */
  readonly breakoutAssigned = new Emitter<{ title: string; error: string }>();
  readonly lobby: RoomListModel;
  /** The main room's raised hands (the page's room). */
  mainHands: HandsModel | null = null;
  /** The breakout group room's raised hands, while the page is in one (its own group, or one
   * the host visits): a hand raised there is the group's, seen by whoever hosts it. */
  groupHands: HandsModel | null = null;
  /** The main room's breakouts (groups, timer, kept boards). */
  breakouts: BreakoutsModel | null = null;
  /** Microphone and camera of the members who said (`rtc:media`, from their video views). */
  readonly media = new Map<string, { audio: boolean; video: boolean }>();
  private _roomOff: (() => void)[] = [];
  private _groupOff: (() => void)[] = [];
  private _off: (() => void)[] = [];

  constructor(readonly session: PageSession) {
    this.lobby = new RoomListModel(session);
    this._onAnnouncement = this._onAnnouncement.bind(this);
    session.socket.on('server:announcement', this._onAnnouncement);
    this._off.push(
      () => session.socket.off('server:announcement', this._onAnnouncement),
      this.lobby.changed.connect(() => this.changed.emit()),
      session.state.changed.connect(() => this.changed.emit()),
      session.room.changed.connect(link => this._bind(link)),
      session.roomEnded.connect(e => this.roomEnded.emit(e)),
      session.group.changed.connect(link => this._bindGroup(link)),
      session.groupEnded.connect(e => this.groupEnded.emit(e))
    );
    this._bind(session.room.value);
    this._bindGroup(session.group.value);
  }

  /** The page's room, or null in the lobby. */
  get link(): RoomLink | null {
    return this.session.room.value;
  }

  /** The room the panel shows: the page's breakout group while in one, else its room. */
  get view(): RoomLink | null {
    return this.session.group.value ?? this.session.room.value;
  }

  get room(): RoomInfo | null {
    return this.link?.attached?.room ?? null;
  }

  get isHost(): boolean {
    const link = this.link;
    return !!link && link.attached?.room.host.id === link.memberId;
  }

  /** The hands the panel shows and the hand commands act on: the group's while in one. */
  get hands(): HandsModel | null {
    return this.session.group.value ? this.groupHands : this.mainHands;
  }

  /** Whether this page's member hosts the shown room (the group's on a visit). */
  get hostsView(): boolean {
    const view = this.view;
    return !!view && view.attached?.room.host.id === view.memberId;
  }

  /** The members present in `link` (the shown room), host first, then by name. */
  members(link: RoomLink | null = this.view): Member[] {
    if (!link) {
      return [];
    }
    const hostId = link.attached?.room.host.id;
    return Array.from(link.members.values()).sort((a, b) =>
      a.id === hostId ? -1 : b.id === hostId ? 1 : a.name.localeCompare(b.name)
    );
  }

  join(roomId: string, password?: string): Promise<RoomLink> {
    return this.session.join(roomId, password);
  }

  create(title: string, password?: string): Promise<RoomLink> {
    return this.session.create({ title, password: password || null });
  }

  leave(): Promise<void> {
    return this.session.leave();
  }

  async raiseHand(): Promise<void> {
    return this._hands().raise();
  }

  async lowerHand(memberId?: string): Promise<void> {
    return this._hands().lower(memberId);
  }

  async takeHand(memberId?: string): Promise<unknown> {
    return this._hands().take(memberId);
  }

  /** Takes a member out of the shown room (the group's, while the host visits one). */
  async kick(memberId: string): Promise<void> {
    const link = this._view();
    await link.request('room:kick', { room_id: link.roomId, member_id: memberId });
  }

  /** A chat message in the shown room (the group's, while in one). */
  async sendChat(text: string): Promise<ChatMessage> {
    const link = this._view();
    const ack = (await link.request('chat:send', { room_id: link.roomId, text })) as unknown as ChatSent;
    return ack.message;
  }

  /** `server:announce` (server admins): every page of every user gets it. */
  async announce(text: string): Promise<void> {
    await this.session.request('server:announce', { text });
  }

  dispose(): void {
    this._bind(null);
    this._bindGroup(null);
    this._off.forEach(off => off());
    this._off = [];
    this.lobby.dispose();
    this.changed.clear();
  }

  private _view(): RoomLink {
    const link = this.view;
    if (!link) {
      throw new Error('you are not in a room');
    }
    return link;
  }

  private _hands(): HandsModel {
    if (!this.hands) {
      throw new Error('you are not in a room');
    }
    return this.hands;
  }

  private _bind(link: RoomLink | null): void {
    this._roomOff.forEach(off => off());
    this._roomOff = [];
    this.mainHands?.dispose();
    this.mainHands = null;
    this.breakouts?.dispose();
    this.breakouts = null;
    this.media.clear();
    if (link) {
      const hands = new HandsModel(link);
      this.mainHands = hands;
      const breakouts = new BreakoutsModel(link, this.session);
      this.breakouts = breakouts;
      const changed = (): void => this.changed.emit();
      this._roomOff.push(
        link.state.changed.connect(changed),
        link.onAttached.connect(changed),
        link.on('room:member_joined', changed),
        link.on<{ member_id: string }>('room:member_left', e => {
          this.media.delete(e.member_id);
          changed();
        }),
        link.on<RtcMediaEvent>('rtc:media', e => {
          if (typeof e.from === 'string') {
            this.media.set(e.from, { audio: e.audio !== false, video: e.video !== false });
            changed();
          }
        }),
        link.on('room:updated', changed),
        hands.changed.connect(changed),
        breakouts.changed.connect(changed),
        breakouts.assigned.connect(g => this.breakoutAssigned.emit({ title: g.title, error: '' })),
        breakouts.failed.connect(error => this.breakoutAssigned.emit({ title: '', error })),
        this._tellTaken(hands, link)
      );
    }
    this.changed.emit();
  }

  /** The group room's changes show in the panel as the main room's do; its hands are its own. */
  private _bindGroup(link: RoomLink | null): void {
    this._groupOff.forEach(off => off());
    this._groupOff = [];
    this.groupHands?.dispose();
    this.groupHands = null;
    if (link) {
      const changed = (): void => this.changed.emit();
      const hands = new HandsModel(link);
      this.groupHands = hands;
      this._groupOff.push(
        link.state.changed.connect(changed),
        link.onAttached.connect(changed),
        link.on('room:member_joined', changed),
        link.on('room:member_left', changed),
        link.on('room:updated', changed),
        hands.changed.connect(changed),
        this._tellTaken(hands, link)
      );
    }
    this.changed.emit();
  }

  /** `hand:taken` of `hands` as a HandTaken with the room's title and the taker's name. */
  private _tellTaken(hands: HandsModel, link: RoomLink): () => void {
    return hands.taken.connect(e =>
      this.handTaken.emit({
        ...e,
        title: link.attached?.room.title ?? '',
        byName: link.members.get(e.by)?.name ?? 'the host'
      })
    );
  }

  private _onAnnouncement(announcement: Announcement): void {
    if (announcement && typeof announcement.text === 'string') {
      this.announcement.emit(announcement);
    }
  }
}

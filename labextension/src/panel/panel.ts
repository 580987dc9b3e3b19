/**
 * The classroom side panel (a Lumino widget in the left area): the lobby (live room list,
 * lock icons, member counts, join, create) and, once the page is in a room, its hands queue,
 * participants, chat and "leave". Everything runs on the page's one classroom socket through
 * the ClassroomController; text from others is only ever put in the page as text.
 */
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { messageLine, refusalSentence, SHOWN } from '../chat/view';
import type { RoomLink } from '../page/session';
import { MAX_CHAT_TEXT } from '../protocol.generated';

import { BreakoutsSection } from './breakouts-view';
import type { ClassroomController } from './controller';
import { createFlow, joinFlow } from './dialogs';
import { inlineIcon } from './icon';
import { WidgetShelf } from './widget-shelf';

import type { ChatMessage, Member, RoomInfo } from '../protocol.generated';

const COLOR = /^#[0-9a-fA-F]{6}$/;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

function button(className: string, label: string, onClick: () => void, title = ''): HTMLButtonElement {
  const node = el('button', `jp-Button jp-mod-styled ${className}`, label);
  node.type = 'button';
  if (title) {
    node.title = title;
  }
  node.addEventListener('click', onClick);
  return node;
}

export class ClassroomPanel extends Widget {
  /** The breakouts section (its `openBoard` is where a kept board opens). */
  readonly breakouts: BreakoutsSection;
  /** Opens the room's board in the main area ("Open board"; set by the plugin). */
  openBoard: (() => void) | null = null;
  /** Opens the room's video ("Open video"; set by the plugin). */
  openVideo: (() => void) | null = null;
  /** The board and video widgets moved into the panel ("Show in the panel"), under the room's
   * header. */
  readonly shelf: WidgetShelf;
  constructor(readonly controller: ClassroomController) {
    super();
    this.id = 'jc-classroom-panel';
    this.addClass('jc-panel');
    this.title.caption = 'Classroom';

    this._connection = el('div', 'jc-panel-connection');
    this._connection.setAttribute('role', 'status');
    this._lobby = el('section', 'jc-panel-lobby');
    this._room = el('section', 'jc-panel-roomview');
    this._status = el('div', 'jc-panel-status');
    this._status.setAttribute('role', 'alert');
    this.node.append(this._connection, this._lobby, this._room, this._status);

    // the lobby
    const lobbyHeader = el('div', 'jc-panel-header');
    lobbyHeader.append(
      el('h3', 'jc-panel-heading', 'Rooms'),
      button('jc-panel-refresh', '\u21BB', () => void controller.lobby.refresh(), 'Refresh the room list'),
      (this._createButton = button('jc-panel-create', 'Create room', () => void this._create()))
    );
    this._rooms = el('ul', 'jc-panel-rooms');
    this._lobby.append(lobbyHeader, this._rooms);

    // the room
    const roomHeader = el('div', 'jc-panel-header');
    this._title = el('h3', 'jc-panel-title');
    roomHeader.append(this._title, button('jc-panel-leave', 'Leave', () => void this._run(() => controller.leave())));
    this._roomInfo = el('div', 'jc-panel-roominfo');
    const handRow = el('div', 'jc-panel-handrow');
    this._handButton = button('jc-panel-hand', 'Raise hand', () => void this._toggleHand());
    this._takeButton = button('jc-panel-take', 'Take next hand', () => void this._run(() => controller.takeHand()));
    this._handNote = el('span', 'jc-panel-handnote');
    const openBoard = button('jc-panel-open-board', 'Open board', () => this.openBoard?.(), 'The room’s board in the main area, beside your notebook');
    const openVideo = button('jc-panel-open-video', 'Open video', () => this.openVideo?.(), 'The room’s video (camera and microphone) beside your notebook');
    handRow.append(this._handButton, openBoard, openVideo, this._takeButton, this._handNote);
    this._hands = el('ol', 'jc-panel-hands');
    this._hands.setAttribute('aria-label', 'Raised hands, in order');
    this.breakouts = new BreakoutsSection(controller, action => this._run(action));
    this._participants = el('div', 'jc-panel-participants');
    this._participants.setAttribute('aria-label', 'Participants');

    const chat = el('div', 'jc-panel-chat'); // not .jc-chat: that is the notebook view's
    this._history = el('div', 'jc-chat-history');
    this._history.setAttribute('role', 'log');
    this._history.setAttribute('aria-live', 'polite');
    const chatRow = el('div', 'jc-chat-row');
    this._chatInput = el('input', 'jc-chat-input jc-panel-chat-input');
    this._chatInput.type = 'text';
    this._chatInput.placeholder = 'Message';
    this._chatInput.maxLength = MAX_CHAT_TEXT;
    this._chatInput.dataset.lmSuppressShortcuts = 'true';
    this._chatInput.addEventListener('keydown', e => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        void this.sendChat();
      }
      e.stopPropagation();
    });
    chatRow.append(this._chatInput, button('jc-chat-send jc-panel-chat-send', 'Send', () => void this.sendChat()));
    chat.append(this._history, chatRow);

    const shelfNode = el('div', 'jc-panel-shelf');
    shelfNode.setAttribute('aria-label', 'The board and video shown in the panel');
    this.shelf = new WidgetShelf(shelfNode);
    this._room.append(
      roomHeader,
      this._roomInfo,
      shelfNode,
      this.breakouts.node,
      handRow,
      el('h4', 'jc-panel-subheading', 'Hands'),
      this._hands,
      el('h4', 'jc-panel-subheading', 'Participants'),
      this._participants,
      el('h4', 'jc-panel-subheading', 'Chat'),
      chat
    );

    this._offs.push(
      controller.changed.connect(() => this._render()),
      controller.session.room.changed.connect(() => this._bindChat()),
      controller.session.group.changed.connect(() => this._bindChat()),
      controller.roomEnded.connect(e => this._say(e.message))
    );
    this._bindChat();
    this._render();
  }

  /** Sends what is typed in the chat box. */
  async sendChat(): Promise<void> {
    const text = this._chatInput.value;
    if (!text.trim() || !this.controller.view) {
      return;
    }
    this._chatInput.value = '';
    try {
      this._addMessage(await this.controller.sendChat(text));
      this._say('');
    } catch (err) {
      this._say(refusalSentence(err));
      if (!this._chatInput.value) {
        this._chatInput.value = text; // nothing lost
      }
    }
  }

  /** Opens the join flow for `roomId` (the `?classroom=` link and `classroom:join`). */
  join(roomId: string, confirm = true): Promise<boolean> {
    return this._run(() => joinFlow(this.controller, roomId, confirm), false);
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this.shelf.fit();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.shelf.fit();
  }

  dispose(): void {
    this.shelf.dispose();
    this.breakouts.dispose();
    this._offs.forEach(off => off());
    this._offs = [];
    this._chatOff.forEach(off => off());
    this._chatOff = [];
    super.dispose();
  }

  // --- actions ---------------------------------------------------------------------

  private _create(): Promise<boolean> {
    return this._run(() => createFlow(this.controller), false);
  }

  private _toggleHand(): Promise<void> {
    const hands = this.controller.hands;
    return this._run(() => (hands?.raised ? this.controller.lowerHand() : this.controller.raiseHand()));
  }

  /** Runs an action; a refusal goes on the status line as a sentence. */
  private async _run<T>(action: () => Promise<T>, fallback?: T): Promise<T> {
    this._say('');
    try {
      return await action();
    } catch (err) {
      this._say(refusalSentence(err));
      return fallback as T;
    }
  }

  private _say(message: string): void {
    this._status.textContent = message;
  }

  // --- rendering -------------------------------------------------------------------

  private _render(): void {
    const controller = this.controller;
    const connection = controller.session.state.value;
    this.node.dataset.connection = connection;
    this._connection.textContent =
      connection === 'connected' ? '' : connection === 'connecting' ? 'Connecting to the classroom…' : 'Reconnecting to the classroom…';
    const link = controller.link;
    this.node.dataset.state = link ? 'room' : 'lobby';
    this._lobby.hidden = !!link;
    this._room.hidden = !link;
    if (link) {
      this._renderRoom(link);
    } else {
      this._renderLobby();
    }
  }

  private _renderLobby(): void {
    const lobby = this.controller.lobby;
    this._createButton.hidden = !lobby.canCreate;
    if (!lobby.loaded) {
      this._rooms.replaceChildren(el('li', 'jc-panel-empty', lobby.error || 'Loading the rooms…'));
      return;
    }
    if (!lobby.rooms.length) {
      this._rooms.replaceChildren(
        el('li', 'jc-panel-empty', lobby.canCreate ? 'No rooms yet: create one.' : 'No rooms yet.')
      );
      return;
    }
    this._rooms.replaceChildren(...lobby.rooms.map(room => this._roomItem(room)));
  }

  private _roomItem(room: RoomInfo): HTMLElement {
    const item = el('li', 'jc-panel-room');
    item.dataset.roomId = room.id;
    item.dataset.locked = String(room.locked);
    const title = el('span', 'jc-panel-room-title', room.title);
    const lock = room.locked ? inlineIcon('lock', 'jc-panel-room-lock', 'a password is needed') : el('span', 'jc-panel-room-lock');
    const count = el('span', 'jc-panel-room-members', `${room.members}/${room.max_members}`);
    count.title = `${room.members} here (at most ${room.max_members})`;
    const host = el('small', 'jc-panel-room-host', `host: ${room.host.name}`);
    const full = room.members >= room.max_members;
    const join = button('jc-panel-room-join', full ? 'Full' : 'Join', () => void this.join(room.id, false));
    join.disabled = full;
    item.append(lock, title, count, host, join);
    return item;
  }

  private _renderRoom(link: RoomLink): void {
    const controller = this.controller;
    const room = link.attached?.room;
    const state = link.state.value;
    this._room.dataset.linkState = state;
    this._title.textContent = room?.title ?? 'Joining…';
    const view = controller.view ?? link;
    const members = controller.members(view);
    const isHost = controller.isHost;
    // in a group room: the host there is the main room's host (on a visit) or the one it went to
    const hostsView = controller.hostsView;
    this._room.dataset.host = String(isHost);
    this._room.dataset.view = view === link ? 'main' : 'group';
    if (state === 'attached') {
      this._roomInfo.replaceChildren(`${members.length} here`);
      if (room?.locked) {
        this._roomInfo.append(' \u00B7 ', inlineIcon('lock', 'jc-panel-lock', 'password'), ' password');
      }
      if (room?.board_locked) {
        this._roomInfo.append(' \u00B7 board locked');
      }
    } else {
      this._roomInfo.textContent = link.message || 'Connecting…';
    }

    // the shown room's hands: the group's while in one (its host takes them there)
    const hands = controller.hands;
    const raised = !!hands?.raised;
    const position = hands ? hands.position(view.memberId) : 0;
    this._handButton.textContent = raised ? 'Lower hand' : 'Raise hand';
    this._handButton.setAttribute('aria-pressed', String(raised));
    this._handButton.disabled = view.state.value !== 'attached';
    this._handNote.textContent = raised ? `You are number ${position} in the queue.` : '';
    this._takeButton.hidden = !hostsView;
    this._takeButton.disabled = view.state.value !== 'attached' || !hands?.hands.length;

    const queue = hands?.hands ?? [];
    this._hands.replaceChildren(
      ...(queue.length
        ? queue.map((hand, i) => {
            const item = el('li', 'jc-panel-handitem');
            item.dataset.memberId = hand.member_id;
            item.append(el('span', 'jc-panel-handname', `${i + 1}. ${hand.name}${hand.member_id === view.memberId ? ' (you)' : ''}`));
            if (hostsView) {
              item.append(
                button('jc-panel-hand-take', 'Take', () => void this._run(() => controller.takeHand(hand.member_id))),
                button('jc-panel-hand-lower', 'Lower', () => void this._run(() => controller.lowerHand(hand.member_id)))
              );
            }
            return item;
          })
        : [el('li', 'jc-panel-empty', 'No hands raised.')])
    );

    this.breakouts.render();
    const hostId = view.attached?.room.host.id;
    this._participants.replaceChildren(
      ...members.map(member =>
        this._participant(member, member.id === hostId, hostsView && view.state.value === 'attached', view)
      )
    );
  }

  private _participant(member: Member, host: boolean, controls: boolean, link: RoomLink): HTMLElement {
    const you = member.id === link.memberId;
    const row = el('div', 'jc-panel-participant');
    row.dataset.memberId = member.id;
    row.dataset.role = host ? 'host' : 'member';
    const dot = el('span', 'jc-panel-participant-dot', '\u25CF');
    if (COLOR.test(member.color)) {
      dot.style.color = member.color;
    }
    row.append(dot, ' ', el('span', 'jc-panel-participant-name', member.name + (you ? ' (you)' : '')));
    if (host) {
      row.append(el('small', 'jc-panel-participant-host', ' host'));
    }
    const media = this.controller.media.get(member.id);
    if (media) {
      row.dataset.audio = media.audio ? 'on' : 'off';
      row.dataset.video = media.video ? 'on' : 'off';
      const off = [media.audio ? '' : 'mic off', media.video ? '' : 'camera off'].filter(Boolean).join(', ');
      if (off) {
        row.append(el('small', 'jc-panel-participant-media', ` ${off}`));
      }
    }
    const position = this.controller.hands?.position(member.id) ?? 0;
    if (position) {
      const hand = el('span', 'jc-panel-participant-hand');
      hand.append(inlineIcon('hand', 'jc-panel-participant-hand-icon', `hand raised, number ${position}`), String(position));
      row.dataset.hand = String(position);
      row.append(' ', hand);
    }
    if (controls && !you) {
      row.append(button('jc-panel-participant-kick', 'Kick', () => void this._run(() => this.controller.kick(member.id))));
    }
    return row;
  }

  // --- chat ------------------------------------------------------------------------

  /**
   * Follows the chat of the page's rooms: its main room and, during breakouts, its group's.
   * Each room's messages are kept here (the last SHOWN), so coming back from a group shows
   * the main room's chat as it went on meanwhile; the history shows the shown room's.
   */
  private _bindChat(): void {
    this._chatOff.forEach(off => off());
    this._chatOff = [];
    const links = [this.controller.link, this.controller.session.group.value].filter(
      (link): link is RoomLink => link !== null
    );
    for (const link of Array.from(this._logs.keys())) {
      if (!links.includes(link)) {
        this._logs.delete(link);
      }
    }
    for (const link of links) {
      if (!this._logs.has(link)) {
        this._logs.set(link, new Map());
        this._backlog(link, link.attached?.chat ?? []);
      }
      this._chatOff.push(
        link.onAttached.connect(ack => {
          this._logs.set(link, new Map());
          this._backlog(link, ack.chat ?? []);
          if (link === this.controller.view) {
            this._redrawChat();
          }
        }),
        link.on<ChatMessage>('chat:message', message => this._addMessage(message, link))
      );
    }
    this._redrawChat();
  }

  private _backlog(link: RoomLink, messages: ChatMessage[]): void {
    const log = this._logs.get(link);
    for (const message of messages.slice(-SHOWN)) {
      if (message && typeof message.text === 'string') {
        log?.set(message.id, message);
      }
    }
  }

  /** The shown room's kept messages, drawn again (the shown room changed). */
  private _redrawChat(): void {
    this._history.replaceChildren();
    const link = this.controller.view;
    for (const message of (link && this._logs.get(link)?.values()) || []) {
      this._drawMessage(message, link!);
    }
    this._history.scrollTop = this._history.scrollHeight;
  }

  private _addMessage(message: ChatMessage, link: RoomLink | null = this.controller.view): void {
    const log = link && this._logs.get(link);
    if (!message || typeof message.text !== 'string' || !log || log.has(message.id)) {
      return;
    }
    log.set(message.id, message);
    for (const id of log.keys()) {
      if (log.size <= SHOWN) {
        break;
      }
      log.delete(id); // the oldest first (a Map keeps insertion order)
    }
    if (link === this.controller.view) {
      this._drawMessage(message, link);
    }
  }

  private _drawMessage(message: ChatMessage, link: RoomLink): void {
    const stick = this._history.scrollHeight - this._history.scrollTop - this._history.clientHeight < 30;
    this._history.append(messageLine(message, link.memberId, id => link.members.get(id), 'jc-panel-message'));
    while (this._history.childElementCount > SHOWN) {
      this._history.firstElementChild?.remove();
    }
    if (stick) {
      this._history.scrollTop = this._history.scrollHeight;
    }
  }

  private _connection: HTMLDivElement;
  private _lobby: HTMLElement;
  private _room: HTMLElement;
  private _status: HTMLDivElement;
  private _createButton!: HTMLButtonElement;
  private _rooms: HTMLUListElement;
  private _title: HTMLHeadingElement;
  private _roomInfo: HTMLDivElement;
  private _handButton: HTMLButtonElement;
  private _takeButton: HTMLButtonElement;
  private _handNote: HTMLSpanElement;
  private _hands: HTMLOListElement;
  private _participants: HTMLDivElement;
  private _history: HTMLDivElement;
  private _chatInput: HTMLInputElement;
  /** Each followed room's last messages, by id, oldest first. */
  private _logs = new Map<RoomLink, Map<string, ChatMessage>>();
  private _offs: (() => void)[] = [];
  private _chatOff: (() => void)[] = [];
}

/**
 * The participants panel in the browser: `ParticipantsModel` / `ParticipantsView` of the
 * kernel's `Participants` widget.
 *
 * On the page's shared classroom socket (page/session.ts): who is here (joined, left, roles
 * from `room:updated`), who is the host, "(you)", microphone and camera state from the video
 * views' `rtc:media`, and the host's controls (make host, kick, lock the board, close the
 * room) sent from this page, so they work while the kernel runs a cell.
 */
import { refusalSentence } from '../chat/view';
import { KernelTickets } from '../kernel-ticket';
import { pageSession } from '../page/session';
import { modelRoom, PageSocketModel, PageSocketView } from '../page/view-link';

import type { Member, RtcMediaEvent } from '../protocol.generated';

export class ParticipantsModel extends PageSocketModel {
  static model_name = 'ParticipantsModel';
  static view_name = 'ParticipantsView';
}

const COLOR = /^#[0-9a-fA-F]{6}$/;

export class ParticipantsView extends PageSocketView {
  render(): void {
    this.el.classList.add('jc-participants', 'jc-participants-browser');
    this._header = document.createElement('div');
    this._header.className = 'jc-participants-count';
    this._list = document.createElement('div');
    this._list.className = 'jc-participants-list';
    this._controls = document.createElement('div');
    this._controls.className = 'jc-participants-controls';
    this._lockButton = this._button('jc-participants-lock', 'Lock board', () => void this._toggleLock());
    this._closeButton = this._button('jc-participants-close', 'Close room', () => void this._closeRoom());
    this._controls.append(this._lockButton, this._closeButton);
    this._boardState = document.createElement('div');
    this._boardState.className = 'jc-participants-board';
    this._status = document.createElement('div');
    this._status.className = 'jc-participants-status';
    this._status.setAttribute('role', 'status');
    this.el.append(this._header, this._list, this._boardState, this._controls, this._status);

    this._sayRendered();
    this._tickets = new KernelTickets(this);
    this._connect();
  }

  // --- host controls -----------------------------------------------------------

  kick(memberId: string): Promise<void> {
    return this._request('room:kick', { member_id: memberId });
  }

  makeHost(memberId: string): Promise<void> {
    return this._request('room:update', { host: memberId });
  }

  lockBoard(locked: boolean): Promise<void> {
    return this._request('room:update', { board_locked: locked });
  }

  private _toggleLock(): Promise<void> {
    return this.lockBoard(!this._link?.attached?.room.board_locked);
  }

  private async _closeRoom(): Promise<void> {
    if (!this._confirmClose) {
      this._confirmClose = true;
      this._closeButton.textContent = 'Click again to close';
      return;
    }
    await this._request('room:close', {});
  }

  private async _request(event: string, payload: Record<string, unknown>): Promise<void> {
    const link = this._link;
    if (!link) {
      return;
    }
    this._status.textContent = '';
    try {
      await link.request(event, { room_id: link.roomId, ...payload });
    } catch (err) {
      this._status.textContent = refusalSentence(err);
    }
  }

  // --- the page socket ---------------------------------------------------------

  private _connect(): void {
    const room = modelRoom(this.model);
    if (!room) {
      this.el.dataset.state = 'idle';
      this._status.textContent = 'Not in a room yet.';
      return;
    }
    const link = pageSession(room.socketPath).link(room.roomId, room.memberId, () =>
      this._tickets.ask(() => !!this._link)
    );
    this._link = link;
    const refresh = (): void => this._refresh();
    this._off.push(
      link.state.changed.connect(refresh),
      link.onAttached.connect(refresh),
      link.on('room:member_joined', refresh),
      link.on('room:member_left', (e: { member_id: string }) => {
        this._media.delete(e.member_id);
        refresh();
      }),
      link.on('room:updated', refresh),
      link.on<RtcMediaEvent>('rtc:media', e => {
        if (typeof e.from === 'string') {
          this._media.set(e.from, { audio: e.audio !== false, video: e.video !== false });
          refresh();
        }
      })
    );
    this._refresh();
  }

  private _refresh(): void {
    const link = this._link;
    if (!link) {
      return;
    }
    const state = link.state.value;
    this.el.dataset.state = state;
    if (state === 'ended') {
      this._header.textContent = 'You are no longer in this room.';
      this._list.replaceChildren();
      this._controls.hidden = true;
      this._boardState.textContent = '';
      this._status.textContent = link.message;
      return;
    }
    const room = link.attached?.room;
    const hostId = room?.host.id;
    const isHost = !!room && hostId === link.memberId;
    this.el.dataset.host = String(isHost);
    const members = Array.from(link.members.values());
    this._header.textContent = link.attached ? `${members.length} here` : 'Connecting…';
    this._list.replaceChildren(...members.map(m => this._row(m, m.id === hostId, isHost && state === 'attached')));
    const locked = !!room?.board_locked;
    this.el.dataset.boardLocked = String(locked);
    this._boardState.textContent = locked ? 'The board is locked: only the host draws.' : '';
    this._controls.hidden = !isHost;
    this._lockButton.textContent = locked ? 'Unlock board' : 'Lock board';
    this._lockButton.setAttribute('aria-pressed', String(locked));
    this._lockButton.disabled = state !== 'attached';
    this._closeButton.disabled = state !== 'attached';
    if (state !== 'attached' && link.message) {
      this._status.textContent = link.message;
    } else if (state === 'attached' && this._status.textContent === link.message) {
      this._status.textContent = '';
    }
  }

  private _row(member: Member, host: boolean, controls: boolean): HTMLElement {
    const you = member.id === this._link?.memberId;
    const row = document.createElement('div');
    row.className = 'jc-participant';
    row.dataset.memberId = member.id;
    row.dataset.role = host ? 'host' : 'member';
    const dot = document.createElement('span');
    dot.className = 'jc-participant-dot';
    dot.textContent = '\u25CF';
    if (COLOR.test(member.color)) {
      dot.style.color = member.color;
    }
    const name = document.createElement('span');
    name.className = 'jc-participant-name';
    name.textContent = member.name + (you ? ' (you)' : '');
    row.append(dot, ' ', name);
    if (host) {
      const badge = document.createElement('small');
      badge.className = 'jc-participant-host';
      badge.textContent = ' host';
      row.append(badge);
    }
    const media = this._media.get(member.id);
    if (media) {
      row.dataset.audio = media.audio ? 'on' : 'off';
      row.dataset.video = media.video ? 'on' : 'off';
      if (!media.audio) {
        const mic = document.createElement('span');
        mic.className = 'jc-participant-mic-off';
        mic.title = 'microphone off';
        mic.textContent = ' \u{1F507}';
        row.append(mic);
      }
      if (!media.video) {
        const cam = document.createElement('small');
        cam.className = 'jc-participant-camera-off';
        cam.textContent = ' camera off';
        row.append(cam);
      }
    }
    if (controls && !you) {
      row.append(
        this._button('jc-participant-make-host', 'Make host', () => void this.makeHost(member.id)),
        this._button('jc-participant-kick', 'Kick', () => void this.kick(member.id))
      );
    }
    return row;
  }

  private _button(cls: string, label: string, onClick: () => void): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = `jp-Button ${cls}`;
    button.textContent = label;
    button.addEventListener('click', onClick);
    return button;
  }

  private _header!: HTMLDivElement;
  private _list!: HTMLDivElement;
  private _controls!: HTMLDivElement;
  private _lockButton!: HTMLButtonElement;
  private _closeButton!: HTMLButtonElement;
  private _boardState!: HTMLDivElement;
  private _status!: HTMLDivElement;
  private _media = new Map<string, { audio: boolean; video: boolean }>();
  private _confirmClose = false;
}

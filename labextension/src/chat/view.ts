/**
 * The chat panel in the browser: `ChatModel` / `ChatView` of the kernel's `Chat` widget.
 *
 * The view lives on the page's shared classroom socket (page/session.ts): it shows the backlog
 * from the attach ack and every `chat:message` as it arrives, and sends with `chat:send`
 * itself, so chat works while the kernel runs a cell. The kernel is asked for one thing, a
 * ticket to attach the page socket to its membership.
 *
 * Text is only ever put in the page as text (`textContent`), never as HTML.
 */
import { KernelTickets } from '../kernel-ticket';
import { pageSession, RequestError } from '../page/session';
import { modelRoom, PageSocketModel, PageSocketView } from '../page/view-link';
import { MAX_CHAT_TEXT } from '../protocol.generated';

import type { Announcement, ChatMessage, ChatSent, Member } from '../protocol.generated';

/** Messages kept on screen (as the kernel-drawn chat). */
export const SHOWN = 200;
export const EVERYONE = '';

export class ChatModel extends PageSocketModel {
  static model_name = 'ChatModel';
  static view_name = 'ChatView';
}

/** A sentence for a person from a refused or failed request. */
export function refusalSentence(err: unknown): string {
  if (err instanceof RequestError) {
    switch (err.code) {
      case 'disconnected':
        return 'Not connected to the classroom; try again in a moment.';
      case 'timeout':
        return 'The classroom did not answer in time; try again.';
      case 'forbidden':
        return 'You are not allowed to do that here.';
      case 'not_member':
        return 'You are no longer in this room.';
      case 'not_found':
        return 'That room no longer exists.';
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return message ? message[0].toUpperCase() + message.slice(1).replace(/\.?$/, '.') : 'Something went wrong.';
}

function clock(ts: string): string {
  return ts.length >= 16 ? ts.slice(11, 16) : '';
}

const COLOR = /^#[0-9a-fA-F]{6}$/;

/** One chat line (time, sender in their colour, "direct" label, text as text): the notebook's
 * chat view and the side panel's chat show messages alike. */
export function messageLine(
  message: ChatMessage,
  me: string | undefined,
  member: (id: string) => Member | undefined,
  lineClass = 'jc-chat-message'
): HTMLElement {
  const line = document.createElement('div');
  line.className = lineClass;
  line.dataset.id = message.id;
  line.dataset.from = message.from.id;
  const time = document.createElement('small');
  time.className = 'jc-chat-time';
  time.textContent = clock(message.ts);
  const sender = document.createElement('b');
  sender.className = 'jc-chat-sender';
  sender.textContent = message.from.name;
  const color = member(message.from.id)?.color;
  if (color && COLOR.test(color)) {
    sender.style.color = color;
  }
  line.append(time, ' ', sender);
  if (message.to !== null && message.to !== undefined) {
    line.classList.add('jc-chat-direct');
    line.dataset.to = message.to;
    const direct = document.createElement('i');
    direct.className = 'jc-chat-direct-label';
    direct.textContent =
      message.to === me ? ' (direct, to you)' : ` (direct, to ${member(message.to)?.name ?? 'someone who left'})`;
    line.append(direct);
  }
  const text = document.createElement('span');
  text.className = 'jc-chat-text';
  text.textContent = message.text;
  line.append(': ', text);
  return line;
}

export class ChatView extends PageSocketView {
  render(): void {
    this.el.classList.add('jc-chat', 'jc-chat-browser');
    this.el.dataset.lmSuppressShortcuts = 'true'; // typing here is not notebook commands
    this._history = document.createElement('div');
    this._history.className = 'jc-chat-history';
    this._history.setAttribute('role', 'log');
    this._history.setAttribute('aria-live', 'polite');

    const row = document.createElement('div');
    row.className = 'jc-chat-row';
    this._to = document.createElement('select');
    this._to.className = 'jc-chat-to';
    this._to.title = 'Send to';
    this._input = document.createElement('input');
    this._input.type = 'text';
    this._input.className = 'jc-chat-input';
    this._input.placeholder = 'Message';
    this._input.maxLength = MAX_CHAT_TEXT;
    this._input.addEventListener('keydown', e => {
      // Enter sends; not while an input method composes a character (Enter picks it there)
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        void this.sendMessage();
      }
      e.stopPropagation(); // JupyterLab's notebook shortcuts must not see chat typing
    });
    this._sendButton = document.createElement('button');
    this._sendButton.type = 'button';
    this._sendButton.className = 'jp-Button jc-chat-send';
    this._sendButton.textContent = 'Send';
    this._sendButton.addEventListener('click', () => void this.sendMessage());
    row.append(this._to, this._input, this._sendButton);

    this._status = document.createElement('div');
    this._status.className = 'jc-chat-status';
    this._status.setAttribute('role', 'status');
    this.el.append(this._history, row, this._status);
    this._fillRecipients();

    this._sayRendered();
    this._tickets = new KernelTickets(this);
    this._tickets.onSlow = () => this._setStatus('Waiting for the kernel to answer (is a cell running?)…');
    this._connect();
  }

  /** Sends what is typed to the chosen recipient. */
  async sendMessage(): Promise<void> {
    const text = this._input.value;
    const link = this._link;
    if (!text.trim() || !link) {
      return;
    }
    const to = this._to.value || null;
    this._input.value = '';
    this._setStatus('');
    const payload: Record<string, unknown> = { room_id: link.roomId, text };
    if (to) {
      payload.to = to;
    }
    try {
      const ack = (await link.request('chat:send', payload)) as unknown as ChatSent;
      if (ack.message) {
        this._add(ack.message); // our own message shows at once (the broadcast is deduplicated)
      }
    } catch (err) {
      this._setStatus(refusalSentence(err));
      if (!this._input.value) {
        this._input.value = text; // nothing lost: the person can send it again
      }
    }
  }

  // --- the page socket ---------------------------------------------------------

  private _connect(): void {
    const room = modelRoom(this.model);
    if (!room) {
      this._setState('idle', 'Not in a room yet.');
      return;
    }
    const session = pageSession(room.socketPath);
    const link = session.link(room.roomId, room.memberId, () => this._tickets.ask(() => !!this._link));
    this._link = link;
    // an operator's announcement goes to every socket, not to a room
    const onAnnouncement = (a: Announcement): void => this._announce(a);
    session.socket.on('server:announcement', onAnnouncement);
    this._off.push(
      () => session.socket.off('server:announcement', onAnnouncement),
      link.state.changed.connect(() => this._showLinkState()),
      link.onAttached.connect(ack => this._backlog(ack.chat ?? [])),
      link.on<ChatMessage>('chat:message', message => this._add(message)),
      link.on('room:member_joined', () => this._fillRecipients()),
      link.on('room:member_left', () => this._fillRecipients()),
      link.on('room:updated', () => this._fillRecipients())
    );
    if (link.attached) {
      this._backlog(link.attached.chat ?? []); // another view of this room attached it already
    }
    this._showLinkState();
  }

  private _showLinkState(): void {
    const link = this._link;
    if (!link) {
      return;
    }
    const state = link.state.value;
    this._setState(state, state === 'attached' ? '' : link.message || (state === 'attaching' ? 'Connecting the chat…' : ''));
    this._fillRecipients();
  }

  /** The visible backlog (public and our DMs) from an attach: replaces what is shown. */
  private _backlog(messages: ChatMessage[]): void {
    this._messages = [];
    this._seen.clear();
    this._lines.clear();
    this._history.replaceChildren();
    for (const message of messages.slice(-SHOWN)) {
      this._add(message);
    }
    this._fillRecipients();
  }

  private _add(message: ChatMessage): void {
    if (!message || typeof message.text !== 'string' || this._seen.has(message.id)) {
      return;
    }
    this._seen.add(message.id);
    this._messages.push(message);
    const stick = this._history.scrollHeight - this._history.scrollTop - this._history.clientHeight < 30;
    const line = this._line(message);
    this._lines.set(message.id, line);
    this._history.append(line);
    while (this._messages.length > SHOWN) {
      const old = this._messages.shift()!;
      this._seen.delete(old.id);
      this._lines.get(old.id)?.remove();
      this._lines.delete(old.id);
    }
    if (stick) {
      this._history.scrollTop = this._history.scrollHeight;
    }
  }

  private _announce(announcement: Announcement): void {
    if (!announcement || typeof announcement.text !== 'string') {
      return;
    }
    const line = document.createElement('div');
    line.className = 'jc-chat-announcement';
    const time = document.createElement('small');
    time.className = 'jc-chat-time';
    time.textContent = clock(announcement.ts ?? '');
    const who = document.createElement('b');
    who.textContent = `Announcement from ${announcement.from}`;
    const text = document.createElement('span');
    text.className = 'jc-chat-text';
    text.textContent = announcement.text;
    line.append(time, ' ', who, ': ', text);
    this._history.append(line);
    this._history.scrollTop = this._history.scrollHeight;
  }

  private _member(id: string): Member | undefined {
    return this._link?.members.get(id);
  }

  private _line(message: ChatMessage): HTMLElement {
    return messageLine(message, this._link?.memberId, id => this._member(id));
  }

  /** The recipient picker: everyone, or one of the others present. */
  private _fillRecipients(): void {
    const link = this._link;
    const current = this._to.value;
    const others = link ? Array.from(link.members.values()).filter(m => m.id !== link.memberId) : [];
    others.sort((a, b) => a.name.localeCompare(b.name));
    const options: [string, string][] = [['Everyone', EVERYONE], ...others.map(m => [m.name, m.id] as [string, string])];
    this._to.replaceChildren(
      ...options.map(([label, value]) => {
        const option = document.createElement('option');
        option.value = value;
        option.textContent = label;
        return option;
      })
    );
    this._to.value = options.some(([, value]) => value === current) ? current : EVERYONE;
  }

  private _setState(state: string, message: string): void {
    this.el.dataset.state = state;
    this._setStatus(message);
    const usable = state === 'attached';
    this._sendButton.disabled = !usable;
  }

  private _setStatus(message: string): void {
    this._status.textContent = message;
  }

  private _history!: HTMLDivElement;
  private _to!: HTMLSelectElement;
  private _input!: HTMLInputElement;
  private _sendButton!: HTMLButtonElement;
  private _status!: HTMLDivElement;
  private _messages: ChatMessage[] = [];
  private _seen = new Set<string>();
  private _lines = new Map<string, HTMLElement>();
}

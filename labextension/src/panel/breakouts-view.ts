/**
 * The panel's breakouts section. The host of the main room: "Breakouts…" (the dialog), then
 * while open the groups with their members, the time left, "Message all groups", "Visit" a
 * group (and back), "Bring everyone back"; after the recall the groups' kept boards. A member
 * in a group: "You are in Group 1 — 12:30 left" (the panel shows the group's people and chat).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';

import { MAX_CHAT_TEXT } from '../protocol.generated';

import { BreakoutBoardView } from './breakout-board';
import { breakoutFlow } from './breakout-dialog';
import { clock } from './breakouts-model';
import type { ClassroomController } from './controller';

import type { BoardState, Breakout, Member } from '../protocol.generated';

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

function button(className: string, label: string, onClick: () => void): HTMLButtonElement {
  const node = el('button', `jp-Button jp-mod-styled ${className}`, label);
  node.type = 'button';
  node.addEventListener('click', onClick);
  return node;
}

/** Shows a kept board: by default in a dialog; the plugin puts it in the main area. */
export type BoardOpener = (title: string, board: BoardState) => void;

function boardInDialog(title: string, board: BoardState): void {
  void showDialog({
    title: `${title}'s board`,
    body: new BreakoutBoardView(title, board),
    buttons: [Dialog.okButton({ label: 'Close' })]
  });
}

export class BreakoutsSection {
  readonly node = el('div', 'jc-panel-breakouts');
  /** Where a kept board opens (plugin.ts: a main-area widget). */
  openBoard: BoardOpener = boardInDialog;

  constructor(
    private _controller: ClassroomController,
    private _run: (action: () => Promise<unknown>) => Promise<unknown>
  ) {
    this._line = el('div', 'jc-panel-breakout-line');
    this._line.setAttribute('aria-live', 'polite');
    this._back = button('jc-panel-breakout-back', 'Back to the main room', () =>
      void this._run(() => this._model()!.comeBack())
    );
    this._start = button('jc-panel-breakouts-start', 'Breakouts\u2026', () => void this._openDialog());
    this._timer = el('div', 'jc-panel-breakouts-timer');
    this._groups = el('ul', 'jc-panel-breakout-groups');
    this._groups.setAttribute('aria-label', 'Breakout groups');
    this._message = el('input', 'jp-mod-styled jc-panel-breakout-message');
    this._message.type = 'text';
    this._message.placeholder = 'Message to all groups';
    this._message.maxLength = MAX_CHAT_TEXT;
    this._message.dataset.lmSuppressShortcuts = 'true';
    this._message.addEventListener('keydown', e => {
      if (e.key === 'Enter' && !e.isComposing) {
        e.preventDefault();
        void this._broadcast();
      }
      e.stopPropagation();
    });
    this._broadcastButton = button('jc-panel-breakout-broadcast', 'Message all groups', () => void this._broadcast());
    this._recall = button('jc-panel-breakout-recall', 'Bring everyone back', () =>
      void this._run(() => this._model()!.recall())
    );
    const messageRow = el('div', 'jc-panel-breakout-messagerow');
    messageRow.append(this._message, this._broadcastButton);
    this._host = el('div', 'jc-panel-breakouts-host');
    this._host.append(this._timer, this._groups, messageRow, this._recall);
    this._keptHeading = el('h4', 'jc-panel-subheading', 'Kept boards');
    this._kept = el('ul', 'jc-panel-breakout-kept');
    this._kept.setAttribute('aria-label', 'The groups’ kept boards');
    const lineRow = el('div', 'jc-panel-breakout-linerow');
    lineRow.append(this._line, this._back);
    this.node.append(lineRow, this._start, this._host, this._keptHeading, this._kept);
    this.render();
  }

  render(): void {
    const model = this._model();
    const main = this._controller.link;
    const groups = model?.groups ?? null;
    const isHost = !!model?.isHost;
    this.node.dataset.state = groups ? 'open' : model?.kept.length ? 'recalled' : 'none';
    const line = model?.line() ?? '';
    this._line.textContent = line || (groups && !isHost && !model?.mine ? 'Breakouts are open; you stay in the main room.' : '');
    this._back.hidden = !(isHost && model?.current);
    const others = main ? Array.from(main.members.values()).filter(m => m.id !== main.memberId) : [];
    this._start.hidden = !(isHost && !groups && others.length > 0);
    this._start.disabled = main?.state.value !== 'attached';
    this._host.hidden = !(isHost && groups);
    if (isHost && groups && model) {
      const left = model.msLeft();
      this._timer.textContent = `Breakouts open${left === null ? '' : ` \u2014 ${clock(left)} left`}`;
      const current = model.current;
      this._groups.replaceChildren(...groups.map(group => this._groupItem(group, group === current)));
    }
    const kept = !groups ? (model?.kept ?? []) : [];
    this._keptHeading.hidden = this._kept.hidden = !kept.length;
    this._kept.replaceChildren(
      ...kept.map(group => {
        const item = el('li', 'jc-panel-breakout-keptitem');
        item.dataset.roomId = group.room_id;
        item.append(button('jc-panel-breakout-board', `${group.title}'s board`, () => void this._showBoard(group)));
        return item;
      })
    );
    this._tick(!!groups && model?.endsAt !== null);
  }

  dispose(): void {
    this._tick(false);
  }

  private _model() {
    return this._controller.breakouts;
  }

  private _name(id: string): string {
    const member: Member | undefined = this._controller.link?.members.get(id);
    return member?.name ?? 'someone away';
  }

  private _groupItem(group: Breakout, visiting: boolean): HTMLElement {
    const item = el('li', 'jc-panel-breakout-group');
    item.dataset.roomId = group.room_id;
    item.dataset.visiting = String(visiting);
    item.append(
      el('strong', 'jc-panel-breakout-title', group.title),
      el('span', 'jc-panel-breakout-members', ` ${group.members.map(id => this._name(id)).join(', ')} `),
      visiting
        ? button('jc-panel-breakout-back', 'Back', () => void this._run(() => this._model()!.comeBack()))
        : button('jc-panel-breakout-visit', 'Visit', () => void this._run(() => this._model()!.visit(group.room_id)))
    );
    return item;
  }

  private async _openDialog(): Promise<void> {
    const model = this._model();
    const main = this._controller.link;
    if (!model || !main) {
      return;
    }
    const others = this._controller.members(main).filter(m => m.id !== main.memberId);
    await breakoutFlow(others, options => model.start(options));
  }

  private async _broadcast(): Promise<void> {
    const text = this._message.value;
    const model = this._model();
    if (!text.trim() || !model) {
      return;
    }
    this._message.value = '';
    const sent = await this._run(async () => {
      await model.broadcast(text);
      return true;
    });
    if (sent !== true && !this._message.value) {
      this._message.value = text; // refused: nothing lost
    }
  }

  private async _showBoard(group: Breakout): Promise<void> {
    const model = this._model();
    if (!model) {
      return;
    }
    await this._run(async () => this.openBoard(group.title, await model.board(group.room_id)));
  }

  /** Once a second while a timer runs: the time left. */
  private _tick(on: boolean): void {
    if (on && this._interval === undefined) {
      this._interval = setInterval(() => this.render(), 1000);
    } else if (!on && this._interval !== undefined) {
      clearInterval(this._interval);
      this._interval = undefined;
    }
  }

  private _line: HTMLDivElement;
  private _back: HTMLButtonElement;
  private _start: HTMLButtonElement;
  private _host: HTMLDivElement;
  private _timer: HTMLDivElement;
  private _groups: HTMLUListElement;
  private _message: HTMLInputElement;
  private _broadcastButton: HTMLButtonElement;
  private _recall: HTMLButtonElement;
  private _keptHeading: HTMLHeadingElement;
  private _kept: HTMLUListElement;
  private _interval: ReturnType<typeof setInterval> | undefined;
}

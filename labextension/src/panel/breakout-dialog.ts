/**
 * The host's "Breakouts…" dialog: how many groups (a random split) or who goes in which group,
 * an optional timer in minutes, and whether each group starts with a copy of the board.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { MAX_BREAKOUT_MINUTES, MAX_BREAKOUTS, MIN_BREAKOUTS } from '../protocol.generated';

import { breakoutOptions } from './breakouts-model';
import type { BreakoutForm, BreakoutOptions } from './breakouts-model';
import type { Member } from '../protocol.generated';

function labelled(text: string, input: HTMLElement): HTMLLabelElement {
  const label = document.createElement('label');
  label.append(text, input);
  return label;
}

class BreakoutBody extends Widget implements Dialog.IBodyWidget<BreakoutForm> {
  constructor(
    private _members: Member[],
    previous: BreakoutForm | null,
    error: string
  ) {
    super();
    this.addClass('jc-panel-dialog');
    this.addClass('jc-breakout-dialog');
    if (error) {
      const p = document.createElement('p');
      p.className = 'jc-panel-dialog-error';
      p.setAttribute('role', 'alert');
      p.textContent = error;
      this.node.append(p);
    }
    this._count = this._input('number', 'count', previous?.count ?? String(MIN_BREAKOUTS));
    this._count.min = String(MIN_BREAKOUTS);
    this._count.max = String(MAX_BREAKOUTS);
    this._choose = this._input('checkbox', 'choose', '');
    this._choose.checked = previous?.choose ?? false;
    this._minutes = this._input('number', 'minutes', previous?.minutes ?? '');
    this._minutes.min = '1';
    this._minutes.max = String(MAX_BREAKOUT_MINUTES);
    this._minutes.placeholder = 'no timer';
    this._copy = this._input('checkbox', 'copy_board', '');
    this._copy.checked = previous?.copyBoard ?? false;
    this._assign = document.createElement('div');
    this._assign.className = 'jc-breakout-assign';
    this.node.append(
      labelled('Number of groups', this._count),
      labelled('Choose who goes where (else a random split) ', this._choose),
      this._assign,
      labelled('Minutes (optional timer)', this._minutes),
      labelled('Copy the board into each group ', this._copy)
    );
    const previousAssignment = previous?.assignment ?? {};
    const redraw = (): void => this._drawAssignment(previousAssignment);
    this._count.addEventListener('input', redraw);
    this._choose.addEventListener('change', redraw);
    redraw();
  }

  getValue(): BreakoutForm {
    return {
      count: this._count.value,
      choose: this._choose.checked,
      assignment: this._assignment(),
      minutes: this._minutes.value,
      copyBoard: this._copy.checked
    };
  }

  private _input(type: string, name: string, value: string): HTMLInputElement {
    const input = document.createElement('input');
    input.className = type === 'checkbox' ? '' : 'jp-mod-styled';
    input.type = type;
    input.name = name;
    input.value = value;
    input.dataset.lmSuppressShortcuts = 'true';
    return input;
  }

  /** One select per member (the host aside): which group, or none. */
  private _drawAssignment(previous: Record<string, number>): void {
    const current = { ...previous, ...this._assignment() };
    this._assign.hidden = !this._choose.checked;
    const count = Math.min(MAX_BREAKOUTS, Math.max(MIN_BREAKOUTS, Math.floor(Number(this._count.value)) || MIN_BREAKOUTS));
    this._assign.replaceChildren(
      ...this._members.map((member, index) => {
        const select = document.createElement('select');
        select.className = 'jp-mod-styled';
        select.name = member.id;
        select.dataset.memberName = member.name;
        const none = document.createElement('option');
        none.value = '0';
        none.textContent = 'main room';
        select.append(none);
        for (let g = 1; g <= count; g++) {
          const option = document.createElement('option');
          option.value = String(g);
          option.textContent = `Group ${g}`;
          select.append(option);
        }
        const chosen = current[member.id];
        select.value = String(chosen !== undefined && chosen <= count ? chosen : (index % count) + 1);
        return labelled(`${member.name} `, select);
      })
    );
  }

  private _assignment(): Record<string, number> {
    const assignment: Record<string, number> = {};
    for (const select of Array.from(this._assign.querySelectorAll('select'))) {
      assignment[select.name] = Number(select.value);
    }
    return assignment;
  }

  private _count: HTMLInputElement;
  private _choose: HTMLInputElement;
  private _minutes: HTMLInputElement;
  private _copy: HTMLInputElement;
  private _assign: HTMLDivElement;
}

/**
 * Asks the host how to split `members` (the main room's, the host aside), asked again while
 * the answer does not hold; then `open(options)` (a refusal is shown in the dialog and asked
 * again). Resolves true once the breakouts are open, false when cancelled.
 */
export async function breakoutFlow(members: Member[], open: (options: BreakoutOptions) => Promise<unknown>): Promise<boolean> {
  let previous: BreakoutForm | null = null;
  let error = '';
  for (;;) {
    const result: Dialog.IResult<BreakoutForm> = await showDialog<BreakoutForm>({
      title: 'Breakouts',
      body: new BreakoutBody(members, previous, error),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Open the groups' })],
      focusNodeSelector: 'input'
    });
    if (!result.button.accept || !result.value) {
      return false;
    }
    previous = result.value;
    const options = breakoutOptions(result.value, members.length);
    if (typeof options === 'string') {
      error = options;
      continue;
    }
    try {
      await open(options);
      return true;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
  }
}

/**
 * The panel's dialogs (JupyterLab `Dialog`): join a room (with its password when it has one),
 * create a room, and the join flow that asks again after a wrong password.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { refusalSentence } from '../chat/view';
import { RequestError } from '../page/session';
import { MAX_PASSWORD, MAX_TITLE } from '../protocol.generated';

import type { ClassroomController } from './controller';
import type { RoomInfo } from '../protocol.generated';

/** A dialog body of labelled inputs; its value is the inputs' values by name. */
class FormBody extends Widget implements Dialog.IBodyWidget<Record<string, string>> {
  constructor(
    fields: { name: string; label: string; type: string; maxLength: number; placeholder?: string }[],
    intro: string,
    error: string
  ) {
    super();
    this.addClass('jc-panel-dialog');
    if (intro) {
      const p = document.createElement('p');
      p.textContent = intro;
      this.node.append(p);
    }
    if (error) {
      const p = document.createElement('p');
      p.className = 'jc-panel-dialog-error';
      p.setAttribute('role', 'alert');
      p.textContent = error;
      this.node.append(p);
    }
    for (const field of fields) {
      const label = document.createElement('label');
      label.textContent = field.label;
      const input = document.createElement('input');
      input.className = 'jp-mod-styled';
      input.type = field.type;
      input.name = field.name;
      input.maxLength = field.maxLength;
      input.placeholder = field.placeholder ?? '';
      input.dataset.lmSuppressShortcuts = 'true';
      label.append(input);
      this.node.append(label);
      this._inputs.push(input);
    }
  }

  getValue(): Record<string, string> {
    return Object.fromEntries(this._inputs.map(input => [input.name, input.value]));
  }

  private _inputs: HTMLInputElement[] = [];
}

/** The join dialog: "Join <title>", a password field when the room has (or may have) one.
 * Resolves with the password ('' for none), or null when cancelled. */
export async function askJoin(room: RoomInfo | undefined, roomId: string, error = ''): Promise<string | null> {
  const locked = room ? room.locked : true;
  const title = room ? room.title : roomId;
  const intro = room
    ? `${room.members} of ${room.max_members} here; hosted by ${room.host.name}.`
    : 'This room is not in the lobby (it may be unlisted): if it has a password, type it.';
  const fields = locked
    ? [{ name: 'password', label: 'Password', type: 'password', maxLength: MAX_PASSWORD }]
    : [];
  const result = await showDialog({
    title: `Join “${title}”`,
    body: new FormBody(fields, intro, error),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Join' })],
    focusNodeSelector: 'input'
  });
  if (!result.button.accept) {
    return null;
  }
  return result.value?.password ?? '';
}

/** The create dialog: title and an optional password. Null when cancelled. */
export async function askCreate(error = ''): Promise<{ title: string; password: string } | null> {
  const result = await showDialog({
    title: 'Create a room',
    body: new FormBody(
      [
        { name: 'title', label: 'Title', type: 'text', maxLength: MAX_TITLE, placeholder: 'Linear algebra' },
        {
          name: 'password',
          label: 'Password (optional)',
          type: 'password',
          maxLength: MAX_PASSWORD,
          placeholder: 'none: anyone may join'
        }
      ],
      '',
      error
    ),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Create' })],
    focusNodeSelector: 'input'
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  return { title: result.value.title ?? '', password: result.value.password ?? '' };
}

/**
 * Joins `roomId`: directly when the lobby says it has no password (unless `confirm`), else
 * through the join dialog, asked again while the password is wrong. Resolves true once in.
 */
export async function joinFlow(controller: ClassroomController, roomId: string, confirm = false): Promise<boolean> {
  let room = controller.lobby.find(roomId);
  let error = '';
  let password: string | null = '';
  if (confirm || !room || room.locked) {
    password = await askJoin(room, roomId);
  }
  for (;;) {
    if (password === null) {
      return false;
    }
    try {
      await controller.join(roomId, password || undefined);
      return true;
    } catch (err) {
      if (!(err instanceof RequestError) || !['bad_password', 'rate_limited'].includes(err.code)) {
        await showDialog({
          title: 'Could not join the room',
          body: joinRefusal(err),
          buttons: [Dialog.okButton()]
        });
        return false;
      }
      error = err.code === 'bad_password' ? 'That password is not right; try again.' : err.message;
      room = controller.lobby.find(roomId) ?? room;
      // the server wants a password, whatever the lobby said: ask with the field shown
      password = await askJoin(room ? { ...room, locked: true } : undefined, roomId, error);
    }
  }
}

/** Creates a room through the create dialog (asked again while the title is refused). */
export async function createFlow(controller: ClassroomController): Promise<boolean> {
  let error = '';
  for (;;) {
    const answer = await askCreate(error);
    if (!answer) {
      return false;
    }
    if (!answer.title.trim()) {
      error = 'A room needs a title.';
      continue;
    }
    try {
      await controller.create(answer.title.trim(), answer.password);
      return true;
    } catch (err) {
      error = refusalSentence(err);
      if (err instanceof RequestError && err.code === 'forbidden') {
        error = 'You may not create rooms on this server: ask your instructor or an administrator.';
      }
    }
  }
}

function joinRefusal(err: unknown): string {
  if (err instanceof RequestError) {
    switch (err.code) {
      case 'room_full':
        return 'The room is full.';
      case 'forbidden':
        return `You may not join this room: ${err.message}`;
      case 'not_found':
        return 'That room no longer exists.';
    }
  }
  return refusalSentence(err);
}

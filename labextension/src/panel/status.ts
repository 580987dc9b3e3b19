/**
 * The status-bar item: the page's room, how many are in it, the connection, and your hand.
 * A click opens the panel.
 */
import { Widget } from '@lumino/widgets';

import type { ClassroomController } from './controller';

/** The item's text and state, from the controller (kept apart from the DOM for tests). */
export function statusSummary(controller: ClassroomController): { text: string; title: string; state: string } {
  const connection = controller.session.state.value;
  const link = controller.link;
  if (connection !== 'connected') {
    const text = connection === 'connecting' ? 'Classroom: connecting…' : 'Classroom: reconnecting…';
    return { text, title: 'The connection to the classroom server', state: connection };
  }
  if (!link) {
    const rooms = controller.lobby.rooms.length;
    return {
      text: 'Classroom',
      title: `Not in a room; ${rooms} room${rooms === 1 ? '' : 's'} in the lobby. Click to open the classroom panel.`,
      state: 'lobby'
    };
  }
  const room = link.attached?.room;
  const members = link.members.size;
  const position = controller.hands?.position(controller.view?.memberId ?? link.memberId) ?? 0;
  const hand = position ? ` \u00B7 your hand: #${position}` : '';
  const attached = link.state.value === 'attached';
  const text = `${room?.title ?? 'Classroom'} \u00B7 ${members} here${hand}${attached ? '' : ' \u00B7 reconnecting…'}`;
  const title =
    `Classroom “${room?.title ?? link.roomId}”: ${members} here` +
    (position ? `; your hand is up (number ${position})` : '') +
    (attached ? '' : `; ${link.message || 'joining'}`);
  return { text, title, state: attached ? 'room' : 'joining' };
}

export class ClassroomStatus extends Widget {
  constructor(
    private _controller: ClassroomController,
    onClick: () => void
  ) {
    super();
    this.addClass('jc-status');
    this.node.setAttribute('role', 'button');
    this.node.tabIndex = 0;
    this.node.addEventListener('click', onClick);
    this.node.addEventListener('keydown', e => {
      if (e.key === 'Enter' || e.key === ' ') {
        onClick();
      }
    });
    this._off = _controller.changed.connect(() => this.update());
    this.update();
  }

  update(): void {
    const { text, title, state } = statusSummary(this._controller);
    this.node.textContent = text;
    this.node.title = title;
    this.node.dataset.state = state;
  }

  dispose(): void {
    this._off();
    super.dispose();
  }

  private _off: () => void;
}

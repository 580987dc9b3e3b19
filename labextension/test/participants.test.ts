// The browser participants list on the page session: members live, host and "(you)",
// microphone/camera state, and the host's controls sent on the page socket.
import './setup-dom';

import { strict as assert } from 'node:assert';
import { afterEach, describe, it } from 'node:test';

import { sockets } from './stubs/socketio';
import { waitFor } from './fake-rtc';
import { ADA, BOB, CY, render, Rendered, room, texts } from './page-views';
import { ParticipantsModel, ParticipantsView } from '../src/participants/view';
import { resetPageSessions } from '../src/page/session';

const views: ParticipantsView[] = [];

async function participants(options: Parameters<typeof render>[2] = {}): Promise<Rendered<ParticipantsView>> {
  const r = await render<ParticipantsView>(ParticipantsModel, ParticipantsView, options);
  views.push(r.view);
  return r;
}

function row(el: HTMLElement, memberId: string): HTMLElement {
  return el.querySelector(`.jc-participant[data-member-id="${memberId}"]`) as HTMLElement;
}

function button(scope: Element, label: string): HTMLButtonElement | undefined {
  return Array.from(scope.querySelectorAll('button')).find(b => b.textContent === label);
}

afterEach(() => {
  for (const view of views.splice(0)) {
    view.remove();
  }
  resetPageSessions();
  sockets.length = 0;
});

describe('ParticipantsView', () => {
  it('tells the kernel it rendered (the kernel falls back to its own drawing otherwise)', async () => {
    const { model } = await participants();
    assert.deepEqual(
      (model as unknown as { sent: { type: string }[] }).sent.filter(m => m.type === 'rendered'),
      [{ type: 'rendered' }]
    );
  });

  it('lists who is here: the host, and "(you)"', async () => {
    const { el } = await participants({ you: BOB });
    assert.ok(el.classList.contains('jc-participants'));
    assert.equal(el.querySelector('.jc-participants-count')!.textContent, '3 here');
    assert.deepEqual(texts(el, '.jc-participant .jc-participant-name'), ['Ada', 'Bob (you)', 'Cy']);
    assert.equal(row(el, ADA.id).dataset.role, 'host');
    assert.ok(row(el, ADA.id).querySelector('.jc-participant-host'));
    assert.equal(row(el, BOB.id).querySelector('.jc-participant-host'), null);
    // a member has no host controls
    assert.equal(el.querySelectorAll('.jc-participant button').length, 0);
    assert.equal((el.querySelector('.jc-participants-controls') as HTMLElement).hidden, true);
  });

  it('follows joins, leaves, a new host and microphone/camera state', async () => {
    const { el, socket } = await participants({ you: BOB });
    socket.fire('room:member_joined', {
      room_id: 'r1',
      member: { id: 'm-dee', name: '<b>Dee</b>', color: 'red;background:url(x)', role: 'member' }
    });
    assert.deepEqual(texts(el, '.jc-participant-name'), ['Ada', 'Bob (you)', 'Cy', '<b>Dee</b>']);
    assert.equal(el.querySelectorAll('.jc-participant b').length, 0, 'names are text');
    socket.fire('room:member_left', { room_id: 'r1', member_id: CY.id, reason: 'left' });
    assert.equal(row(el, CY.id), null);
    assert.equal(el.querySelector('.jc-participants-count')!.textContent, '3 here');

    socket.fire('rtc:media', { room_id: 'r1', from: ADA.id, audio: false, video: true });
    assert.equal(row(el, ADA.id).dataset.audio, 'off');
    assert.ok(row(el, ADA.id).querySelector('.jc-participant-mic-off'));
    socket.fire('rtc:media', { room_id: 'r1', from: ADA.id, audio: true, video: false });
    assert.equal(row(el, ADA.id).querySelector('.jc-participant-mic-off'), null);
    assert.match(row(el, ADA.id).textContent!, /camera off/);

    // Ada hands the room to Bob: Bob gets the controls
    socket.fire('room:updated', { room: room(BOB) });
    assert.equal(row(el, BOB.id).dataset.role, 'host');
    assert.equal(el.dataset.host, 'true');
    assert.ok(button(row(el, ADA.id), 'Kick'));
  });

  it("sends the host's controls on the page socket: make host, kick, lock, close", async () => {
    const { el, socket, requests } = await participants();
    const cy = row(el, CY.id);
    assert.equal(button(row(el, ADA.id), 'Kick'), undefined, 'no controls on oneself');
    button(cy, 'Make host')!.click();
    await waitFor(() => requests().length === 1, 'room:update host');
    button(row(el, BOB.id), 'Kick')!.click();
    await waitFor(() => requests().length === 2, 'room:kick');
    button(el, 'Lock board')!.click();
    await waitFor(() => requests().length === 3, 'lock');
    assert.deepEqual(requests(), [
      { event: 'room:update', payload: { room_id: 'r1', host: CY.id } },
      { event: 'room:kick', payload: { room_id: 'r1', member_id: BOB.id } },
      { event: 'room:update', payload: { room_id: 'r1', board_locked: true } }
    ]);
    // the server says the board is locked: the button unlocks now
    socket.fire('room:updated', { room: room(ADA, true) });
    assert.equal(el.dataset.boardLocked, 'true');
    assert.match(el.querySelector('.jc-participants-board')!.textContent!, /locked/);
    button(el, 'Unlock board')!.click();
    await waitFor(() => requests().length === 4, 'unlock');
    assert.deepEqual(requests()[3].payload, { room_id: 'r1', board_locked: false });
    // closing asks twice
    button(el, 'Close room')!.click();
    assert.equal(requests().length, 4);
    button(el, 'Click again to close')!.click();
    await waitFor(() => requests().length === 5, 'close');
    assert.deepEqual(requests()[4], { event: 'room:close', payload: { room_id: 'r1' } });
  });

  it('shows a refusal as a sentence', async () => {
    const { el } = await participants({
      reply: () => ({ ok: false, error: { code: 'forbidden', message: 'only the host may do that' } })
    });
    button(row(el, BOB.id), 'Kick')!.click();
    const status = el.querySelector('.jc-participants-status')!;
    await waitFor(() => status.textContent !== '', 'status');
    assert.equal(status.textContent, 'You are not allowed to do that here.');
  });

  it('says when this member was removed', async () => {
    const { el, socket } = await participants({ you: BOB });
    socket.fire('room:member_left', { room_id: 'r1', member_id: BOB.id, reason: 'kicked' });
    assert.equal(el.dataset.state, 'ended');
    assert.equal(el.querySelector('.jc-participants-count')!.textContent, 'You are no longer in this room.');
    assert.match(el.querySelector('.jc-participants-status')!.textContent!, /removed/);
    assert.equal(el.querySelectorAll('.jc-participant').length, 0);
  });
});

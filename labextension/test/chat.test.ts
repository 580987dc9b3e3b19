// The browser chat on the page session: backlog, live messages, sending with Enter and the
// button, direct messages, refusals as sentences, and text that is never HTML.
import './setup-dom';

import { strict as assert } from 'node:assert';
import { afterEach, describe, it } from 'node:test';

import { sockets } from './stubs/socketio';
import { sleep, waitFor } from './fake-rtc';
import { ADA, BOB, CY, message, render, Rendered, texts } from './page-views';
import { ChatModel, ChatView, SHOWN } from '../src/chat/view';
import { resetPageSessions } from '../src/page/session';

const views: ChatView[] = [];

async function chat(options: Parameters<typeof render>[2] = {}): Promise<Rendered<ChatView>> {
  const r = await render<ChatView>(ChatModel, ChatView, options);
  views.push(r.view);
  return r;
}

function input(el: HTMLElement): HTMLInputElement {
  return el.querySelector('input[type=text]') as HTMLInputElement;
}

function pressEnter(el: HTMLElement): void {
  input(el).dispatchEvent(new window.KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
}

function sendButton(el: HTMLElement): HTMLButtonElement {
  return Array.from(el.querySelectorAll('button')).find(b => b.textContent === 'Send') as HTMLButtonElement;
}

/** The server's chat:send: accepts and hands back the message, as events.py does. */
function accepting(from = ADA): (event: string, payload: any) => unknown {
  let n = 0;
  return (event, payload) =>
    event === 'chat:send' ? { ok: true, message: message(`sent-${++n}`, from, payload.text, payload.to ?? null) } : { ok: true };
}

afterEach(() => {
  for (const view of views.splice(0)) {
    view.remove();
  }
  resetPageSessions();
  sockets.length = 0;
});

describe('ChatView', () => {
  it('tells the kernel it rendered (the kernel falls back to its own drawing otherwise)', async () => {
    const { model } = await chat();
    assert.deepEqual(
      (model as unknown as { sent: { type: string }[] }).sent.filter(m => m.type === 'rendered'),
      [{ type: 'rendered' }]
    );
  });

  it('shows the backlog from the attach ack, as text, with direct messages marked', async () => {
    const { el } = await chat({
      you: BOB,
      chat: [
        message('c1', ADA, 'Welcome!'),
        message('c2', CY, '<img src=x onerror="window.__jcXss=1"> & <b>bold</b>'),
        message('c3', ADA, 'just for you', BOB.id)
      ]
    });
    assert.ok(el.classList.contains('jc-chat'));
    const lines = texts(el, '.jc-chat-message');
    assert.deepEqual(lines, [
      '10:42 Ada: Welcome!',
      '10:42 Cy: <img src=x onerror="window.__jcXss=1"> & <b>bold</b>',
      '10:42 Ada (direct, to you): just for you'
    ]);
    assert.equal(el.querySelectorAll('.jc-chat img, .jc-chat-text b').length, 0, 'no HTML from text');
    const direct = el.querySelectorAll<HTMLElement>('.jc-chat-message.jc-chat-direct');
    assert.equal(direct.length, 1);
    assert.equal(direct[0].dataset.to, BOB.id);
    assert.equal((el.querySelector('.jc-chat-sender') as HTMLElement).style.color, 'rgb(230, 25, 75)');
  });

  it('adds live messages of its room once, and ignores other rooms', async () => {
    const { el, socket } = await chat({ chat: [message('c1', ADA, 'first')] });
    socket.fire('chat:message', message('c2', BOB, 'second'));
    socket.fire('chat:message', message('c2', BOB, 'second')); // the same message again
    socket.fire('chat:message', { ...message('c3', BOB, 'elsewhere'), room_id: 'r2' });
    assert.deepEqual(texts(el, '.jc-chat-text'), ['first', 'second']);
  });

  it('sends with Enter and with the Send button; its own message shows from the ack', async () => {
    const { el, requests } = await chat({ reply: accepting() });
    input(el).value = 'hello by enter';
    pressEnter(el);
    await waitFor(() => texts(el, '.jc-chat-text').includes('hello by enter'), 'own message');
    assert.equal(input(el).value, '');
    input(el).value = 'hello by button';
    sendButton(el).click();
    await waitFor(() => texts(el, '.jc-chat-text').includes('hello by button'), 'second message');
    assert.deepEqual(
      requests().map(r => r.payload),
      [
        { room_id: 'r1', text: 'hello by enter' },
        { room_id: 'r1', text: 'hello by button' }
      ]
    );
    // blank text sends nothing
    input(el).value = '   ';
    pressEnter(el);
    await sleep(5);
    assert.equal(requests().length, 2);
  });

  it('sends a direct message to the member chosen, and marks it', async () => {
    const { el, socket, requests } = await chat({ reply: accepting() });
    const to = el.querySelector('select.jc-chat-to') as HTMLSelectElement;
    assert.deepEqual(
      Array.from(to.options).map(o => [o.textContent, o.value]),
      [['Everyone', ''], ['Bob', BOB.id], ['Cy', CY.id]],
      'everyone, then the others (not oneself)'
    );
    to.value = CY.id;
    input(el).value = 'psst';
    pressEnter(el);
    await waitFor(() => texts(el, '.jc-chat-text').includes('psst'), 'direct message shown');
    assert.deepEqual(requests()[0].payload, { room_id: 'r1', text: 'psst', to: CY.id });
    assert.equal(texts(el, '.jc-chat-direct')[0], '10:42 Ada (direct, to Cy): psst');

    // the recipient leaves: the picker goes back to everyone; a newcomer is offered
    socket.fire('room:member_left', { room_id: 'r1', member_id: CY.id, reason: 'left' });
    assert.equal(to.value, '');
    socket.fire('room:member_joined', {
      room_id: 'r1',
      member: { id: 'm-dee', name: 'Dee', color: '#911eb4', role: 'member' }
    });
    assert.deepEqual(
      Array.from(to.options).map(o => o.textContent),
      ['Everyone', 'Bob', 'Dee']
    );
  });

  it('shows a refusal as a sentence and gives the text back', async () => {
    const { el } = await chat({
      reply: () => ({ ok: false, error: { code: 'rate_limited', message: 'you are sending messages too fast' } })
    });
    input(el).value = 'one more';
    pressEnter(el);
    const status = el.querySelector('.jc-chat-status')!;
    await waitFor(() => status.textContent !== '', 'a status line');
    assert.equal(status.textContent, 'You are sending messages too fast.');
    assert.equal(input(el).value, 'one more');
    assert.equal(el.querySelectorAll('.jc-chat-message').length, 0);
  });

  it('says so when the connection is gone, and takes the backlog again on re-attach', async () => {
    const { el, socket } = await chat({ reply: accepting(), chat: [message('c1', ADA, 'before')] });
    socket.serverDisconnect();
    assert.equal(el.dataset.state, 'detached');
    assert.equal(sendButton(el).disabled, true);
    input(el).value = 'lost?';
    pressEnter(el);
    await waitFor(() => el.querySelector('.jc-chat-status')!.textContent !== '', 'status');
    assert.match(el.querySelector('.jc-chat-status')!.textContent!, /reconnecting|Not connected/);
    assert.equal(input(el).value, 'lost?');
    socket.serverConnect();
    await waitFor(() => el.dataset.state === 'attached', 're-attached');
    assert.deepEqual(texts(el, '.jc-chat-text'), ['before'], 'the backlog, not twice');
    assert.equal(sendButton(el).disabled, false);
  });

  it("shows an operator's announcement, as text", async () => {
    const { el, socket } = await chat();
    socket.fire('server:announcement', { text: 'Server restarts at <b>noon</b>', from: 'ops', ts: '2026-01-01T11:00:00+00:00' });
    assert.deepEqual(texts(el, '.jc-chat-announcement'), ['11:00 Announcement from ops: Server restarts at <b>noon</b>']);
  });

  it(`keeps the last ${SHOWN} messages`, async () => {
    const { el, socket } = await chat();
    for (let i = 0; i < SHOWN + 5; i++) {
      socket.fire('chat:message', message(`m${i}`, BOB, `n${i}`));
    }
    const shown = texts(el, '.jc-chat-text');
    assert.equal(shown.length, SHOWN);
    assert.equal(shown[0], 'n5');
  });

  it('shares the page socket with the other views of the room', async () => {
    const first = await chat();
    const count = sockets.length;
    const second = await chat();
    assert.equal(sockets.length, count, 'no second socket');
    assert.equal(first.view.link, second.view.link);
  });
});

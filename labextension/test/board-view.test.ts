// The board view in jsdom, against the real page session over a fake socket: local ink is
// sent in one batch per frame and its echo is not drawn twice, a refused op goes and says why,
// a locked board refuses the pen at once, undo and redo name the right ops.
import './setup-dom';

import { strict as assert } from 'node:assert';
import { afterEach, describe, it } from 'node:test';

import { waitFor } from './fake-rtc';
import { FakeSocket, sockets } from './stubs/socketio';
import { resetPageSessions } from '../src/page/session';
import { BoardCanvasModel, BoardCanvasView } from '../src/board/view';

const g = globalThis as Record<string, any>;
g.requestAnimationFrame ??= (cb: (t: number) => void) => setTimeout(() => cb(performance.now()), 1);
g.cancelAnimationFrame ??= (id: ReturnType<typeof setTimeout>) => clearTimeout(id);

/** Every canvas gets a context that records what is drawn. */
const drawn: string[] = [];
(window as any).HTMLCanvasElement.prototype.getContext = function () {
  const state: Record<string, unknown> = {};
  return new Proxy(state, {
    get: (target, prop: string) =>
      prop in target ? target[prop] : (...args: unknown[]) => drawn.push(`${prop}(${args.length})`),
    set: (target, prop: string, value) => ((target[prop] = value), true)
  });
};

const ADA = { id: 'm-ada', name: 'Ada', color: '#ff0000', role: 'host' as const };
const BOB = { id: 'm-bob', name: 'Bob', color: '#00ff00', role: 'member' as const };
const room = (locked = false) => ({
  id: 'r1',
  title: 'Room',
  host: { id: ADA.id, name: ADA.name },
  members: 2,
  locked: false,
  board_locked: locked,
  created_at: '',
  max_members: 10
});

interface Harness {
  view: BoardCanvasView;
  socket: FakeSocket;
  el: HTMLElement;
  ink: HTMLElement;
  ops: () => any[];
}

/** Bob's board: rendered, given a ticket by the "kernel", attached by the "server". */
async function render(board: unknown[] = []): Promise<Harness> {
  const model = new BoardCanvasModel({ room_id: 'r1', member_id: BOB.id, socket_path: '/p' } as any) as any;
  const view = new BoardCanvasView({ model } as any);
  view.render();
  const socket = sockets[sockets.length - 1];
  let seq = board.length;
  socket.ack = (event, payload) => {
    if (event === 'room:attach') {
      return {
        ok: true,
        room: room(),
        you: BOB,
        members: [ADA, BOB],
        rtc: { ice_servers: [], max_publishers: 6 },
        board: { seq, ops: board, complete: true },
        chat: []
      };
    }
    if (event === 'board:op') {
      return { ok: true, seq: ++seq };
    }
    if (event === 'board:ops') {
      return { ok: true, results: (payload as { ops: unknown[] }).ops.map(() => ({ seq: ++seq })) };
    }
    return event === 'room:ticket' ? { ok: true, ticket: 'spare', ttl: 60 } : { ok: true };
  };
  socket.serverConnect();
  // the view tells the kernel it loaded before anything else (else the kernel falls back)
  assert.deepEqual(model.sent[0], { type: 'rendered' });
  const asked = (): { type: string; request_id: string } | undefined =>
    (model.sent as { type: string; request_id: string }[]).find(m => m.type === 'ticket_request');
  await waitFor(() => asked() !== undefined, 'ticket asked');
  const request = asked()!;
  model.trigger('msg:custom', { type: 'ticket', ticket: 'k', request_id: request.request_id });
  const el = view.el as unknown as HTMLElement;
  await waitFor(() => el.dataset.state === 'attached', 'attached');
  const ink = el.querySelector('.jc-board-ink') as HTMLElement;
  // what the page sent, op by op, whether alone (`board:op`) or a frame's batch (`board:ops`)
  const ops = (): any[] =>
    socket.emitted.flatMap(e =>
      e.event === 'board:op' ? [e.payload.op] : e.event === 'board:ops' ? e.payload.ops : []
    );
  return { view, socket, el, ink, ops };
}

function pointer(el: HTMLElement, kind: string, x: number, y: number): void {
  const event = new window.MouseEvent(kind, { clientX: x, clientY: y, button: 0 });
  for (const [key, value] of Object.entries({ pointerId: 1, pointerType: 'mouse', isPrimary: true })) {
    Object.defineProperty(event, key, { value });
  }
  el.dispatchEvent(event);
}

const frame = (): Promise<void> => new Promise(resolve => setTimeout(resolve, 10));

afterEach(() => {
  resetPageSessions();
  sockets.length = 0;
});

describe('BoardCanvasView', () => {
  it('draws local ink at the next frame, sends it in one batch, and does not draw its echo', async () => {
    const { view, socket, ink, ops, el } = await render();
    assert.equal(el.dataset.mode, 'browser');
    drawn.length = 0;
    pointer(ink, 'pointerdown', 10, 20);
    pointer(ink, 'pointermove', 30, 40);
    pointer(ink, 'pointermove', 50, 60);
    assert.equal(ops().length, 0, 'nothing before the frame');
    await frame();
    assert.deepEqual(
      ops().map(op => op.type),
      ['stroke', 'extend']
    );
    assert.deepEqual(
      socket.emitted.filter(e => e.event.startsWith('board:op')).map(e => e.event),
      ['board:ops'],
      "the frame's two ops in one message"
    );
    assert.deepEqual(ops()[1].points, [
      [30, 40],
      [50, 60]
    ]);
    assert.ok(drawn.includes('moveTo(2)') && drawn.includes('lineTo(2)'), drawn.join(' '));
    pointer(ink, 'pointerup', 50, 60);
    await frame();
    assert.equal(view.visibleObjects().length, 1);
    // the room's list brings them back (the page's own ops included): nothing drawn again
    drawn.length = 0;
    const [stroke, extend] = ops();
    socket.fire('board:ops', {
      room_id: 'r1',
      ops: [
        { seq: 1, author: BOB.id, ts: '', op: stroke },
        { seq: 2, author: BOB.id, ts: '', op: extend }
      ]
    });
    await frame();
    assert.equal(drawn.length, 0, drawn.join(' '));
    assert.equal(view.seq, 2);
    assert.deepEqual((view.visibleObjects()[0] as { points?: unknown }).points, [
      [10, 20],
      [30, 40],
      [50, 60]
    ]);
    // someone else's op is drawn
    socket.fire('board:ops', {
      room_id: 'r1',
      ops: [{ seq: 3, author: ADA.id, ts: '', op: { type: 'text', id: 't1', x: 1, y: 2, text: 'hi', color: '#000000', size: 12 } }]
    });
    await frame();
    assert.ok((drawn as string[]).includes('fillText(3)'), drawn.join(' '));
  });

  it('drops a refused op, redraws from the accepted ops and says why', async () => {
    const { view, socket, ink, el } = await render();
    socket.ack = () => ({ ok: false, error: { code: 'forbidden', message: 'the board is locked' } });
    pointer(ink, 'pointerdown', 10, 20);
    pointer(ink, 'pointerup', 10, 20);
    await waitFor(() => el.querySelector('.jc-board-status')!.getAttribute('data-code') === 'refused', 'refused');
    assert.match(el.querySelector('.jc-board-status')!.textContent!, /locked/);
    assert.equal(view.visibleObjects().length, 0);
  });

  it('refuses the pen at once while the host has locked the board', async () => {
    const { socket, ink, ops, el } = await render();
    socket.fire('room:updated', { room: room(true) });
    const status = el.querySelector('.jc-board-status')!;
    assert.equal(status.getAttribute('data-code'), 'locked');
    pointer(ink, 'pointerdown', 10, 20);
    pointer(ink, 'pointerup', 10, 20);
    await frame();
    assert.equal(ops().length, 0);
    assert.ok((el.querySelector('.jc-board-clear') as HTMLButtonElement).disabled, 'not the host');
  });

  it('undoes and redoes its own ops', async () => {
    const { ink, ops, el } = await render();
    pointer(ink, 'pointerdown', 10, 20);
    pointer(ink, 'pointerup', 10, 20);
    await frame();
    const strokeId = ops()[0].id;
    (el.querySelector('.jc-board-undo') as HTMLButtonElement).click();
    await frame();
    const undo = ops()[ops().length - 1];
    assert.deepEqual([undo.type, undo.target], ['undo', strokeId]);
    (el.querySelector('.jc-board-redo') as HTMLButtonElement).click();
    await frame();
    const redo = ops()[ops().length - 1];
    assert.deepEqual([redo.type, redo.target], ['undo', undo.id]);
  });

  it('takes its own extends back merged, and says while the server delays its ink', async () => {
    const { view, socket, ink, ops, el } = await render();
    pointer(ink, 'pointerdown', 10, 20);
    await frame();
    pointer(ink, 'pointermove', 30, 40);
    await frame();
    pointer(ink, 'pointermove', 50, 60);
    await frame();
    pointer(ink, 'pointerup', 50, 60);
    await frame();
    const [stroke, first, second] = ops();
    assert.deepEqual([stroke.type, first.type, second.type], ['stroke', 'extend', 'extend']);
    // the server's tick merged the two extends: one op at the last seq, the first's part listed
    socket.fire('board:ops', {
      room_id: 'r1',
      ops: [
        { seq: 1, author: BOB.id, ts: '', op: stroke },
        {
          seq: 3,
          author: BOB.id,
          ts: '',
          op: { ...second, points: [...first.points, ...second.points] },
          merged: [{ seq: 2, id: first.id, points: first.points.length }]
        }
      ]
    });
    await frame();
    assert.equal(view.seq, 3);
    assert.deepEqual((view.visibleObjects()[0] as { points?: unknown }).points, [
      [10, 20],
      [30, 40],
      [50, 60]
    ]);
    const notice = el.querySelector('.jc-board-delay') as HTMLElement;
    assert.ok(notice.hidden);
    socket.fire('board:delayed', { room_id: 'r1', delay_ms: 820 });
    assert.ok(!notice.hidden);
    assert.equal(notice.textContent, 'Your ink is delayed by the server (0.8 s)');
    socket.fire('board:delayed', { room_id: 'r1', delay_ms: 0 });
    assert.ok(notice.hidden);
  });
});

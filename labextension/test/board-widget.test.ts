// The board as a main-area widget (BoardWidget) in jsdom, on a membership the page joined
// itself over the real page session and a fake socket (no kernel, no ticket): its title names
// the room, the pen's ink goes out in the room's batch, others' ink is drawn, one widget per
// room, and closing it gives the link back its own `since` (the membership stays).
import './setup-lumino';

import { strict as assert } from 'node:assert';
import { afterEach, describe, it } from 'node:test';

import { DockPanel, Widget } from '@lumino/widgets';

import { waitFor } from './fake-rtc';
import { FakeSocket, sockets } from './stubs/socketio';
import { JoinedLink, pageSession, resetPageSessions } from '../src/page/session';
import { BoardWidget, BoardWidgets } from '../src/board/board-widget';
import { placeButton, WidgetShelf } from '../src/panel/widget-shelf';

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
const room = (title = 'Linear algebra') => ({
  id: 'r1',
  title,
  host: { id: ADA.id, name: ADA.name },
  members: 2,
  locked: false,
  board_locked: false,
  created_at: '',
  max_members: 10
});
const ADA_TEXT = { type: 'text', id: 't-ada', x: 100, y: 100, text: 'hi', color: '#000000', size: 12 };

/** Bob's page, joined to r1 from the panel (the server's board has Ada's text at seq 1);
 * `board` is the server's board (`board:sync` answers from it). */
async function joinedPage(): Promise<{ socket: FakeSocket; link: JoinedLink; board: any[] }> {
  const session = pageSession('/p');
  const socket = sockets[sockets.length - 1];
  const board: any[] = [{ seq: 1, author: ADA.id, ts: '', op: ADA_TEXT }];
  let seq = 1;
  socket.ack = (event, payload) => {
    if (event === 'room:join') {
      return {
        ok: true,
        room: room(),
        you: BOB,
        members: [ADA, BOB],
        board: { seq: board.length, ops: board.slice(), complete: true },
        chat: []
      };
    }
    if (event === 'board:sync') {
      const ops = board.filter(op => op.seq > (payload.since ?? 0));
      return { ok: true, board: { seq: board.length, ops, complete: payload.since === undefined } };
    }
    if (event === 'board:ops') {
      return { ok: true, results: (payload as { ops: unknown[] }).ops.map(() => ({ seq: ++seq })) };
    }
    return { ok: true };
  };
  socket.serverConnect();
  const link = (await session.join('r1')) as JoinedLink;
  return { socket, link, board };
}

/** The widgets as the plugin keeps them, placed in the page (the shell's stand-in). */
function shell(): { boards: BoardWidgets; added: BoardWidget[]; activated: string[] } {
  const added: BoardWidget[] = [];
  const activated: string[] = [];
  const boards = new BoardWidgets(
    widget => {
      added.push(widget);
      Widget.attach(widget, document.body);
    },
    widget => activated.push(widget.id)
  );
  return { boards, added, activated };
}

function pointer(el: Element, kind: string, x: number, y: number): void {
  const event = new window.MouseEvent(kind, { clientX: x, clientY: y, button: 0 });
  for (const [key, value] of Object.entries({ pointerId: 1, pointerType: 'mouse', isPrimary: true })) {
    Object.defineProperty(event, key, { value });
  }
  el.dispatchEvent(event);
}

const frame = (): Promise<void> => new Promise(resolve => setTimeout(resolve, 10));

afterEach(() => {
  for (const node of Array.from(document.body.children)) {
    node.remove();
  }
  resetPageSessions();
  sockets.length = 0;
});

describe('BoardWidget', () => {
  it("draws on the panel's membership: titled by the room, ink out in one batch, others' ink in", async () => {
    const { socket, link } = await joinedPage();
    const { boards, added, activated } = shell();
    const widget = boards.open(link);
    assert.equal(widget.title.label, 'Board — Linear algebra');
    assert.ok(widget.title.closable);
    assert.equal(widget.id, 'jc-board-widget-r1');
    assert.equal(widget.node.dataset.state, 'attached');
    assert.ok(widget.node.classList.contains('jc-board'));
    assert.deepEqual(activated, [widget.id]);
    assert.equal(added.length, 1);
    // the board the room had when the page joined
    assert.deepEqual(
      widget.surface.visibleObjects().map(o => o.id),
      ['t-ada']
    );
    assert.equal(widget.surface.seq, 1);
    assert.equal((widget.node as unknown as { jcBoard: unknown }).jcBoard, widget.surface);

    const ink = widget.node.querySelector('.jc-board-ink')!;
    pointer(ink, 'pointerdown', 10, 20);
    pointer(ink, 'pointermove', 30, 40);
    pointer(ink, 'pointerup', 30, 40);
    await frame();
    const batches = socket.emitted.filter(e => e.event === 'board:ops');
    assert.equal(batches.length, 1);
    assert.equal(batches[0].payload.room_id, 'r1');
    assert.deepEqual(
      batches[0].payload.ops.map((op: { type: string }) => op.type),
      ['stroke', 'extend']
    );
    assert.equal(
      socket.emitted.filter(e => e.event === 'room:attach' || e.event === 'room:ticket').length,
      0,
      'no kernel, no ticket'
    );

    // the room's list brings Bob's ops back (not drawn again) and Ada's stroke (drawn)
    const [stroke, extend] = batches[0].payload.ops;
    drawn.length = 0;
    socket.fire('board:ops', {
      room_id: 'r1',
      ops: [
        { seq: 2, author: BOB.id, ts: '', op: stroke },
        { seq: 3, author: BOB.id, ts: '', op: extend },
        {
          seq: 4,
          author: ADA.id,
          ts: '',
          op: { type: 'stroke', id: 's-ada', points: [[5, 5], [50, 50]], color: '#ff0000', width: 4, tool: 'pen' }
        }
      ]
    });
    await frame();
    assert.ok(drawn.includes('lineTo(2)'), drawn.join(' '));
    assert.deepEqual(drawn.filter(d => d === 'stroke(0)').length, 1, `Ada's stroke only: ${drawn.join(' ')}`);
    assert.equal(widget.surface.seq, 4);
    assert.deepEqual(
      widget.surface.visibleObjects().map(o => o.id),
      ['t-ada', stroke.id, 's-ada']
    );

    // the room renamed: the tab follows
    socket.fire('room:updated', { room: room('Calculus') });
    assert.equal(widget.title.label, 'Board — Calculus');
  });

  it('catches up with the ink the room took between the join and the opening', async () => {
    const { socket, link, board } = await joinedPage();
    // Ada draws while Bob's page shows no board: the op reaches the link, and no board
    const late = { seq: 2, author: ADA.id, ts: '', op: { ...ADA_TEXT, id: 't-late', text: 'late' } };
    board.push(late);
    socket.fire('board:ops', { room_id: 'r1', ops: [late] });
    const { boards } = shell();
    const widget = boards.open(link);
    await waitFor(() => widget.surface.seq === 2, 'caught up');
    assert.deepEqual(
      widget.surface.visibleObjects().map(o => o.id),
      ['t-ada', 't-late']
    );
    const syncs = socket.emitted.filter(e => e.event === 'board:sync');
    assert.deepEqual(syncs.map(e => e.payload), [{ room_id: 'r1', since: 1 }]);
  });

  it('is one widget per room, and closing it leaves the membership with its own since', async () => {
    const { link } = await joinedPage();
    const { boards, added, activated } = shell();
    const own = link.sinceProvider;
    const first = boards.open(link);
    assert.notEqual(link.sinceProvider, own, "the board's seq while it shows the room");
    assert.equal(boards.open(link), first, 'opened again: the same widget');
    assert.equal(added.length, 1);
    assert.deepEqual(activated, [first.id, first.id]);

    first.close(); // the tab's close button
    assert.ok(first.isDisposed);
    assert.equal(link.sinceProvider, own);
    assert.equal(link.state.value, 'attached', 'the page is still in the room');
    assert.equal(boards.get('r1'), undefined);
    const second = boards.open(link);
    assert.notEqual(second, first);
    assert.equal(added.length, 2);
  });

  it('says when the membership ended, and a new membership of the room gets a fresh board', async () => {
    const { socket, link } = await joinedPage();
    const { boards } = shell();
    const widget = boards.open(link);
    await link.session.leave();
    assert.equal(widget.node.dataset.state, 'ended');
    assert.equal(widget.title.label, 'Board — Linear algebra (left)');
    assert.match(widget.node.querySelector('.jc-board-status')!.textContent!, /left the room/);
    const again = (await link.session.join('r1')) as JoinedLink;
    await waitFor(() => again.state.value === 'attached', 're-joined');
    const fresh = boards.open(again);
    assert.notEqual(fresh, widget);
    assert.ok(widget.isDisposed, 'the board of the ended membership is closed');
    assert.equal(fresh.node.dataset.state, 'attached');
    assert.equal(socket.emitted.filter(e => e.event === 'room:join').length, 2);
  });
});

describe('the board in the classroom panel (WidgetShelf)', () => {
  it('moves from its dock area into the panel and back, the same widget and membership', async () => {
    const { socket, link } = await joinedPage();
    const dock = new DockPanel();
    Widget.attach(dock, document.body);
    const shelfNode = document.createElement('div');
    document.body.append(shelfNode);
    const shelf = new WidgetShelf(shelfNode);
    const docked: Widget[] = [];
    const boards = new BoardWidgets(
      widget => {
        placeButton(widget, shelf, w => {
          dock.addWidget(w);
          docked.push(w);
        });
        dock.addWidget(widget);
      },
      () => undefined
    );
    const widget = boards.open(link);
    const place = widget.node.querySelector<HTMLButtonElement>('.jc-widget-place')!;
    assert.equal(place.textContent, 'Show in the panel');
    assert.equal(widget.parent, dock);

    place.click();
    assert.ok(shelf.holds(widget));
    assert.equal(widget.parent, null, 'out of the dock');
    assert.equal(widget.node.parentElement, shelfNode);
    assert.ok(widget.isAttached);
    assert.equal(widget.node.dataset.place, 'panel');
    assert.equal(place.textContent, 'Show beside the notebook');
    assert.equal(Array.from(dock.widgets()).length, 0, 'the dock is empty');
    assert.equal(boards.open(link), widget, 'the same widget, found in the panel');
    // it still draws on the membership: others' ink arrives
    socket.fire('board:ops', {
      room_id: 'r1',
      ops: [{ seq: 2, author: ADA.id, ts: '', op: { ...ADA_TEXT, id: 't-2', text: 'more' } }]
    });
    await waitFor(() => widget.surface.seq === 2, 'the op drawn');

    place.click();
    assert.equal(shelf.holds(widget), false);
    assert.deepEqual(docked, [widget]);
    assert.equal(widget.parent as Widget | null, dock, 'docked again');
    assert.equal(place.textContent, 'Show in the panel');
    assert.equal(link.state.value, 'attached');

    // a widget closed while in the panel (it has no tab there) is disposed and leaves it
    const close = widget.node.querySelector<HTMLButtonElement>('.jc-widget-close')!;
    assert.equal(close.hidden, true, 'docked: its tab closes it');
    place.click();
    assert.equal(close.hidden, false, 'in the panel: a Close button');
    close.click();
    assert.ok(widget.isDisposed);
    assert.equal(shelf.widgets.length, 0);
    assert.equal(shelfNode.children.length, 0);
    assert.notEqual(boards.open(link), widget, 'opening the board again makes a new widget');
    dock.dispose();
  });
});

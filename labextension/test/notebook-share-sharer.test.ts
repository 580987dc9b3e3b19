// The sharer (src/notebook-share/sharer.ts) on a real JupyterLab shared model (@jupyter/ydoc's
// YNotebook, whose change events the sharer translates) and a fake socket whose "server"
// applies every notebook:patch with the same rules: after typing, inserting, moving, changing
// a cell's type the way JupyterLab does (delete and insert with the same id), outputs,
// deleting and moving the active cell, the server holds what the notebook holds. A long
// notebook goes in several frames; a `conflict` makes the sharer share again.
import './setup-dom';

import { strict as assert } from 'node:assert';
import { afterEach, describe, it } from 'node:test';

import { YNotebook } from '@jupyter/ydoc';
import { Signal } from '@lumino/signaling';

import { FakeSocket, sockets } from './stubs/socketio';
import { waitFor } from './fake-rtc';
import { pageSession, resetPageSessions } from '../src/page/session';
import { applyPatches, CellState, cellState, jsonBytes, Patch } from '../src/notebook-share/patches';
import { cellOf, NotebookSharer } from '../src/notebook-share/sharer';

import type { Member } from '../src/protocol.generated';

// @jupyter/ydoc's cell constructor reads its Y.Text before the document holds it, and Yjs
// warns about that under Node at every cell made; not ours to fix, and it buries the report.
const warn = console.warn;
console.warn = (...args: unknown[]) => {
  if (!String(args[0]).startsWith('Invalid access: Add Yjs type to a document')) {
    warn(...args);
  }
};

const ADA: Member = { id: 'm-ada', name: 'Ada', color: '#ff0000', role: 'host' };

/** What the sharer uses of a NotebookPanel. */
class FakePanel {
  readonly disposed = new Signal<FakePanel, void>(this);
  readonly context = { path: 'lesson.ipynb', ready: Promise.resolve() };
  readonly content: {
    model: { sharedModel: YNotebook; defaultKernelLanguage: string };
    activeCellChanged: Signal<FakePanel, unknown>;
    activeCell: { model: { id: string } } | null;
  };

  constructor(readonly ynb: YNotebook) {
    this.content = {
      model: { sharedModel: ynb, defaultKernelLanguage: 'python' },
      activeCellChanged: new Signal<FakePanel, unknown>(this),
      activeCell: null
    };
  }

  activate(index: number): void {
    this.content.activeCell = { model: { id: this.ynb.cells[index].id } };
    this.content.activeCellChanged.emit(null);
  }
}

/** The test's server: the share and its batches, applied by the protocol's rules. */
class Server {
  cells: CellState[] = [];
  active: string | null = null;
  seq = 0;
  shares: number = 0;
  frames: { event: string; bytes: number }[] = [];
  patches: Patch[] = [];
  refuseNext: string | null = null;

  ack(event: string, payload: any): any {
    if (event === 'room:join') {
      return {
        ok: true,
        room: {
          id: 'r1', title: 'Lesson', host: { id: ADA.id, name: 'Ada' }, members: 1, locked: false,
          board_locked: false, created_at: '2026-12-02T09:00:00Z', max_members: 30
        },
        you: ADA,
        members: [ADA],
        board: { seq: 0, ops: [], complete: true },
        chat: []
      };
    }
    this.frames.push({ event, bytes: jsonBytes([event, payload]) });
    if (event === 'notebook:share') {
      this.shares++;
      this.cells = payload.cells.map(cellState);
      this.active = null;
      this.seq = 0;
      const summary = {
        share_id: `s${this.shares}`, room_id: 'r1', sharer: { id: ADA.id, name: 'Ada' }, path: payload.path,
        language: payload.language, seq: 0, live: true, cells: this.cells.length, started_at: '2026-12-02T09:00:00Z'
      };
      return { ok: true, notebook: { summary, cells: payload.cells, active: null } };
    }
    if (event === 'notebook:patch') {
      if (this.refuseNext) {
        const code = this.refuseNext;
        this.refuseNext = null;
        return { ok: false, error: { code, message: code } };
      }
      assert.equal(payload.share_id, `s${this.shares}`);
      assert.ok(payload.patches.length >= 1 && payload.patches.length <= 256);
      const applied = applyPatches(this.cells, this.active, payload.patches); // throws: a bug
      this.cells = applied.cells;
      this.active = applied.active;
      this.patches.push(...payload.patches);
      return { ok: true, seq: ++this.seq };
    }
    return { ok: true };
  }
}

async function sharing(ynb: YNotebook): Promise<{ server: Server; panel: FakePanel; sharer: NotebookSharer }> {
  const session = pageSession('/p');
  const socket: FakeSocket = sockets[0];
  const server = new Server();
  socket.ack = (event, payload) => server.ack(event, payload);
  socket.serverConnect();
  const link = await session.join('r1');
  const panel = new FakePanel(ynb);
  const sharer = new NotebookSharer(link, panel as never);
  await sharer.start();
  return { server, panel, sharer };
}

function notebook(cells: { id: string; cell_type: 'code' | 'markdown'; source: string }[]): YNotebook {
  const ynb = new YNotebook();
  ynb.insertCells(0, cells.map(c => ({ ...c, metadata: {} })) as never[]);
  return ynb;
}

/** The server holds what the notebook holds. */
async function inStep(server: Server, ynb: YNotebook, what: string): Promise<void> {
  const expected = () => JSON.stringify(ynb.cells.map(c => cellOf(c as never)));
  await waitFor(() => JSON.stringify(server.cells) === expected(), what, 3000).catch(err => {
    assert.deepEqual(server.cells, JSON.parse(expected()), what);
    throw err;
  });
}

const opened: YNotebook[] = [];
afterEach(() => {
  resetPageSessions();
  sockets.length = 0;
  for (const ynb of opened.splice(0)) {
    ynb.dispose();
  }
});

describe('NotebookSharer', () => {
  it('keeps the server in step with the notebook, edit by edit', async () => {
    const ynb = notebook([
      { id: 'a', cell_type: 'code', source: 'import matplotlib.pyplot as plt' },
      { id: 'b', cell_type: 'markdown', source: '# Title' }
    ]);
    opened.push(ynb);
    const { server, panel, sharer } = await sharing(ynb);
    assert.equal(server.cells.length, 2);

    // typing: one keystroke a change, as CodeMirror makes them
    for (const ch of '\nplt.plot([1, 2])') {
      const cell = ynb.cells[0];
      cell.updateSource(cell.getSource().length, cell.getSource().length, ch);
    }
    await inStep(server, ynb, 'typed');
    assert.ok(server.patches.some(p => p.type === 'edit'), 'keystrokes as edits');

    ynb.insertCell(1, { id: 'c', cell_type: 'code', source: '', metadata: {} } as never);
    ynb.cells[1].updateSource(0, 0, 'print(42)');
    await inStep(server, ynb, 'a new cell, typed into');

    ynb.moveCell(0, 2); // Yjs: delete + insert of a clone with the same id
    await inStep(server, ynb, 'moved');
    assert.ok(server.patches.some(p => p.type === 'move'));
    ynb.cells[2].updateSource(0, 0, '# moved\n'); // the clone is followed too
    await inStep(server, ynb, 'typed into the moved cell');

    // JupyterLab's "change cell type": delete and insert with the same id, in one transaction
    const at = ynb.cells.findIndex(c => c.id === 'b');
    assert.equal(ynb.cells[at].cell_type, 'markdown');
    ynb.transact(() => {
      const source = ynb.cells[at].getSource();
      ynb.deleteCell(at);
      ynb.insertCell(at, { id: 'b', cell_type: 'code', source, metadata: {} } as never);
    });
    await inStep(server, ynb, 'type changed');
    assert.ok(server.patches.some(p => p.type === 'cell_type'));

    const code = ynb.cells[1] as unknown as { setOutputs(o: unknown[]): void; execution_count: number | null };
    code.setOutputs([{ output_type: 'stream', name: 'stdout', text: '42\n' }]);
    code.execution_count = 7;
    await inStep(server, ynb, 'outputs');

    panel.activate(2);
    await waitFor(() => server.active === ynb.cells[2].id, 'the active cell');
    ynb.deleteCell(2);
    await inStep(server, ynb, 'deleted');
    assert.equal(server.active, null);
    assert.ok(sharer.active);
    await sharer.stop();
    assert.equal(sharer.active, false);
    ynb.cells[0].updateSource(0, 0, 'after the stop ');
    await new Promise(r => setTimeout(r, 150));
    assert.notEqual(server.cells[0].source, ynb.cells[0].getSource(), 'nothing sent after a stop');
  });

  it('shares a long notebook in frames under the limit, the rest as inserts', async () => {
    const ynb = notebook(
      Array.from({ length: 300 }, (_, i) => ({ id: `c${i}`, cell_type: 'code' as const, source: `# ${i}\n${'x'.repeat(1500)}` }))
    );
    opened.push(ynb);
    const { server } = await sharing(ynb);
    await inStep(server, ynb, 'all 300 cells');
    assert.ok(server.frames.filter(f => f.event === 'notebook:patch').length >= 2);
    assert.ok(server.frames.every(f => f.bytes < 256 * 1024), 'every frame under MAX_FRAME');
  });

  it('shares again after a conflict', async () => {
    const ynb = notebook([{ id: 'a', cell_type: 'code', source: 'x = 1' }]);
    opened.push(ynb);
    const { server } = await sharing(ynb);
    server.refuseNext = 'conflict';
    ynb.cells[0].updateSource(5, 5, '23');
    await waitFor(() => server.shares === 2, 'shared again');
    await inStep(server, ynb, 'after the new share');
  });
});

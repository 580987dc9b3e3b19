// The shared notebook's pure model (src/notebook-share/patches.ts): a snapshot and batches by
// the resume rule (duplicates ignored, gaps found, other shares left alone), all-or-nothing
// batches, Yjs text deltas, and the sharer's side: JupyterLab's changes (a cell list, a
// `sourceChange` delta, outputs) as patches that replay to the same notebook.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import {
  applyDelta,
  applyPatches,
  CellState,
  coalesce,
  cutText,
  diffCells,
  jsonBytes,
  NotebookChange,
  NotebookSnapshot,
  Patch,
  PatchConflict,
  SharedNotebook,
  shareableOutputs,
  shareableSource,
  sourcePatch,
  splitBatches
} from '../src/notebook-share/patches';
import { copyStem, untrustedRendermime } from '../src/notebook-share/safety';
import { MAX_CELL_SOURCE, MAX_OUTPUTS_PER_CELL } from '../src/protocol.generated';

function code(id: string, source = '', outputs: CellState['outputs'] = [], execution_count: number | null = null): CellState {
  return { id, cell_type: 'code', source, outputs, execution_count };
}

function md(id: string, source = ''): CellState {
  return { id, cell_type: 'markdown', source, outputs: [], execution_count: null };
}

function snapshot(shareId: string, seq: number, cells: CellState[], active: string | null = null): NotebookSnapshot {
  return {
    summary: {
      share_id: shareId,
      room_id: 'r1',
      sharer: { id: 'm-ada', name: 'Ada' },
      path: 'lesson.ipynb',
      language: 'python',
      seq,
      live: true,
      cells: cells.length,
      started_at: '2026-12-02T09:00:00Z'
    },
    cells: cells.map(c => ({ ...c, outputs: [...c.outputs] })),
    active
  };
}

const PLOT = { output_type: 'display_data', data: { 'image/png': 'iVBORw0KGgo=' }, metadata: {} } as const;

describe('applyDelta', () => {
  it('applies retain, insert and delete steps', () => {
    assert.equal(applyDelta('hello world', [{ retain: 6 }, { delete: 5 }, { insert: 'there' }]), 'hello there');
    assert.equal(applyDelta('', [{ insert: 'x = 1' }]), 'x = 1');
    assert.equal(applyDelta('abc', [{ delete: 1 }]), 'bc');
    assert.equal(applyDelta('abc', [{ retain: 3 }, { insert: '!' }]), 'abc!');
  });

  it('refuses a delta that runs past the source', () => {
    assert.throws(() => applyDelta('abc', [{ retain: 4 }]), PatchConflict);
    assert.throws(() => applyDelta('abc', [{ retain: 2 }, { delete: 2 }]), PatchConflict);
  });

  it('counts UTF-16 code units, as JavaScript and Yjs do', () => {
    assert.equal(applyDelta('a😀b', [{ retain: 3 }, { insert: '!' }]), 'a😀!b');
  });
});

describe('applyPatches', () => {
  const cells = [code('a', 'x = 1'), md('b', '# Title'), code('c', 'print(x)')];

  it('applies every kind of patch in order', () => {
    const result = applyPatches(cells, null, [
      { type: 'insert', index: 99, cell: { id: 'd', cell_type: 'code', source: '' } },
      { type: 'edit', cell_id: 'd', delta: [{ insert: 'y = 2' }] },
      { type: 'move', cell_id: 'd', index: 0 },
      { type: 'source', cell_id: 'b', source: '# Lesson' },
      { type: 'outputs', cell_id: 'c', outputs: [PLOT], execution_count: 3 },
      { type: 'cell_type', cell_id: 'a', cell_type: 'raw' },
      { type: 'delete', cell_id: 'c' },
      { type: 'active', cell_id: 'b' }
    ]);
    assert.deepEqual(
      result.cells.map(c => [c.id, c.cell_type, c.source]),
      [
        ['d', 'code', 'y = 2'],
        ['a', 'raw', 'x = 1'],
        ['b', 'markdown', '# Lesson']
      ]
    );
    assert.equal(result.active, 'b');
    // the insert's index as the server clamps it
    assert.deepEqual(result.patches[0], { type: 'insert', index: 3, cell: { id: 'd', cell_type: 'code', source: '' } });
  });

  it('keeps outputs of a code cell and clears them when it stops being code', () => {
    const withPlot = applyPatches(cells, null, [{ type: 'outputs', cell_id: 'a', outputs: [PLOT], execution_count: 1 }]);
    assert.deepEqual(withPlot.cells[0].outputs, [PLOT]);
    const asMarkdown = applyPatches(withPlot.cells, null, [{ type: 'cell_type', cell_id: 'a', cell_type: 'markdown' }]);
    assert.deepEqual(asMarkdown.cells[0].outputs, []);
    assert.equal(asMarkdown.cells[0].execution_count, null);
  });

  it('applies all or nothing', () => {
    const before = cells.slice();
    assert.throws(
      () =>
        applyPatches(cells, null, [
          { type: 'source', cell_id: 'a', source: 'changed' },
          { type: 'delete', cell_id: 'nope' }
        ]),
      PatchConflict
    );
    assert.deepEqual(cells, before);
    assert.equal(cells[0].source, 'x = 1');
    assert.throws(() => applyPatches(cells, null, [{ type: 'insert', index: 0, cell: { id: 'a', cell_type: 'code', source: '' } }]), PatchConflict);
    assert.throws(() => applyPatches(cells, null, [{ type: 'outputs', cell_id: 'b', outputs: [], execution_count: null }]), PatchConflict);
    assert.throws(() => applyPatches(cells, null, [{ type: 'active', cell_id: 'gone' }]), PatchConflict);
  });

  it('forgets the active cell when it is deleted', () => {
    assert.equal(applyPatches(cells, 'c', [{ type: 'delete', cell_id: 'c' }]).active, null);
  });
});

describe('SharedNotebook (receivers)', () => {
  function received(): { notebook: SharedNotebook; changes: NotebookChange[] } {
    const notebook = new SharedNotebook();
    const changes: NotebookChange[] = [];
    notebook.changed.connect(c => changes.push(c));
    notebook.load(snapshot('s1', 4, [code('a', 'x = 1'), md('b', 'Hi')], 'a'));
    return { notebook, changes };
  }

  it('loads a snapshot and applies the next batch', () => {
    const { notebook, changes } = received();
    assert.equal(notebook.shareId, 's1');
    assert.equal(notebook.seq, 4);
    assert.equal(notebook.active, 'a');
    assert.equal(notebook.receive('s1', 5, [{ type: 'edit', cell_id: 'a', delta: [{ retain: 4 }, { delete: 1 }, { insert: '42' }] }]), 'applied');
    assert.equal(notebook.cells[0].source, 'x = 42');
    assert.equal(notebook.seq, 5);
    assert.deepEqual(
      changes.map(c => c.kind),
      ['reset', 'patches']
    );
  });

  it('ignores duplicates, finds gaps, leaves other shares alone', () => {
    const { notebook } = received();
    const edit: Patch[] = [{ type: 'edit', cell_id: 'a', delta: [{ insert: '# ' }] }];
    assert.equal(notebook.receive('s1', 5, edit), 'applied');
    assert.equal(notebook.receive('s1', 5, edit), 'duplicate');
    assert.equal(notebook.receive('s1', 3, edit), 'duplicate');
    assert.equal(notebook.cells[0].source, '# x = 1'); // once, not twice
    assert.equal(notebook.receive('s1', 7, edit), 'gap');
    assert.equal(notebook.seq, 5);
    assert.equal(notebook.receive('s0', 6, edit), 'other-share');
    assert.equal(notebook.cells[0].source, '# x = 1');
  });

  it('resumes from a notebook:get reply: batches in order, duplicates skipped', () => {
    const { notebook } = received();
    const result = notebook.receiveBatches('s1', [
      { seq: 4, patches: [{ type: 'delete', cell_id: 'b' }] }, // had it (the snapshot's)
      { seq: 5, patches: [{ type: 'insert', index: 1, cell: { id: 'c', cell_type: 'code', source: 'plot()' } }] },
      { seq: 6, patches: [{ type: 'outputs', cell_id: 'c', outputs: [PLOT], execution_count: 2 }] }
    ]);
    assert.equal(result, 'applied');
    assert.deepEqual(
      notebook.cells.map(c => c.id),
      ['a', 'c', 'b']
    );
    assert.equal(notebook.seq, 6);
    assert.deepEqual(notebook.cells[1].outputs, [PLOT]);
  });

  it('says conflict (and keeps its state) for a batch that does not apply', () => {
    const { notebook } = received();
    assert.equal(notebook.receive('s1', 5, [{ type: 'source', cell_id: 'zzz', source: '' }]), 'conflict');
    assert.equal(notebook.seq, 4);
  });

  it('a new share replaces everything; a stopped one stays readable', () => {
    const { notebook, changes } = received();
    notebook.load(snapshot('s2', 0, [md('z', 'new')]));
    assert.equal(notebook.shareId, 's2');
    assert.equal(notebook.seq, 0);
    assert.deepEqual(
      notebook.cells.map(c => c.id),
      ['z']
    );
    assert.equal(notebook.stopped('s1', 'stopped'), false); // an older share's stop
    assert.equal(notebook.live, true);
    assert.equal(notebook.stopped('s2', 'left'), true);
    assert.equal(notebook.live, false);
    assert.equal(notebook.endReason, 'left');
    assert.equal(notebook.cells[0].source, 'new');
    assert.deepEqual(changes[changes.length - 1], { kind: 'live', live: false, reason: 'left' });
  });
});

describe('the sharer: JupyterLab changes as patches', () => {
  it('turns a sourceChange delta into an edit (a trailing retain dropped)', () => {
    // JupyterLab's cell.sharedModel.changed gives {sourceChange: [{retain: 5}, {insert: 'x'}]}
    const line = 'import matplotlib.pyplot as plt\n';
    assert.deepEqual(sourcePatch('a', [{ retain: 5 }, { insert: 'x' }], `${line}x`), {
      type: 'edit',
      cell_id: 'a',
      delta: [{ retain: 5 }, { insert: 'x' }]
    });
    assert.deepEqual(sourcePatch('a', [{ retain: 2 }, { delete: 1 }, { retain: 3 }], line), {
      type: 'edit',
      cell_id: 'a',
      delta: [{ retain: 2 }, { delete: 1 }]
    });
    // a short cell: its whole source is fewer bytes than a delta
    assert.deepEqual(sourcePatch('a', [{ retain: 5 }, { insert: 'x' }], 'x = 1x'), { type: 'source', cell_id: 'a', source: 'x = 1x' });
    assert.equal(sourcePatch('a', [{ retain: 3 }], 'abc'), null);
  });

  it('sends the whole source when that is smaller than the delta', () => {
    assert.deepEqual(sourcePatch('a', [{ delete: 40 }, { insert: 'y' }], 'y'), { type: 'source', cell_id: 'a', source: 'y' });
  });

  it('diffs a cell list: deletes, inserts, moves, type changes', () => {
    const before = [code('a', '1'), code('b', '2'), md('c', '3'), code('d', '4')];
    const after = [code('d', '4'), code('a', '1'), code('e', 'new'), { ...md('b', '2') }];
    const patches = diffCells(before, after, id => id === 'b');
    const replayed = applyPatches(before, null, patches).cells;
    assert.deepEqual(replayed, after);
    assert.deepEqual(
      patches.map(p => p.type),
      ['delete', 'move', 'insert', 'cell_type']
    );
  });

  it('diffs a move JupyterLab made by delete and insert (same id, fresh content)', () => {
    const before = [code('a', 'x', [PLOT], 1), code('b', 'y')];
    const after = [code('b', 'y'), code('a', 'x', [PLOT], 1)];
    const patches = diffCells(before, after);
    assert.deepEqual(patches, [{ type: 'move', cell_id: 'b', index: 0 }]);
    assert.deepEqual(applyPatches(before, null, patches).cells, after);
  });

  it('replays random edits of a cell list', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let before: CellState[] = [];
    let next = 0;
    for (let round = 0; round < 200; round++) {
      const after = before.slice();
      for (let k = random(4); k >= 0; k--) {
        const op = random(4);
        if (op === 0 || !after.length) {
          after.splice(random(after.length + 1), 0, code(`c${next++}`, `s${round}`));
        } else if (op === 1) {
          after.splice(random(after.length), 1);
        } else if (op === 2) {
          const [cell] = after.splice(random(after.length), 1);
          after.splice(random(after.length + 1), 0, cell);
        } else {
          const i = random(after.length);
          after[i] = { ...after[i], source: `${after[i].source}!`, cell_type: random(2) ? 'code' : 'markdown' };
        }
      }
      const patches = diffCells(before, after);
      const replayed = applyPatches(before, null, patches).cells;
      assert.deepEqual(
        replayed.map(c => [c.id, c.cell_type, c.source]),
        after.map(c => [c.id, c.cell_type, c.source])
      );
      before = replayed;
    }
  });

  it('coalesces superseded outputs and active patches', () => {
    const patches: Patch[] = [
      { type: 'outputs', cell_id: 'a', outputs: [], execution_count: null },
      { type: 'active', cell_id: 'a' },
      { type: 'edit', cell_id: 'a', delta: [{ insert: 'x' }] },
      { type: 'outputs', cell_id: 'a', outputs: [PLOT], execution_count: 1 },
      { type: 'active', cell_id: 'b' }
    ];
    assert.deepEqual(coalesce(patches), [patches[2], patches[3], patches[4]]);
    // a type change between two outputs keeps both (the first one applies to a code cell)
    const typed: Patch[] = [
      { type: 'outputs', cell_id: 'a', outputs: [PLOT], execution_count: 1 },
      { type: 'cell_type', cell_id: 'a', cell_type: 'markdown' },
      { type: 'cell_type', cell_id: 'a', cell_type: 'code' },
      { type: 'outputs', cell_id: 'a', outputs: [], execution_count: null }
    ];
    assert.equal(coalesce(typed).length, 4);
  });

  it('keeps outputs and sources within the limits', () => {
    const big = { output_type: 'display_data', data: { 'text/plain': 'x'.repeat(300_000) }, metadata: {} };
    const outputs = shareableOutputs([PLOT, big, { output_type: 'update_display_data', data: {} }]);
    assert.equal(outputs.length, 2);
    assert.deepEqual(outputs[0], PLOT);
    assert.match(String(outputs[1].text), /not shared/);
    const many = shareableOutputs(Array.from({ length: 100 }, (_, i) => ({ output_type: 'stream', name: 'stdout', text: `${i}\n` })));
    assert.equal(many.length, MAX_OUTPUTS_PER_CELL);
    assert.match(String(many[many.length - 1].text), /37 more outputs/);
    const heavy = shareableOutputs(Array.from({ length: 3 }, () => ({ ...big, data: { 'text/plain': 'y'.repeat(150_000) } })));
    assert.ok(jsonBytes(heavy) < 200 * 1024);
    assert.equal(shareableSource('x'.repeat(MAX_CELL_SOURCE + 10)).length, MAX_CELL_SOURCE);
    assert.equal(cutText('ab😀', 3), 'ab', 'never half an emoji');
    assert.equal(cutText('ab😀', 4), 'ab😀');
  });

  it('splits patches into batches by count and bytes', () => {
    const patches: Patch[] = Array.from({ length: 600 }, (_, i) => ({ type: 'source', cell_id: `c${i}`, source: 'x'.repeat(1000) }));
    const byCount = splitBatches(patches, 256, 10_000_000);
    assert.deepEqual(
      byCount.map(b => b.length),
      [256, 256, 88]
    );
    const byBytes = splitBatches(patches, 256, 100_000);
    assert.ok(byBytes.every(b => jsonBytes(b) <= 100_000));
    assert.equal(byBytes.flat().length, 600);
  });
});

/** RenderMimeRegistry's factory bookkeeping (ranks, one factory per mime type, clone). */
class FakeRegistry {
  factories = new Map<string, { factory: any; rank: number }>();
  get mimeTypes(): string[] {
    return [...this.factories].sort((a, b) => a[1].rank - b[1].rank).map(([mt]) => mt);
  }
  addFactory(factory: any, rank = factory.defaultRank ?? 100): void {
    for (const mt of factory.mimeTypes) {
      this.factories.set(mt, { factory, rank });
    }
  }
  getFactory(mt: string): any {
    return this.factories.get(mt)?.factory;
  }
  getRank(mt: string): number | undefined {
    return this.factories.get(mt)?.rank;
  }
  removeMimeType(mt: string): void {
    this.factories.delete(mt);
  }
  clone(): FakeRegistry {
    const copy = new FakeRegistry();
    copy.factories = new Map(this.factories);
    return copy;
  }
  createRenderer(mt: string): any {
    return this.factories.get(mt)!.factory.createRenderer({ mimeType: mt });
  }
}

describe('shared content stays untrusted (safety.ts)', () => {
  const seen: Array<[string, boolean]> = [];
  const factory = (mimeTypes: string[], safe: boolean, defaultRank: number) => ({
    safe,
    mimeTypes,
    defaultRank,
    createRenderer: (options: { mimeType: string }) => ({
      renderModel: async (model: { trusted: boolean }) => {
        seen.push([options.mimeType, model.trusted]);
      }
    })
  });

  it('keeps only safe, non-script renderers, in rank order', () => {
    const registry = new FakeRegistry();
    registry.addFactory(factory(['text/html'], true, 50));
    registry.addFactory(factory(['text/markdown'], true, 60));
    registry.addFactory(factory(['image/svg+xml'], false, 80));
    registry.addFactory(factory(['text/javascript', 'application/javascript'], false, 110));
    registry.addFactory(factory(['application/vnd.jupyter.widget-view+json'], false, -10));
    // a third-party renderer that calls itself safe but would run script
    registry.addFactory(factory(['text/plain', 'application/x-ecmascript'], true, 120));
    const safe = untrustedRendermime(registry as any) as unknown as FakeRegistry;
    assert.deepEqual(safe.mimeTypes, ['text/html', 'text/markdown', 'text/plain']);
    assert.equal(registry.mimeTypes.length, 8, 'the page-wide registry is left alone');
  });

  it('renders every model untrusted, even one marked trusted', async () => {
    const registry = new FakeRegistry();
    registry.addFactory(factory(['text/html'], true, 50));
    const safe = untrustedRendermime(registry as any) as unknown as FakeRegistry;
    seen.length = 0;
    const data = { 'text/html': '<script>alert(1)</script>' };
    await safe.createRenderer('text/html').renderModel({ trusted: true, data, metadata: {}, setData: () => undefined });
    assert.deepEqual(seen, [['text/html', false]]);
  });

  it('names a copy after the last path part only, nothing a path could escape with', () => {
    assert.equal(copyStem('lesson.ipynb'), 'lesson');
    assert.equal(copyStem('course/week 1/lesson.ipynb'), 'lesson');
    assert.equal(copyStem('../../x'), 'x');
    assert.equal(copyStem('/etc/passwd'), 'passwd');
    assert.equal(copyStem('..\\..\\Windows\\evil.ipynb'), 'evil');
    assert.equal(copyStem('..'), 'notebook');
    assert.equal(copyStem('a/'), 'notebook');
    assert.equal(copyStem('.bashrc'), 'bashrc', 'not a hidden file');
    assert.equal(copyStem('cv\u202Egnp.ipynb'), 'cvgnp', 'no bidi override');
    assert.equal(copyStem('a\u0000b\nc:d'), 'abc_d');
    assert.ok(copyStem('x'.repeat(500)).length <= 80);
  });
});

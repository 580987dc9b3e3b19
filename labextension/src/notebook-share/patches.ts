/**
 * A shared notebook as plain data (no JupyterLab, no DOM: it runs under Node's test runner),
 * and the two translations around it:
 *
 * - receivers keep a `SharedNotebook`: a snapshot, then `notebook:patched` batches applied by
 *   the resume rule (same share, seq == mine + 1; older: ignored; newer: a gap to fetch);
 * - the sharer turns JupyterLab's model changes into patches (`diffCells` for the cell list,
 *   `sourcePatch` for a `sourceChange` delta) and keeps its own `applyPatches` mirror of what
 *   the server holds, so every patch it sends applies there (a `conflict` is a bug, not a race).
 *
 * A batch applies all or nothing, as on the server (docs/protocol.md, "Shared notebooks").
 */
import { Emitter } from '../emitter';
import { MAX_CELL_SOURCE, MAX_OUTPUT, MAX_OUTPUTS_PER_CELL } from '../protocol.generated';

import type {
  Cell,
  NotebookBatch,
  NotebookOutput,
  NotebookSnapshot,
  NotebookSummary,
  Patch,
  TextDelta
} from '../protocol.generated';

export type { Cell, NotebookBatch, NotebookOutput, NotebookSnapshot, NotebookSummary, Patch, TextDelta };

export type CellType = Cell['cell_type'];

/** A cell as kept here: `outputs` and `execution_count` always present (empty/null unless code). */
export interface CellState {
  readonly id: string;
  readonly cell_type: CellType;
  readonly source: string;
  readonly outputs: readonly NotebookOutput[];
  readonly execution_count: number | null;
}

/** A patch that does not apply (an unknown cell, a delta past the source, a duplicate id). */
export class PatchConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchConflict';
  }
}

export function cellState(cell: Cell): CellState {
  const code = cell.cell_type === 'code';
  return {
    id: cell.id,
    cell_type: cell.cell_type,
    source: cell.source,
    outputs: code ? (cell.outputs ?? []) : [],
    execution_count: code ? (cell.execution_count ?? null) : null
  };
}

/** The wire form of a cell (no empty outputs on markdown and raw cells). */
export function wireCell(cell: CellState): Cell {
  if (cell.cell_type !== 'code') {
    return { id: cell.id, cell_type: cell.cell_type, source: cell.source };
  }
  return {
    id: cell.id,
    cell_type: 'code',
    source: cell.source,
    outputs: cell.outputs.slice(),
    execution_count: cell.execution_count
  };
}

/** `source` after a Yjs text delta; throws PatchConflict when the delta runs past it. */
export function applyDelta(source: string, delta: readonly TextDelta[]): string {
  let pos = 0;
  let out = '';
  for (const step of delta) {
    if ('retain' in step) {
      if (!(step.retain >= 0) || pos + step.retain > source.length) {
        throw new PatchConflict('an edit retains past the end of the source');
      }
      out += source.slice(pos, pos + step.retain);
      pos += step.retain;
    } else if ('delete' in step) {
      if (!(step.delete >= 0) || pos + step.delete > source.length) {
        throw new PatchConflict('an edit deletes past the end of the source');
      }
      pos += step.delete;
    } else if ('insert' in step && typeof step.insert === 'string') {
      out += step.insert;
    } else {
      throw new PatchConflict('an edit step is none of retain, insert, delete');
    }
  }
  return out + source.slice(pos);
}

export interface Applied {
  cells: CellState[];
  active: string | null;
  /** The patches as applied: indices clamped as the server clamps them. */
  patches: Patch[];
}

/**
 * Applies `patches` in order to a copy of `cells`: all of them, or (PatchConflict) none. The
 * cell list is copied once; a changed cell is replaced by a new object, so the input stays as
 * it was (the caller keeps it on a conflict).
 */
export function applyPatches(cells: readonly CellState[], active: string | null, patches: readonly Patch[]): Applied {
  const next = cells.slice();
  const applied: Patch[] = [];
  const indexOf = (id: string): number => {
    const index = next.findIndex(c => c.id === id);
    if (index < 0) {
      throw new PatchConflict(`no cell ${id}`);
    }
    return index;
  };
  for (const patch of patches) {
    switch (patch.type) {
      case 'insert': {
        if (next.some(c => c.id === patch.cell.id)) {
          throw new PatchConflict(`a cell ${patch.cell.id} is there already`);
        }
        const index = Math.min(Math.max(0, patch.index), next.length);
        next.splice(index, 0, cellState(patch.cell));
        applied.push({ ...patch, index });
        break;
      }
      case 'delete': {
        next.splice(indexOf(patch.cell_id), 1);
        if (active === patch.cell_id) {
          active = null;
        }
        applied.push(patch);
        break;
      }
      case 'move': {
        const [cell] = next.splice(indexOf(patch.cell_id), 1);
        const index = Math.min(Math.max(0, patch.index), next.length);
        next.splice(index, 0, cell);
        applied.push({ ...patch, index });
        break;
      }
      case 'source': {
        const index = indexOf(patch.cell_id);
        next[index] = { ...next[index], source: patch.source };
        applied.push(patch);
        break;
      }
      case 'edit': {
        const index = indexOf(patch.cell_id);
        next[index] = { ...next[index], source: applyDelta(next[index].source, patch.delta) };
        applied.push(patch);
        break;
      }
      case 'outputs': {
        const index = indexOf(patch.cell_id);
        if (next[index].cell_type !== 'code') {
          throw new PatchConflict(`cell ${patch.cell_id} is not a code cell`);
        }
        next[index] = { ...next[index], outputs: patch.outputs, execution_count: patch.execution_count ?? null };
        applied.push(patch);
        break;
      }
      case 'cell_type': {
        const index = indexOf(patch.cell_id);
        const code = patch.cell_type === 'code';
        const cell = next[index];
        next[index] = {
          ...cell,
          cell_type: patch.cell_type,
          outputs: code ? cell.outputs : [],
          execution_count: code ? cell.execution_count : null
        };
        applied.push(patch);
        break;
      }
      case 'active': {
        if (patch.cell_id !== null) {
          indexOf(patch.cell_id);
        }
        active = patch.cell_id;
        applied.push(patch);
        break;
      }
      default:
        throw new PatchConflict(`unknown patch type ${(patch as { type?: unknown }).type}`);
    }
  }
  return { cells: next, active, patches: applied };
}

// ---------------------------------------------------------------------------------------
// Receivers

/** What changed in a SharedNotebook: all of it (`reset`), some patches, or `live` only. */
export type NotebookChange =
  | { kind: 'reset' }
  | { kind: 'patches'; patches: Patch[] }
  | { kind: 'live'; live: boolean; reason: string };

/** What `receive` did with a batch. */
export type ReceiveResult = 'applied' | 'duplicate' | 'gap' | 'other-share' | 'conflict';

/** A receiver's copy of the room's share, kept by the resume rule. */
export class SharedNotebook {
  summary: NotebookSummary | null = null;
  cells: CellState[] = [];
  active: string | null = null;
  /** Why the share ended ("stopped", "left", "replaced"), '' while live. */
  endReason = '';
  readonly changed = new Emitter<NotebookChange>();

  get shareId(): string | null {
    return this.summary?.share_id ?? null;
  }

  /** The last batch applied (the snapshot's seq after a load), -1 with no share. */
  get seq(): number {
    return this.summary?.seq ?? -1;
  }

  get live(): boolean {
    return !!this.summary?.live;
  }

  /** A whole snapshot: replaces everything (a new share, a late join, a resync). */
  load(snapshot: NotebookSnapshot): void {
    this.summary = { ...snapshot.summary };
    this.cells = snapshot.cells.map(cellState);
    this.active = snapshot.active ?? null;
    this.endReason = snapshot.summary.live ? '' : 'stopped';
    this.changed.emit({ kind: 'reset' });
  }

  /** Forgets the share (the room has none any more). */
  clear(): void {
    this.summary = null;
    this.cells = [];
    this.active = null;
    this.endReason = '';
    this.changed.emit({ kind: 'reset' });
  }

  /**
   * One `notebook:patched` (or one batch of a `notebook:get` reply): applied only when it is
   * this share's next seq. `gap` means batches are missing: fetch `since: seq`.
   */
  receive(shareId: string, seq: number, patches: readonly Patch[]): ReceiveResult {
    if (!this.summary || shareId !== this.summary.share_id) {
      return 'other-share';
    }
    if (seq <= this.summary.seq) {
      return 'duplicate';
    }
    if (seq > this.summary.seq + 1) {
      return 'gap';
    }
    let result: Applied;
    try {
      result = applyPatches(this.cells, this.active, patches);
    } catch (err) {
      if (err instanceof PatchConflict) {
        return 'conflict'; // the server applied it to its copy, so ours is off: fetch the whole
      }
      throw err;
    }
    this.cells = result.cells;
    this.active = result.active;
    this.summary = { ...this.summary, seq, cells: result.cells.length };
    this.changed.emit({ kind: 'patches', patches: result.patches });
    return 'applied';
  }

  /** A `notebook:get` reply's batches, in order; stops at the first one that is not applied
   * or a duplicate (and says which). */
  receiveBatches(shareId: string, batches: readonly NotebookBatch[]): ReceiveResult {
    let last: ReceiveResult = 'duplicate';
    for (const batch of batches) {
      last = this.receive(shareId, batch.seq, batch.patches);
      if (last !== 'applied' && last !== 'duplicate') {
        return last;
      }
    }
    return last;
  }

  /** `notebook:stopped`: the share keeps its last state, no longer live. */
  stopped(shareId: string, reason: string): boolean {
    if (!this.summary || this.summary.share_id !== shareId) {
      return false;
    }
    this.summary = { ...this.summary, live: false };
    this.endReason = reason;
    this.changed.emit({ kind: 'live', live: false, reason });
    return true;
  }
}

// ---------------------------------------------------------------------------------------
// The sharer: JupyterLab's changes as patches

/** The bytes of a value's JSON (UTF-8), as the server counts its limits. */
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value) ?? '';
  let bytes = text.length;
  // only non-ASCII characters take more than one byte; most JSON has none
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) {
      bytes += code >= 0x800 && (code < 0xd800 || code > 0xdfff) ? 2 : 1;
    }
  }
  return bytes;
}

const OUTPUT_TYPES = new Set(['stream', 'display_data', 'execute_result', 'error']);
/** Headroom under the server's limits: our JSON and the server's may differ by a few bytes. */
const OUTPUT_BUDGET = MAX_OUTPUT - 1024;
/** All of one cell's outputs together, so an `outputs` patch fits in a frame. */
export const CELL_OUTPUTS_BUDGET = 200 * 1024;

function placeholder(text: string): NotebookOutput {
  return { output_type: 'stream', name: 'stderr', text };
}

/**
 * A cell's outputs as they may be shared: nbformat's four kinds (others dropped), each within
 * MAX_OUTPUT, at most MAX_OUTPUTS_PER_CELL, and together within CELL_OUTPUTS_BUDGET; what is
 * over a limit becomes a short note, so the students see that something was left out.
 */
export function shareableOutputs(outputs: readonly unknown[]): NotebookOutput[] {
  const kept: { output: NotebookOutput; bytes: number }[] = [];
  for (const raw of outputs) {
    if (!raw || typeof raw !== 'object' || !OUTPUT_TYPES.has((raw as { output_type?: string }).output_type ?? '')) {
      continue;
    }
    const output = raw as NotebookOutput;
    const bytes = jsonBytes(output);
    kept.push(
      bytes <= OUTPUT_BUDGET
        ? { output, bytes }
        : { output: placeholder(`[output not shared: ${Math.round(bytes / 1024)} KB is over the limit]\n`), bytes: 80 }
    );
  }
  if (kept.length > MAX_OUTPUTS_PER_CELL) {
    const dropped = kept.length - (MAX_OUTPUTS_PER_CELL - 1);
    kept.splice(MAX_OUTPUTS_PER_CELL - 1);
    kept.push({ output: placeholder(`[${dropped} more outputs not shared]\n`), bytes: 80 });
  }
  let total = kept.reduce((sum, k) => sum + k.bytes, 0);
  while (total > CELL_OUTPUTS_BUDGET) {
    // the largest goes first: one big image rather than many small lines
    let largest = 0;
    kept.forEach((k, i) => (k.bytes > kept[largest].bytes ? (largest = i) : undefined));
    total -= kept[largest].bytes - 80;
    kept[largest] = { output: placeholder('[output not shared: the cell’s outputs are over the limit]\n'), bytes: 80 };
  }
  return kept.map(k => k.output);
}

/** The first `length` UTF-16 units of `text`, one fewer rather than half a surrogate pair
 * (the server refuses a lone surrogate). */
export function cutText(text: string, length: number): string {
  if (text.length <= length) {
    return text;
  }
  const code = text.charCodeAt(length - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? length - 1 : length);
}

/** A source within MAX_CELL_SOURCE (a longer one is cut, and says so). */
export function shareableSource(source: string): string {
  if (source.length <= MAX_CELL_SOURCE) {
    return source;
  }
  const note = '\n# [the rest of this cell is not shared: it is over the limit]';
  return cutText(source, MAX_CELL_SOURCE - note.length) + note;
}

/** Drops empty steps, merges neighbours of one kind, drops a trailing retain. */
export function normalizeDelta(delta: readonly TextDelta[]): TextDelta[] {
  const out: TextDelta[] = [];
  for (const step of delta) {
    const last = out[out.length - 1];
    if ('insert' in step) {
      if (typeof step.insert !== 'string' || !step.insert) {
        continue;
      }
      if (last && 'insert' in last) {
        out[out.length - 1] = { insert: last.insert + step.insert };
      } else {
        out.push({ insert: step.insert });
      }
    } else if ('delete' in step) {
      if (!step.delete) {
        continue;
      }
      if (last && 'delete' in last) {
        out[out.length - 1] = { delete: last.delete + step.delete };
      } else {
        out.push({ delete: step.delete });
      }
    } else if ('retain' in step) {
      if (!step.retain) {
        continue;
      }
      if (last && 'retain' in last) {
        out[out.length - 1] = { retain: last.retain + step.retain };
      } else {
        out.push({ retain: step.retain });
      }
    }
  }
  while (out.length && 'retain' in out[out.length - 1]) {
    out.pop();
  }
  return out;
}

/**
 * JupyterLab's `sourceChange` on cell `cellId` (a Yjs delta; `source` is the text after it) as
 * a patch: an `edit` with the delta, or the whole `source` when that is as small (a paste
 * over most of the cell). Null when the delta changes nothing.
 */
export function sourcePatch(cellId: string, delta: readonly TextDelta[], source: string): Patch | null {
  const steps = normalizeDelta(delta);
  if (!steps.length) {
    return null;
  }
  if (source.length > MAX_CELL_SOURCE || JSON.stringify(steps).length >= JSON.stringify(source).length) {
    return { type: 'source', cell_id: cellId, source: shareableSource(source) };
  }
  return { type: 'edit', cell_id: cellId, delta: steps };
}

function sameOutputs(a: CellState, b: CellState): boolean {
  return (
    a.execution_count === b.execution_count &&
    a.outputs.length === b.outputs.length &&
    (a.outputs === b.outputs || JSON.stringify(a.outputs) === JSON.stringify(b.outputs))
  );
}

/**
 * The patches that turn `before` (the cells as the server has them) into `after` (as they are
 * now): deletes, then inserts and moves in order of the new list, then, for cells in both,
 * type, source and outputs where they differ. `fresh(id)` says whose content may differ (a
 * cell JupyterLab recreated: a move, a type change); others are compared by type only.
 */
export function diffCells(
  before: readonly CellState[],
  after: readonly CellState[],
  fresh: (id: string) => boolean = () => true
): Patch[] {
  const patches: Patch[] = [];
  const afterIds = new Set(after.map(c => c.id));
  const old = new Map(before.map(c => [c.id, c]));
  const working: string[] = [];
  for (const cell of before) {
    if (afterIds.has(cell.id)) {
      working.push(cell.id);
    } else {
      patches.push({ type: 'delete', cell_id: cell.id });
    }
  }
  const content: Patch[] = [];
  after.forEach((cell, index) => {
    const previous = old.get(cell.id);
    if (!previous) {
      working.splice(index, 0, cell.id);
      patches.push({ type: 'insert', index, cell: wireCell(cell) });
      return;
    }
    if (working[index] !== cell.id) {
      working.splice(working.indexOf(cell.id), 1);
      working.splice(index, 0, cell.id);
      patches.push({ type: 'move', cell_id: cell.id, index });
    }
    if (previous.cell_type !== cell.cell_type) {
      content.push({ type: 'cell_type', cell_id: cell.id, cell_type: cell.cell_type });
    }
    if (previous.cell_type !== cell.cell_type || fresh(cell.id)) {
      if (previous.source !== cell.source) {
        content.push({ type: 'source', cell_id: cell.id, source: cell.source });
      }
      const outputsBefore = cell.cell_type === previous.cell_type ? previous : { ...previous, outputs: [], execution_count: null };
      if (cell.cell_type === 'code' && !sameOutputs(outputsBefore, cell)) {
        content.push({ type: 'outputs', cell_id: cell.id, outputs: cell.outputs.slice(), execution_count: cell.execution_count });
      }
    }
  });
  return patches.concat(content);
}

/**
 * A queue's patches with the superseded ones left out: of several `outputs` of one cell with
 * nothing else about that cell's existence or type between them, the last; of `active`, the
 * last. Order otherwise kept.
 */
export function coalesce(patches: readonly Patch[]): Patch[] {
  const keep = new Array<boolean>(patches.length).fill(true);
  const laterOutputs = new Set<string>();
  let laterActive = false;
  for (let i = patches.length - 1; i >= 0; i--) {
    const patch = patches[i];
    if (patch.type === 'active') {
      keep[i] = !laterActive;
      laterActive = true;
    } else if (patch.type === 'outputs') {
      keep[i] = !laterOutputs.has(patch.cell_id);
      laterOutputs.add(patch.cell_id);
    } else if (patch.type === 'insert') {
      laterOutputs.delete(patch.cell.id);
    } else if (patch.type === 'delete' || patch.type === 'cell_type') {
      laterOutputs.delete(patch.cell_id);
    }
  }
  return patches.filter((_, i) => keep[i]);
}

/** Splits patches into batches of at most `maxPatches` and (but for a single big patch)
 * `maxBytes` of JSON each. */
export function splitBatches(patches: readonly Patch[], maxPatches: number, maxBytes: number): Patch[][] {
  const batches: Patch[][] = [];
  let current: Patch[] = [];
  let bytes = 0;
  for (const patch of patches) {
    const size = jsonBytes(patch);
    if (current.length && (current.length >= maxPatches || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(patch);
    bytes += size + 1;
  }
  if (current.length) {
    batches.push(current);
  }
  return batches;
}

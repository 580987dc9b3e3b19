/**
 * Shares one open notebook with the page's room: a `notebook:share` snapshot, then the
 * model's changes as `notebook:patch` batches.
 *
 * JupyterLab's shared model says what changed: the notebook's `changed` (`cellsChange`: cells
 * inserted, deleted, or moved, which Yjs does as delete + insert of a clone with the same id),
 * each cell's `changed` (`sourceChange`: the Yjs text delta of a keystroke; `outputsChange`,
 * `streamOutputChange`, `executionCountChange`), and the widget's `activeCellChanged`. Each is
 * turned into patches at once (in the order JupyterLab made the changes) and applied to a
 * mirror of what the server will hold, so a patch never names a cell the server lacks. Outputs
 * and the active cell are only marked and read at send time: a running cell streams many
 * changes a frame, the students need the last.
 *
 * Sending: one batch in flight at a time, the next one on the animation frame after its ack,
 * so patches coalesce while one travels (and the rate stays under the server's 60/s). A
 * batch's fate unknown (the socket dropped) is asked with `notebook:get {since}`; a `conflict`
 * (a bug on one side) starts the share over with a fresh snapshot.
 */
import type { NotebookPanel } from '@jupyterlab/notebook';

import { Emitter } from '../emitter';
import { MAX_NOTEBOOK_CELLS, MAX_NOTEBOOK_PATCHES } from '../protocol.generated';
import { RequestError } from '../page/session';
import type { RoomLink } from '../page/session';
import type { NotebookGetReply, NotebookReply, NotebookStopped, TextDelta } from '../protocol.generated';

import {
  applyPatches,
  CellState,
  coalesce,
  cutText,
  diffCells,
  jsonBytes,
  Patch,
  PatchConflict,
  shareableOutputs,
  shareableSource,
  sourcePatch,
  splitBatches,
  wireCell
} from './patches';

type SharedNotebookModel = NonNullable<NotebookPanel['content']['model']>['sharedModel'];
type SharedCell = SharedNotebookModel['cells'][number];
type CellChange = Parameters<Parameters<SharedCell['changed']['connect']>[0]>[1];
type NotebookChange = Parameters<Parameters<SharedNotebookModel['changed']['connect']>[0]>[1];

/** A frame is at most 256 KB; leave room for the envelope and JSON differences. */
const BATCH_BYTES = 200 * 1024;
const RETRY_MS = 500;
const FALLBACK_FLUSH_MS = 100; // rAF does not run in a background tab
/** Batches at most this often: under the server's 60 notebook:patch a second. */
const MIN_INTERVAL_MS = 25;
/** A cell printing a lot: its outputs (all of them, each time) at most this often once they
 * are larger than OUTPUTS_THROTTLE_BYTES, to stay well under the server's 2 MB/s. */
const OUTPUTS_INTERVAL_MS = 250;
const OUTPUTS_THROTTLE_BYTES = 32 * 1024;

/** The cell as shared (limits applied). */
export function cellOf(cell: SharedCell): CellState {
  const code = cell.cell_type === 'code';
  const codeCell = cell as SharedCell & { getOutputs?: () => unknown[]; execution_count?: number | null };
  return {
    id: cell.id,
    cell_type: cell.cell_type === 'code' || cell.cell_type === 'markdown' ? cell.cell_type : 'raw',
    source: shareableSource(cell.getSource()),
    outputs: code && codeCell.getOutputs ? shareableOutputs(codeCell.getOutputs()) : [],
    execution_count: code ? (codeCell.execution_count ?? null) : null
  };
}

/** Why a share ended here, for the notification. */
export interface SharerEnded {
  reason: 'stopped' | 'left' | 'replaced' | 'closed' | 'error';
  message: string;
}

export class NotebookSharer {
  readonly ended = new Emitter<SharerEnded>();
  /** Every accepted batch's seq (tests and the status line). */
  readonly acked = new Emitter<number>();
  shareId: string | null = null;
  seq = 0;

  private _mirror: CellState[] = [];
  private _active: string | null = null;
  private _queue: Patch[] = [];
  private _dirtyOutputs = new Set<string>();
  private _activeDirty = false;
  private _inFlight: Patch[] | null = null;
  private _scheduled = false;
  private _observed = new Map<SharedCell, (sender: SharedCell, change: CellChange) => void>();
  private _off: (() => void)[] = [];
  private _done = false;
  private _starting: Promise<void> | null = null;
  private _lastSent = 0;
  private _reshares: number[] = [];
  private _outputsSent = new Map<string, { at: number; bytes: number }>();

  constructor(
    readonly link: RoomLink,
    readonly panel: NotebookPanel
  ) {}

  get path(): string {
    return this.panel.context.path;
  }

  get active(): boolean {
    return !this._done;
  }

  private get _shared(): SharedNotebookModel {
    return this.panel.content.model!.sharedModel;
  }

  /** Shares the notebook (a snapshot, the rest of a long one as inserts) and starts
   * following its changes. Rejects RequestError when the server refuses. */
  start(): Promise<void> {
    this._starting ??= this._start();
    return this._starting;
  }

  private async _start(): Promise<void> {
    const shared = this._shared;
    const onCells = (_: SharedNotebookModel, change: NotebookChange): void => this._onCells(change);
    shared.changed.connect(onCells);
    this._off.push(() => shared.changed.disconnect(onCells));
    const onActive = (): void => {
      this._activeDirty = true;
      this._schedule();
    };
    this.panel.content.activeCellChanged.connect(onActive);
    this._off.push(() => this.panel.content.activeCellChanged.disconnect(onActive));
    const onLinkState = (state: string): void => {
      if (state === 'ended') {
        this._end({ reason: 'left', message: 'You are no longer in the room.' });
      }
    };
    this._off.push(this.link.state.changed.connect(onLinkState));
    this._off.push(
      this.link.on<NotebookStopped>('notebook:stopped', e => {
        if (e.share_id === this.shareId) {
          const message = e.reason === 'replaced' ? 'Someone else shares a notebook now.' : 'The share was stopped.';
          this._end({ reason: e.reason, message });
        }
      })
    );
    const onDisposed = (): void => void this.stop('closed');
    this.panel.disposed.connect(onDisposed);
    this._off.push(() => this.panel.disposed.disconnect(onDisposed));
    try {
      await this._share();
    } catch (err) {
      this._end({ reason: 'error', message: err instanceof Error ? err.message : String(err) }, false);
      throw err;
    }
  }

  /** Stops sharing (`notebook:stop`); the students keep the last state to read. */
  async stop(reason: SharerEnded['reason'] = 'stopped'): Promise<void> {
    if (this._done) {
      return;
    }
    const shareId = this.shareId;
    this._end({ reason, message: '' });
    if (shareId && this.link.state.value === 'attached') {
      await this.link.request('notebook:stop', { room_id: this.link.roomId }).catch(() => undefined);
    }
  }

  /** (Re)shares the whole notebook: the first cells that fit a frame, the rest as inserts. */
  private async _share(): Promise<void> {
    this.shareId = null; // nothing goes to an older share meanwhile
    const all = this._shared.cells.slice(0, MAX_NOTEBOOK_CELLS).map(cellOf);
    let first = 0;
    let bytes = 0;
    while (first < all.length && bytes + jsonBytes(wireCell(all[first])) <= BATCH_BYTES) {
      bytes += jsonBytes(wireCell(all[first])) + 1;
      first++;
    }
    const language = this.panel.content.model?.defaultKernelLanguage || null;
    const ack = (await this.link.request('notebook:share', {
      room_id: this.link.roomId,
      path: this.path.length > 512 ? `…${this.path.slice(-511)}`.replace(/^…[\udc00-\udfff]/, '…') : this.path || 'notebook.ipynb',
      language: language ? cutText(language, 64) : null,
      cells: all.slice(0, first).map(wireCell)
    })) as unknown as NotebookReply;
    this.shareId = ack.notebook.summary.share_id;
    this.seq = ack.notebook.summary.seq;
    this._mirror = ack.notebook.cells.map(c => ({ ...c, outputs: c.outputs ?? [], execution_count: c.execution_count ?? null }));
    this._active = ack.notebook.active ?? null;
    this._queue = [];
    this._dirtyOutputs.clear();
    this._inFlight = null;
    this._observeAll();
    // the rest, and whatever changed while the share was on its way
    this._push(diffCells(this._mirror, this._shared.cells.slice(0, MAX_NOTEBOOK_CELLS).map(cellOf)));
    this._activeDirty = true;
    this._schedule();
  }

  private _observe(cell: SharedCell): void {
    if (this._observed.has(cell)) {
      return;
    }
    const listener = (sender: SharedCell, change: CellChange): void => this._onCell(sender, change);
    cell.changed.connect(listener);
    this._observed.set(cell, listener);
  }

  /** Follows the cells the notebook has now; returns the ids of those it did not follow
   * (new cell objects: inserted, or recreated by a move or a type change). */
  private _observeAll(): Set<string> {
    const current = this._shared.cells;
    const present = new Set(current);
    const fresh = new Set<string>();
    for (const cell of current) {
      if (!this._observed.has(cell)) {
        fresh.add(cell.id);
        this._observe(cell);
      }
    }
    for (const [cell, listener] of Array.from(this._observed)) {
      if (!present.has(cell)) {
        cell.changed.disconnect(listener);
        this._observed.delete(cell);
      }
    }
    return fresh;
  }

  /** Cells inserted, deleted or moved: the difference to the mirror, at once. */
  private _onCells(change: NotebookChange): void {
    if (!change.cellsChange || this._done || this.shareId === null) {
      return;
    }
    const fresh = this._observeAll();
    const current = this._shared.cells;
    this._push(diffCells(this._mirror, current.slice(0, MAX_NOTEBOOK_CELLS).map(cellOf), id => fresh.has(id)));
  }

  private _onCell(cell: SharedCell, change: CellChange): void {
    if (this._done || this.shareId === null) {
      return;
    }
    const id = cell.id;
    const index = this._mirror.findIndex(c => c.id === id);
    if (index < 0 || !this._shared.cells.includes(cell)) {
      return; // a cell on its way out (merged, deleted in the same transaction)
    }
    if (change.sourceChange) {
      const source = cell.getSource();
      const patch = sourcePatch(id, change.sourceChange as unknown as TextDelta[], source);
      if (patch) {
        this._push([patch], { id, source: shareableSource(source) });
      }
    }
    if (change.outputsChange || change.streamOutputChange || change.executionCountChange) {
      this._dirtyOutputs.add(id);
      this._schedule();
    }
  }

  /**
   * Queues patches after applying them to the mirror. Should one not apply (a change we
   * missed), or the mirror's source of cell `check.id` differ from the cell's afterwards,
   * the cell's whole source goes instead.
   */
  private _push(patches: Patch[], check?: { id: string; source: string }, retry = true): void {
    if (!patches.length) {
      return;
    }
    try {
      const applied = applyPatches(this._mirror, this._active, patches);
      const cell = check && applied.cells.find(c => c.id === check.id);
      if (check && cell && cell.source !== check.source) {
        throw new PatchConflict('the mirror lost track of a source');
      }
      this._mirror = applied.cells;
      this._active = applied.active;
      this._queue.push(...applied.patches);
    } catch (err) {
      if (!(err instanceof PatchConflict)) {
        throw err;
      }
      if (retry) {
        // Out of step with the model: the whole difference, sources compared too.
        this._push(diffCells(this._mirror, this._shared.cells.slice(0, MAX_NOTEBOOK_CELLS).map(cellOf)), undefined, false);
      } else {
        void this._reshare();
      }
    }
    this._schedule();
  }

  /** Reads the marked outputs and the active cell into the queue (send time). */
  private _collect(): void {
    const marked = Array.from(this._dirtyOutputs);
    this._dirtyOutputs.clear();
    const byId = new Map(this._shared.cells.map(c => [c.id, c]));
    const patches: Patch[] = [];
    const now = Date.now();
    for (const id of marked) {
      const cell = byId.get(id);
      const mirrored = this._mirror.find(c => c.id === id);
      if (cell && mirrored && mirrored.cell_type === 'code' && cell.cell_type === 'code') {
        const last = this._outputsSent.get(id);
        if (last && last.bytes > OUTPUTS_THROTTLE_BYTES && now - last.at < OUTPUTS_INTERVAL_MS) {
          this._dirtyOutputs.add(id); // later, with whatever else it printed meanwhile
          setTimeout(() => this._schedule(), OUTPUTS_INTERVAL_MS - (now - last.at));
          continue;
        }
        const state = cellOf(cell);
        const patch: Patch = { type: 'outputs', cell_id: id, outputs: state.outputs.slice(), execution_count: state.execution_count };
        this._outputsSent.set(id, { at: now, bytes: jsonBytes(patch.outputs) });
        patches.push(patch);
      }
    }
    if (this._activeDirty) {
      this._activeDirty = false;
      const activeId = this.panel.content.activeCell?.model.id ?? null;
      const known = activeId !== null && this._mirror.some(c => c.id === activeId) ? activeId : null;
      if (known !== this._active) {
        patches.push({ type: 'active', cell_id: known });
      }
    }
    if (patches.length) {
      this._push(patches);
    }
  }

  private _schedule(): void {
    if (this._scheduled || this._inFlight || this._done || this.shareId === null) {
      return;
    }
    this._scheduled = true;
    let fired = false;
    const run = (): void => {
      if (!fired) {
        fired = true;
        this._scheduled = false;
        void this._flush();
      }
    };
    const wait = this._lastSent + MIN_INTERVAL_MS - Date.now();
    if (wait > 0) {
      setTimeout(run, wait);
      return;
    }
    if (typeof requestAnimationFrame === 'function') {
      requestAnimationFrame(run);
    }
    setTimeout(run, FALLBACK_FLUSH_MS);
  }

  private async _flush(): Promise<void> {
    if (this._inFlight || this._done || this.shareId === null) {
      return;
    }
    this._collect();
    if (!this._queue.length) {
      return;
    }
    const queue = coalesce(this._queue); // superseded outputs and active cells left out
    const [batch] = splitBatches(queue, MAX_NOTEBOOK_PATCHES, BATCH_BYTES);
    this._inFlight = batch;
    this._queue = queue.slice(batch.length);
    const shareId = this.shareId;
    this._lastSent = Date.now();
    try {
      const ack = await this.link.request('notebook:patch', { room_id: this.link.roomId, share_id: shareId, patches: batch });
      this._accepted(ack.seq as number);
    } catch (err) {
      await this._refused(err, batch, shareId);
    }
  }

  private _accepted(seq: number): void {
    this.seq = seq;
    this._inFlight = null;
    this.acked.emit(seq);
    if (this._queue.length || this._dirtyOutputs.size || this._activeDirty) {
      this._schedule();
    }
  }

  private async _refused(err: unknown, batch: Patch[], shareId: string): Promise<void> {
    if (this._done || shareId !== this.shareId) {
      return;
    }
    const code = err instanceof RequestError ? err.code : 'internal';
    const retry = (): void => {
      this._queue = batch.concat(this._queue);
      this._inFlight = null;
      setTimeout(() => this._schedule(), RETRY_MS);
    };
    if (code === 'rate_limited' || code === 'internal') {
      retry();
    } else if (code === 'disconnected' || code === 'timeout') {
      // Did the server take it? The share survives a reconnect: ask once we are back.
      await this._attached();
      if (this._done) {
        return;
      }
      try {
        const reply = (await this.link.request('notebook:get', {
          room_id: this.link.roomId,
          share_id: shareId,
          since: this.seq
        })) as unknown as NotebookGetReply;
        if (reply.notebook === null && reply.share_id === shareId && reply.batches) {
          if (reply.batches.length) {
            this._accepted(reply.batches[reply.batches.length - 1].seq);
          } else {
            retry();
          }
          return;
        }
      } catch {
        // fall through to a fresh share
      }
      await this._reshare();
    } else if (code === 'conflict' || code === 'too_large' || code === 'bad_request') {
      console.warn(`jupyter-classroom: notebook:patch refused (${code}); sharing the notebook again`, err);
      await this._reshare();
    } else {
      this._end({ reason: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  }

  private async _reshare(): Promise<void> {
    this._inFlight = null;
    this._queue = [];
    // a share that keeps being refused (something here the server will never take) ends
    // rather than going round forever
    const now = Date.now();
    this._reshares = this._reshares.filter(at => now - at < 60_000).concat(now);
    if (this._reshares.length > 3) {
      this._end({ reason: 'error', message: 'the classroom server keeps refusing the changes' });
      return;
    }
    try {
      await this._share();
    } catch (err) {
      this._end({ reason: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  }

  private _attached(): Promise<void> {
    return new Promise(resolve => {
      if (this.link.state.value === 'attached' || this.link.state.value === 'ended') {
        resolve();
        return;
      }
      const off = this.link.state.changed.connect(state => {
        if (state === 'attached' || state === 'ended') {
          off();
          resolve();
        }
      });
    });
  }

  private _end(ended: SharerEnded, emit = true): void {
    if (this._done) {
      return;
    }
    this._done = true;
    for (const off of this._off.splice(0)) {
      off();
    }
    for (const [cell, listener] of this._observed) {
      cell.changed.disconnect(listener);
    }
    this._observed.clear();
    this._queue = [];
    if (emit) {
      this.ended.emit(ended);
    }
  }
}

/**
 * Copying from the shared notebook into the student's own files.
 *
 * Cells go below the active cell of the student's current notebook (the notebook tracker's:
 * the viewer is not a notebook panel, so it is never the target) as source only: nothing runs
 * until the student runs it, and no output of someone else's lands in a notebook the student
 * trusts. The whole notebook goes to a new .ipynb beside the student's other files, outputs
 * included: written through the contents API without a signature, so JupyterLab opens it
 * untrusted, as any notebook from elsewhere.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import type { INotebookTracker } from '@jupyterlab/notebook';

import type { CellState, SharedNotebook } from './patches';
import { copyStem } from './safety';
import type { CopyActions } from './viewer';

/** The nbformat cell a copy inserts: a fresh id (the same cell may be copied twice). */
function ownCell(cell: CellState, withOutputs: boolean): Record<string, unknown> {
  const base = { cell_type: cell.cell_type, source: cell.source, metadata: {} };
  if (cell.cell_type !== 'code') {
    return base;
  }
  return withOutputs
    ? { ...base, outputs: cell.outputs.map(o => ({ ...o })), execution_count: cell.execution_count }
    : { ...base, outputs: [], execution_count: null };
}


export class NotebookCopier implements CopyActions {
  constructor(
    private _app: JupyterFrontEnd,
    private _tracker: INotebookTracker,
    private _docManager: IDocumentManager | null
  ) {}

  /** Inserts `cells` below the active cell of the student's current notebook (a new
   * notebook when none is open). */
  async copyCells(cells: CellState[]): Promise<void> {
    const target = this._tracker.currentWidget;
    const model = target?.content.model;
    if (!target || !model) {
      await this._newFile(cells, 'copied cells', null);
      return;
    }
    const notebook = target.content;
    const at = Math.max(0, notebook.activeCellIndex + 1);
    model.sharedModel.insertCells(at, cells.map(c => ownCell(c, false)) as never[]);
    notebook.deselectAll();
    notebook.activeCellIndex = at + cells.length - 1;
    this._app.shell.activateById(target.id);
    const what = cells.length === 1 ? 'Cell' : `${cells.length} cells`;
    Notification.success(`${what} copied into ${target.context.path}.`, { autoClose: 4000 });
  }

  /** Saves the whole shared notebook as a new file of the student's and opens it. */
  async copyNotebook(shared: SharedNotebook): Promise<void> {
    const summary = shared.summary;
    if (!summary) {
      return;
    }
    await this._newFile(shared.cells, copyStem(summary.path), summary.language, true);
  }

  private async _newFile(cells: CellState[], name: string, language: string | null, withOutputs = false): Promise<void> {
    const contents = this._app.serviceManager.contents;
    const path = await this._freeName(`${name.replace(/ /g, '-')}-copy`);
    const content = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: this._metadata(language),
      // nbformat 4.5 wants cell ids: fresh ones (the shared ids stay the sharer's)
      cells: cells.map((c, i) => ({ id: `${Date.now().toString(36)}-${i}`, ...ownCell(c, withOutputs) }))
    };
    await contents.save(path, { type: 'notebook', format: 'json', content });
    if (this._docManager) {
      this._docManager.openOrReveal(path);
    } else {
      await this._app.commands.execute('docmanager:open', { path });
    }
    Notification.success(`Saved as ${path}.`, { autoClose: 4000 });
  }

  /** `base.ipynb`, or `base-2.ipynb`, ... : the first name not taken at the top folder. */
  private async _freeName(base: string): Promise<string> {
    const contents = this._app.serviceManager.contents;
    for (let n = 1; n < 100; n++) {
      const path = n === 1 ? `${base}.ipynb` : `${base}-${n}.ipynb`;
      try {
        await contents.get(path, { content: false });
      } catch {
        return path; // not found: free
      }
    }
    return `${base}-${Date.now().toString(36)}.ipynb`;
  }

  /** A kernelspec of the student's for the notebook's language (else their default), so the
   * new file opens with a kernel without asking. */
  private _metadata(language: string | null): Record<string, unknown> {
    const specs = this._app.serviceManager.kernelspecs.specs;
    const all = Object.values(specs?.kernelspecs ?? {}).filter(Boolean);
    const wanted = (language ?? '').toLowerCase();
    const spec = (wanted && all.find(s => s!.language.toLowerCase() === wanted)) || (specs && specs.kernelspecs[specs.default]);
    const metadata: Record<string, unknown> = {};
    if (spec) {
      metadata.kernelspec = { name: spec.name, display_name: spec.display_name, language: spec.language };
    }
    if (language) {
      metadata.language_info = { name: language };
    }
    return metadata;
  }
}

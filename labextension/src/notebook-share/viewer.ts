/**
 * The student's read-only view of the room's shared notebook, in the main area.
 *
 * The cells are rendered by JupyterLab's own notebook widget (`StaticNotebook`: cells, no
 * editing modes, no keyboard commands, no drag and drop) over a `NotebookModel` of our own,
 * updated from the patches the `SharedNotebook` applies. So the student's renderers show it
 * (their theme, their markdown and mime renderers), and its outputs are untrusted the way
 * JupyterLab treats an untrusted notebook: a cell's trust comes only from its
 * `metadata.trusted`, which shared cells never carry, so the output area picks only safe
 * mime types (no `application/javascript`) and the HTML renderer sanitizes (no `<script>`, no
 * `onerror`). On top of that its rendermime (safety.ts) holds only safe, non-script renderers
 * and renders every model untrusted. Nothing runs in the student's kernel: this widget has
 * none, and it is no notebook panel, so the notebook commands (run, ...) never target it.
 *
 * Cells render lazily (the notebook's 'defer' windowing mode): the first screen at once, the
 * rest in idle time; "Follow" scrolls with the notebook's own `scrollToItem`.
 *
 * The teacher's active cell is marked; with "Follow" on it is scrolled into view. A click
 * selects cells (shift: a range; ctrl/cmd: one more) for "Copy selected cells"; each cell has
 * its own copy button. When the share ends, a banner says so and the last state stays.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import type { Cell } from '@jupyterlab/cells';
import type { IEditorMimeTypeService } from '@jupyterlab/codeeditor';
import { NotebookModel, StaticNotebook } from '@jupyterlab/notebook';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ToolbarButton } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import type { CellState, NotebookChange, Patch, SharedNotebook } from './patches';
import { untrustedRendermime } from './safety';

/** What the viewer's copy buttons do (copy.ts). */
export interface CopyActions {
  copyCells(cells: CellState[]): Promise<void>;
  copyNotebook(notebook: SharedNotebook): Promise<void>;
}

export interface ViewerOptions {
  notebook: SharedNotebook;
  rendermime: IRenderMimeRegistry;
  contentFactory: StaticNotebook.IContentFactory;
  mimeTypeService: IEditorMimeTypeService;
  follow: boolean;
  copy: CopyActions;
}

type YNotebook = NotebookModel['sharedModel'];

/** The nbformat cell JupyterLab's shared model inserts: no metadata, so never trusted. */
function modelCell(cell: CellState): Record<string, unknown> {
  const base = { id: cell.id, cell_type: cell.cell_type, source: cell.source, metadata: {} };
  return cell.cell_type === 'code'
    ? { ...base, outputs: cell.outputs.map(o => ({ ...o })), execution_count: cell.execution_count }
    : base;
}

/**
 * An empty model for the view. "Collaborative", so the notebook widget does not add its default
 * cell to an empty notebook: that cell, not in the share, would be a trusted code cell.
 */
function viewModel(): NotebookModel {
  return new NotebookModel({ collaborationEnabled: true });
}

/** The shared cells, rendered read-only, each with a copy button. */
class SharedCells extends StaticNotebook {
  onCopy: (cell: Cell) => void = () => undefined;

  protected onCellInserted(index: number, cell: Cell): void {
    super.onCellInserted(index, cell);
    cell.readOnly = true;
    // a deferred cell builds its editor later: make that one read-only too
    void cell.ready.then(() => !cell.isDisposed && cell.update());
    cell.addClass('jc-nbshare-cell');
    cell.node.dataset.cellId = cell.model.id;
    const button = document.createElement('button');
    button.className = 'jc-nbshare-copy-cell jp-Button jp-mod-minimal';
    button.type = 'button';
    button.textContent = 'Copy to my notebook';
    button.title = 'Insert this cell below the active cell of your own notebook';
    button.addEventListener('click', event => {
      event.stopPropagation();
      this.onCopy(cell);
    });
    cell.node.appendChild(button);
  }
}

export class ShareViewer extends MainAreaWidget<StaticNotebook> {
  readonly notebook: SharedNotebook;
  private _cells: SharedCells;
  private _model: NotebookModel;
  private _banner = new Widget();
  private _followButton: ToolbarButton;
  private _follow: boolean;
  private _selected = new Set<string>();
  private _anchor: string | null = null;
  private _copy: CopyActions;
  private _offChanged: () => void;

  constructor(options: ViewerOptions) {
    const cells = new SharedCells({
      // safe renderers only, each rendering untrusted (safety.ts)
      rendermime: untrustedRendermime(options.rendermime),
      contentFactory: options.contentFactory,
      mimeTypeService: options.mimeTypeService,
      // 'defer': the first screen of cells is rendered at once, the rest in idle time, each
      // cell a placeholder (no editor, no outputs) until it comes into view: a 200-cell late
      // join shows its first screen without building 200 editors first
      notebookConfig: { ...StaticNotebook.defaultNotebookConfig, windowingMode: 'defer', scrollPastEnd: false }
    });
    super({ content: cells });
    this._cells = cells;
    this.notebook = options.notebook;
    this._copy = options.copy;
    this._follow = options.follow;
    this.id = `jc-nbshare-viewer-${Math.random().toString(36).slice(2, 10)}`;
    this.addClass('jc-nbshare-viewer');
    cells.addClass('jp-NotebookPanel-notebook');
    cells.addClass('jc-nbshare-notebook');
    this.title.closable = true;
    this._model = viewModel();
    cells.model = this._model;
    cells.onCopy = cell => void this._copyIds([cell.model.id]);
    cells.node.addEventListener('click', this._onClick);

    this._followButton = new ToolbarButton({
      className: 'jc-nbshare-follow',
      label: 'Follow',
      tooltip: 'Keep the teacher’s active cell in view',
      pressed: this._follow,
      onClick: () => this.setFollow(!this._follow)
    });
    this.toolbar.addItem('follow', this._followButton);
    this.toolbar.addItem(
      'copy-selected',
      new ToolbarButton({
        className: 'jc-nbshare-copy-selected',
        label: 'Copy selected cells',
        tooltip: 'Insert the selected cells (click, shift-click) below the active cell of your notebook',
        onClick: () => void this._copyIds(this._selectedIds())
      })
    );
    this.toolbar.addItem(
      'copy-notebook',
      new ToolbarButton({
        className: 'jc-nbshare-copy-notebook',
        label: 'Copy to a new notebook',
        tooltip: 'Save the whole shared notebook as a new file of yours',
        onClick: () => void this._copy.copyNotebook(this.notebook).catch(err => console.error(err))
      })
    );
    this._banner.addClass('jc-nbshare-banner');
    this.contentHeader.addWidget(this._banner);
    this._offChanged = this.notebook.changed.connect(change => this._onChange(change));
    this._reset();
  }

  get follow(): boolean {
    return this._follow;
  }

  setFollow(follow: boolean): void {
    this._follow = follow;
    this._followButton.pressed = follow;
    this.node.dataset.follow = String(follow);
    if (follow) {
      this._markActive(true);
    }
  }

  /** The cells a person selected here, in notebook order (the teacher's active one if none). */
  selectedCells(): CellState[] {
    const ids = this._selectedIds();
    return this.notebook.cells.filter(c => ids.includes(c.id));
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._offChanged();
    this._cells.node.removeEventListener('click', this._onClick);
    super.dispose();
    this._model.dispose();
  }

  private _selectedIds(): string[] {
    const ids = this.notebook.cells.map(c => c.id).filter(id => this._selected.has(id));
    return ids.length ? ids : this.notebook.active ? [this.notebook.active] : [];
  }

  private async _copyIds(ids: string[]): Promise<void> {
    const cells = this.notebook.cells.filter(c => ids.includes(c.id));
    if (cells.length) {
      await this._copy.copyCells(cells).catch(err => console.error('jupyter-classroom: copy failed', err));
    }
  }

  private _onChange(change: NotebookChange): void {
    if (change.kind === 'reset') {
      this._reset();
    } else if (change.kind === 'patches') {
      try {
        this._apply(change.patches);
      } catch (err) {
        // the model and the SharedNotebook went apart (a bug): show the SharedNotebook's state
        console.error('jupyter-classroom: a shared notebook patch did not replay; redrawing', err);
        this._reset();
      }
    } else {
      this._updateStatus();
    }
  }

  /** A whole new state: a fresh model (cheaper and simpler than diffing a snapshot). */
  private _reset(): void {
    const model = viewModel();
    const language = this.notebook.summary?.language;
    if (language) {
      // the code cells' mime type (syntax highlighting) comes from the notebook's language
      model.setMetadata('language_info', { name: language });
    }
    model.sharedModel.insertCells(0, this.notebook.cells.map(modelCell) as never[]);
    const old = this._model;
    this._model = model;
    this._cells.model = model;
    old.dispose();
    this._selected.clear();
    this._updateStatus();
    this._markActive(true);
  }

  /** Patches the SharedNotebook applied, replayed on the model (the same rules). */
  private _apply(patches: readonly Patch[]): void {
    const ynb: YNotebook = this._model.sharedModel;
    const at = (id: string): number => {
      const index = ynb.cells.findIndex(c => c.id === id);
      if (index < 0) {
        throw new Error(`no cell ${id} in the view`);
      }
      return index;
    };
    let activeMoved = false;
    ynb.transact(() => {
      for (const patch of patches) {
        switch (patch.type) {
          case 'insert':
            ynb.insertCell(Math.min(patch.index, ynb.cells.length), modelCell({ ...patch.cell, outputs: patch.cell.outputs ?? [], execution_count: patch.cell.execution_count ?? null }) as never);
            break;
          case 'delete':
            ynb.deleteCell(at(patch.cell_id));
            this._selected.delete(patch.cell_id);
            break;
          case 'move':
          case 'cell_type': {
            // re-created from the state after the batch's patches so far (a move keeps the
            // cell's content; a type change clears outputs as the rules say)
            const index = at(patch.cell_id);
            const json = ynb.cells[index].toJSON() as Record<string, unknown>;
            ynb.deleteCell(index);
            if (patch.type === 'move') {
              ynb.insertCell(Math.min(patch.index, ynb.cells.length), { ...json, metadata: {} } as never);
            } else {
              const code = patch.cell_type === 'code';
              const wasCode = json.cell_type === 'code';
              ynb.insertCell(index, modelCell({
                id: patch.cell_id,
                cell_type: patch.cell_type,
                source: String(json.source ?? ''),
                outputs: code && wasCode ? ((json.outputs as CellState['outputs']) ?? []) : [],
                execution_count: code && wasCode ? ((json.execution_count as number | null) ?? null) : null
              }) as never);
            }
            activeMoved ||= patch.cell_id === this.notebook.active;
            break;
          }
          case 'source':
            ynb.cells[at(patch.cell_id)].setSource(patch.source);
            break;
          case 'edit': {
            const cell = ynb.cells[at(patch.cell_id)];
            let pos = 0;
            for (const step of patch.delta) {
              if ('retain' in step) {
                pos += step.retain;
              } else if ('delete' in step) {
                cell.updateSource(pos, pos + step.delete, '');
              } else {
                cell.updateSource(pos, pos, step.insert);
                pos += step.insert.length;
              }
            }
            break;
          }
          case 'outputs': {
            const cell = ynb.cells[at(patch.cell_id)] as unknown as {
              setOutputs(outputs: unknown[]): void;
              execution_count: number | null;
            };
            cell.setOutputs(patch.outputs.map(o => ({ ...o })));
            cell.execution_count = patch.execution_count ?? null;
            activeMoved ||= patch.cell_id === this.notebook.active;
            break;
          }
          case 'active':
            activeMoved = true;
            break;
        }
      }
    });
    if (!ynb.cells.length) {
      // every cell deleted: the notebook widget would add its (trusted) default cell to this
      // model on the next frame; a fresh collaborative model never gets one
      this._reset();
      return;
    }
    this._updateStatus();
    this._markActive(activeMoved);
  }

  private _updateStatus(): void {
    const summary = this.notebook.summary;
    const data = this.node.dataset;
    data.shareId = summary?.share_id ?? '';
    data.seq = String(this.notebook.seq);
    data.cells = String(this.notebook.cells.length);
    data.live = String(this.notebook.live);
    data.follow = String(this._follow);
    const name = summary?.path.split('/').pop() ?? 'notebook';
    this.title.label = `Shared: ${name}`;
    this.title.caption = summary ? `${summary.sharer.name} shares ${summary.path}${summary.live ? '' : ' (ended)'}` : 'No shared notebook';
    if (!summary || summary.live) {
      this._banner.hide();
      this._banner.node.textContent = '';
    } else {
      const reasons: Record<string, string> = {
        left: `${summary.sharer.name} left the room`,
        replaced: 'another notebook is shared now',
        'you-left': 'you left the room'
      };
      const why = reasons[this.notebook.endReason] ?? `${summary.sharer.name} stopped sharing`;
      this._banner.node.textContent = `The share has ended (${why}). This is its last state; you can still read and copy it.`;
      this._banner.show();
    }
  }

  /** Marks the teacher's active cell; with Follow on and `scroll`, brings it into view. */
  private _markActive(scroll: boolean): void {
    const active = this.notebook.active;
    this.node.dataset.active = active ?? '';
    let target = -1;
    this._cells.widgets.forEach((cell: Cell, index: number) => {
      const is = cell.model.id === active;
      cell.toggleClass('jc-nbshare-active', is);
      cell.toggleClass('jc-nbshare-selected', this._selected.has(cell.model.id));
      if (is) {
        target = index;
      }
    });
    if (scroll && this._follow && target >= 0) {
      // the notebook's own scroll (its scroller only, not the shell): it waits for a cell
      // the deferred rendering has not attached yet and works with windowing
      const index = target;
      requestAnimationFrame(() => {
        if (!this.isDisposed && this._cells.outerNode.isConnected) {
          this._cells.scrollToItem(index, 'smart').catch(() => undefined);
        }
      });
    }
  }

  private _onClick = (event: MouseEvent): void => {
    const node = (event.target as HTMLElement).closest('.jc-nbshare-cell') as HTMLElement | null;
    const id = node?.dataset.cellId;
    if (!id) {
      return;
    }
    const ids = this.notebook.cells.map(c => c.id);
    if (event.shiftKey && this._anchor && ids.includes(this._anchor)) {
      const [a, b] = [ids.indexOf(this._anchor), ids.indexOf(id)].sort((x, y) => x - y);
      this._selected = new Set(ids.slice(a, b + 1));
    } else if (event.ctrlKey || event.metaKey) {
      if (!this._selected.delete(id)) {
        this._selected.add(id);
      }
      this._anchor = id;
    } else {
      this._selected = new Set([id]);
      this._anchor = id;
    }
    this._markActive(false);
  };
}

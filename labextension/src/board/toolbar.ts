/**
 * The board's toolbar, in the page: tools, colour, width, undo/redo, and the host's clear and
 * lock. Everything here works while the kernel runs a cell (nothing goes through it).
 *
 * DOM hooks (tests, styling): `.jc-board-toolbar`, `button.jc-board-tool[data-tool=pen|...]`
 * (`aria-pressed` on the current one), `input[type=color].jc-board-color`,
 * `select.jc-board-width`, `.jc-board-undo`, `.jc-board-redo`, `.jc-board-clear`,
 * `.jc-board-lock` (`aria-pressed` when locked).
 */
export const TOOLS = [
  ['pen', 'Pen'],
  ['highlighter', 'Highlighter'],
  ['eraser', 'Eraser'],
  ['line', 'Line'],
  ['rect', 'Rectangle'],
  ['ellipse', 'Ellipse'],
  ['arrow', 'Arrow'],
  ['text', 'Text']
] as const;
export type Tool = (typeof TOOLS)[number][0];
export const SHAPES: readonly Tool[] = ['line', 'rect', 'ellipse', 'arrow'];
export const WIDTHS = [1, 2, 4, 8, 16];
export const DEFAULT_COLOR = '#1f3a93';
export const DEFAULT_WIDTH = 4;

export interface ToolbarActions {
  undo(): void;
  redo(): void;
  clear(): void;
  lock(locked: boolean): void;
  toolChanged?(tool: Tool): void;
}

export class Toolbar {
  readonly el: HTMLDivElement;
  tool: Tool = 'pen';
  private _buttons = new Map<Tool, HTMLButtonElement>();
  private _color: HTMLInputElement;
  private _width: HTMLSelectElement;
  private _clear: HTMLButtonElement;
  private _lock: HTMLButtonElement;
  private _locked = false;

  constructor(private _actions: ToolbarActions) {
    this.el = document.createElement('div');
    this.el.className = 'jc-board-toolbar';
    const tools = document.createElement('div');
    tools.className = 'jc-board-tools';
    tools.setAttribute('role', 'toolbar');
    for (const [tool, label] of TOOLS) {
      const button = this._button(`jc-board-tool jc-board-tool-${tool}`, label, () => this.select(tool));
      button.dataset.tool = tool;
      this._buttons.set(tool, button);
      tools.append(button);
    }
    this._color = document.createElement('input');
    this._color.type = 'color';
    this._color.className = 'jc-board-color';
    this._color.value = DEFAULT_COLOR;
    this._color.title = 'Colour';
    this._width = document.createElement('select');
    this._width.className = 'jc-board-width';
    this._width.title = 'Width';
    for (const width of WIDTHS) {
      const option = document.createElement('option');
      option.value = option.textContent = String(width);
      this._width.append(option);
    }
    this._width.value = String(DEFAULT_WIDTH);
    const undo = this._button('jc-board-undo', 'Undo', () => this._actions.undo());
    const redo = this._button('jc-board-redo', 'Redo', () => this._actions.redo());
    this._clear = this._button('jc-board-clear', 'Clear', () => this._actions.clear());
    this._lock = this._button('jc-board-lock', 'Lock board', () => this._actions.lock(!this._locked));
    this.el.append(tools, this._color, this._width, undo, redo, this._clear, this._lock);
    this.select('pen');
    this.setHost(false, false);
  }

  get color(): string {
    return this._color.value;
  }

  get width(): number {
    return Number(this._width.value) || DEFAULT_WIDTH;
  }

  select(tool: Tool): void {
    this.tool = tool;
    for (const [name, button] of this._buttons) {
      button.setAttribute('aria-pressed', String(name === tool));
    }
    this._actions.toolChanged?.(tool);
  }

  /** The host's buttons work for the host only; the lock button shows the board's state. */
  setHost(isHost: boolean, locked: boolean): void {
    this._locked = locked;
    this._clear.disabled = !isHost;
    this._lock.disabled = !isHost;
    this._lock.setAttribute('aria-pressed', String(locked));
    this._lock.textContent = locked ? 'Unlock board' : 'Lock board';
  }

  private _button(className: string, label: string, onClick: () => void): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = `jc-board-button ${className}`;
    button.textContent = label;
    button.addEventListener('click', onClick);
    return button;
  }
}

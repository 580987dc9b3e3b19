/**
 * jsdom's DOM classes as globals, which Lumino's modules read when they load (Element,
 * Node...). Import this (after './setup-dom') before @lumino/widgets.
 */
import './setup-dom';

const g = globalThis as Record<string, any>;
const win = window as unknown as Record<string, any>;
for (const name of ['Element', 'Node', 'HTMLElement', 'Event', 'MouseEvent', 'KeyboardEvent', 'CustomEvent', 'getComputedStyle']) {
  g[name] ??= win[name];
}
// jsdom has no DragEvent (Lumino's drag and drop subclasses it): a MouseEvent will do
g.DragEvent ??= win.DragEvent ?? class DragEvent extends win.MouseEvent {};

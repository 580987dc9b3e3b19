/**
 * A minimal typed event emitter.
 *
 * The negotiation and mesh modules are kept free of Lumino, the DOM and
 * socket.io so that they run unchanged under Node's test runner.
 */
export type Listener<T> = (value: T) => void;

export class Emitter<T> {
  private _listeners = new Set<Listener<T>>();

  /** Subscribe; returns a function that unsubscribes. */
  connect(listener: Listener<T>): () => void {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  emit(value: T): void {
    for (const listener of Array.from(this._listeners)) {
      try {
        listener(value);
      } catch (err) {
        // A faulty listener must not break signaling for the others.
        console.error('jupyter-classroom: listener failed', err);
      }
    }
  }

  clear(): void {
    this._listeners.clear();
  }
}

/**
 * The one thing a classroom view asks its kernel for: a one-time `room:ticket`, over the
 * widget's comm (`{type: 'ticket_request', request_id}` → `{type: 'ticket' | 'ticket_error',
 * request_id, ...}`), with which the page socket attaches to the kernel's membership.
 *
 * Comm messages wait while the kernel runs a cell, so a slow answer is not an error: the
 * request is repeated every `retryMs` until the kernel answers or `cancelAll()` is called.
 */
import type { DOMWidgetModel } from '@jupyter-widgets/base';

export type TicketReply =
  | { type: 'ticket'; ticket: string; request_id?: string }
  | { type: 'ticket_error'; message: string; request_id?: string };

export const TICKET_RETRY_MS = 15000;

/** What the tickets need of a widget view: its model (for replies) and `send`. */
export interface CommView {
  model: DOMWidgetModel;
  send(content: unknown): void;
}

export class KernelTickets {
  /** Called each time a request goes unanswered for `retryMs` (show "waiting for the kernel"). */
  onSlow: (() => void) | null = null;
  private _waiters = new Map<string, (reply: TicketReply) => void>();
  private _cancels = new Set<() => void>();

  constructor(
    private _view: CommView,
    private _retryMs = TICKET_RETRY_MS
  ) {
    this._onMsg = this._onMsg.bind(this);
    this._view.model.on('msg:custom', this._onMsg);
  }

  /** A ticket from the kernel (rejects with the kernel's sentence, or 'superseded'). */
  ask(stillWanted: () => boolean = () => true): Promise<string> {
    return new Promise((resolve, reject) => {
      const ids: string[] = [];
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (): void => {
        clearTimeout(timer);
        ids.forEach(id => this._waiters.delete(id));
        this._cancels.delete(cancel);
      };
      const cancel = (): void => {
        finish();
        reject(new Error('superseded'));
      };
      this._cancels.add(cancel);
      const waiter = (reply: TicketReply): void => {
        finish();
        if (reply.type === 'ticket' && reply.ticket) {
          resolve(reply.ticket);
        } else {
          reject(new Error(reply.type === 'ticket_error' ? reply.message : 'bad reply'));
        }
      };
      const send = (): void => {
        if (!stillWanted()) {
          cancel();
          return;
        }
        const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
        ids.push(id);
        this._waiters.set(id, waiter);
        this._view.send({ type: 'ticket_request', request_id: id });
        timer = setTimeout(() => {
          this.onSlow?.();
          send();
        }, this._retryMs);
      };
      send();
    });
  }

  /** Rejects every pending request (the view is going away or restarting). */
  cancelAll(): void {
    for (const cancel of Array.from(this._cancels)) {
      cancel();
    }
  }

  dispose(): void {
    this.cancelAll();
    this._view.model.off('msg:custom', this._onMsg);
  }

  private _onMsg(msg: unknown): void {
    const reply = msg as TicketReply | null;
    if (!reply || (reply.type !== 'ticket' && reply.type !== 'ticket_error')) {
      return;
    }
    // Replies echoing our request id go to that request; a kernel that does not echo ids
    // answers the oldest pending request.
    const waiter =
      (reply.request_id && this._waiters.get(reply.request_id)) ||
      (!reply.request_id ? this._waiters.values().next().value : undefined);
    waiter?.(reply);
  }
}

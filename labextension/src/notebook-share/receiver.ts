/**
 * The room's shared notebook as this page receives it, on one room link: `notebook:shared`
 * loads a snapshot, `notebook:patched` applies by the resume rule, a gap (or a batch that does
 * not apply) fetches with `notebook:get {share_id, since}` (the missing batches, or the whole
 * snapshot when the server no longer has them), `notebook:stopped` ends it readable. A join,
 * reconnect or reload finds the share in the join/attach ack's `notebook` summary and fetches
 * the same way. Also keeps who may share (`sharers`: the ack's, then `notebook:sharers`).
 */
import { Emitter } from '../emitter';
import type { AttachAck, RoomLink } from '../page/session';
import type {
  NotebookGetReply,
  NotebookPatched,
  NotebookShared,
  NotebookSharers,
  NotebookStopped,
  NotebookSummary
} from '../protocol.generated';

import { SharedNotebook } from './patches';

export class ShareReceiver {
  readonly notebook = new SharedNotebook();
  /** A live share by someone else arrived that this page had not seen (open, notify). */
  readonly started = new Emitter<NotebookSummary>();
  /** Who may share changed (or the page's membership did): update the commands. */
  readonly changed = new Emitter<void>();
  sharers: string[] = [];
  private _off: (() => unknown)[] = [];
  private _fetching = false;
  private _again: boolean | null = null; // a fetch asked for while one runs: full or not

  constructor(readonly link: RoomLink) {
    this._off.push(
      link.on<NotebookShared>('notebook:shared', e => this._load(e.notebook)),
      link.on<NotebookPatched>('notebook:patched', e => this._patched(e)),
      link.on<NotebookStopped>('notebook:stopped', e => {
        this.notebook.stopped(e.share_id, e.reason);
        this.changed.emit();
      }),
      link.on<NotebookSharers>('notebook:sharers', e => {
        this.sharers = e.sharers;
        this.changed.emit();
      }),
      link.onAttached.connect(ack => this._attached(ack)),
      link.state.changed.connect(() => this.changed.emit())
    );
    if (link.attached) {
      this._attached(link.attached);
    }
  }

  /** This page's member id in the room. */
  get memberId(): string {
    return this.link.attached?.you.id ?? this.link.memberId;
  }

  /** The share is this page's member's own (its patches do not come back to this socket). */
  get isSharer(): boolean {
    return !!this.notebook.summary && this.notebook.summary.sharer.id === this.memberId;
  }

  /** The room's host, or a member the host allowed. */
  get canShare(): boolean {
    const ack = this.link.attached;
    if (!ack || this.link.state.value !== 'attached') {
      return false;
    }
    return ack.room.host.id === ack.you.id || this.sharers.includes(ack.you.id);
  }

  get isHost(): boolean {
    const ack = this.link.attached;
    return !!ack && ack.room.host.id === ack.you.id;
  }

  dispose(): void {
    for (const off of this._off.splice(0)) {
      off();
    }
  }

  /** Fetches what is missing: the batches after our seq, or (`full`) the whole share. */
  async fetch(full = false): Promise<void> {
    if (this._fetching) {
      this._again = (this._again ?? false) || full;
      return;
    }
    this._fetching = true;
    try {
      const payload: Record<string, unknown> = { room_id: this.link.roomId };
      const shareId = this.notebook.shareId;
      if (!full && shareId !== null) {
        payload.share_id = shareId;
        payload.since = this.notebook.seq;
      }
      const reply = (await this.link.request('notebook:get', payload)) as unknown as NotebookGetReply;
      if (reply.notebook) {
        this._load(reply.notebook);
      } else if (reply.batches && reply.share_id) {
        const result = this.notebook.receiveBatches(reply.share_id, reply.batches);
        if (result === 'gap' || result === 'conflict' || result === 'other-share') {
          this._again = true;
        }
      } else if (this.notebook.summary) {
        this.notebook.clear(); // the room has no share any more
      }
    } catch (err) {
      console.warn('jupyter-classroom: notebook:get failed', err);
    } finally {
      this._fetching = false;
      const again = this._again;
      this._again = null;
      if (again !== null && this.link.state.value === 'attached') {
        void this.fetch(again);
      }
    }
  }

  private _load(snapshot: NonNullable<NotebookGetReply['notebook']>): void {
    const isNew = snapshot.summary.share_id !== this.notebook.shareId;
    this.notebook.load(snapshot);
    this.changed.emit();
    if (isNew && snapshot.summary.live && !this.isSharer) {
      this.started.emit(snapshot.summary);
    }
  }

  private _patched(e: NotebookPatched): void {
    if (this.isSharer && e.share_id === this.notebook.shareId) {
      return; // another page of the sharer's sends them: this page does not follow its own
    }
    const result = this.notebook.receive(e.share_id, e.seq, e.patches);
    if (result === 'gap') {
      void this.fetch();
    } else if (result === 'conflict' || result === 'other-share') {
      void this.fetch(true);
    }
  }

  /** A (re)join or (re)attach: its `notebook` summary says whether we are behind. */
  private _attached(ack: AttachAck & { sharers?: string[] }): void {
    this.sharers = ack.sharers ?? [];
    this.changed.emit();
    const summary = ack.notebook;
    if (!summary) {
      if (this.notebook.summary) {
        this.notebook.clear();
      }
      return;
    }
    if (summary.share_id === this.notebook.shareId) {
      if (summary.seq > this.notebook.seq && !this.isSharer) {
        void this.fetch();
      } else if (!summary.live && this.notebook.live) {
        this.notebook.stopped(summary.share_id, 'stopped');
      }
      return;
    }
    void this.fetch(true);
  }
}

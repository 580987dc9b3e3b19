/**
 * A room's raised hands as one member sees them: the queue in raise order (from the join
 * ack, then every `hand:queue`), the member's own hand, and the requests (raise, lower, take).
 */
import { Emitter } from '../emitter';
import type { RoomLink } from '../page/session';

import type { Hand, HandQueue, HandsReply, HandTaken, HandTakenReply } from '../protocol.generated';

export class HandsModel {
  readonly changed = new Emitter<void>();
  /** `hand:taken` for this member: the host called on them. */
  readonly taken = new Emitter<HandTaken>();
  hands: Hand[] = [];
  private _version = 0;
  private _off: (() => void)[] = [];

  constructor(readonly link: RoomLink) {
    this._off.push(
      link.onAttached.connect(ack => this._set(ack.hands ?? [])),
      link.on<HandQueue>('hand:queue', e => {
        if (Array.isArray(e.hands)) {
          this._version++;
          this._set(e.hands);
        }
      }),
      link.on<HandTaken>('hand:taken', e => {
        if (e.member_id === link.memberId) {
          this.taken.emit(e);
        }
      }),
      link.on<{ member_id: string }>('room:member_left', e => {
        // the server drops a departed member's hand and sends the queue; show it at once
        if (this.hands.some(h => h.member_id === e.member_id)) {
          this._set(this.hands.filter(h => h.member_id !== e.member_id));
        }
      })
    );
    if (link.attached?.hands) {
      this._set(link.attached.hands);
    }
  }

  /** Whether this member's hand is up. */
  get raised(): boolean {
    return this.position(this.link.memberId) > 0;
  }

  /** 1 for the first in the queue; 0 when `memberId`'s hand is down. */
  position(memberId: string): number {
    return this.hands.findIndex(h => h.member_id === memberId) + 1;
  }

  raise(): Promise<void> {
    return this._change('hand:raise', {});
  }

  /** Lowers this member's hand, or (host) `memberId`'s. */
  lower(memberId?: string): Promise<void> {
    return this._change('hand:lower', memberId && memberId !== this.link.memberId ? { member_id: memberId } : {});
  }

  /** (Host) takes the first hand, or `memberId`'s: that person is notified. */
  async take(memberId?: string): Promise<Hand | null> {
    const version = this._version;
    const ack = (await this.link.request('hand:take', {
      room_id: this.link.roomId,
      ...(memberId ? { member_id: memberId } : {})
    })) as unknown as HandTakenReply;
    this._fromAck(version, ack.hands);
    return ack.taken ?? null;
  }

  dispose(): void {
    this._off.forEach(off => off());
    this._off = [];
    this.changed.clear();
    this.taken.clear();
  }

  private async _change(event: string, payload: Record<string, unknown>): Promise<void> {
    const version = this._version;
    const ack = (await this.link.request(event, { room_id: this.link.roomId, ...payload })) as unknown as HandsReply;
    this._fromAck(version, ack.hands);
  }

  /** An ack's queue, unless a `hand:queue` came meanwhile (that one is as new or newer). */
  private _fromAck(version: number, hands: Hand[] | undefined): void {
    if (version === this._version && Array.isArray(hands)) {
      this._set(hands);
    }
  }

  private _set(hands: Hand[]): void {
    const valid = hands.filter(h => h && typeof h.member_id === 'string');
    // raise order; the server sends it so, and a stable sort keeps its order for equal times
    this.hands = valid
      .map((hand, index) => ({ hand, index }))
      .sort((a, b) => (a.hand.raised_at < b.hand.raised_at ? -1 : a.hand.raised_at > b.hand.raised_at ? 1 : a.index - b.index))
      .map(({ hand }) => hand);
    this.changed.emit();
  }
}

/**
 * What the chat, participants and video widgets share: a model that names the room the kernel
 * joined, and (chat, participants) a view holding the link of the page's socket
 * (page/session.ts) to that room.
 */
import { DOMWidgetModel, DOMWidgetView, ISerializers, WidgetModel } from '@jupyter-widgets/base';

import { KernelTickets } from '../kernel-ticket';
import { MembershipOffer, pageSession, RoomLink } from './session';
import { MODULE_NAME, MODULE_VERSION } from '../version';

/** A model whose view runs on the page's socket; the kernel only hands it tickets. */
export abstract class PageSocketModel extends DOMWidgetModel {
  defaults() {
    // `this.constructor`: the subclass, whose statics name its model and view
    const names = this.constructor as typeof PageSocketModel;
    return {
      ...super.defaults(),
      _model_name: names.model_name,
      _model_module: names.model_module,
      _model_module_version: names.model_module_version,
      _view_name: names.view_name,
      _view_module: names.view_module,
      _view_module_version: names.view_module_version,
      room_id: '',
      member_id: '',
      socket_path: ''
    };
  }

  static serializers: ISerializers = { ...DOMWidgetModel.serializers };
  static model_name = '';
  static model_module = MODULE_NAME;
  static model_module_version = MODULE_VERSION;
  static view_name = '';
  static view_module = MODULE_NAME;
  static view_module_version = MODULE_VERSION;
}

/** The room the kernel put in a widget's model. */
export interface ModelRoom {
  roomId: string;
  memberId: string;
  socketPath: string;
}

/** The model's room, or null while the kernel has not joined one. */
export function modelRoom(model: WidgetModel): ModelRoom | null {
  const roomId = model.get('room_id') as string;
  const memberId = model.get('member_id') as string;
  const socketPath = model.get('socket_path') as string;
  return roomId && socketPath ? { roomId, memberId, socketPath } : null;
}

/** A view on the page's socket: its room link, kernel tickets and listeners, let go on remove. */
export abstract class PageSocketView extends DOMWidgetView {
  /**
   * Carries the page's membership to this view's kernel when the kernel joined the page's
   * room as a member of its own (page/session.ts, `membershipOffers`): the first view to
   * claim an offer sends `{type: 'membership', ticket, member_id}` through its comm. The kernel asks
   * again (`{type: 'membership_request'}`) after it re-joined as its own member (a reconnect).
   */
  initialize(parameters: any): void {
    super.initialize(parameters);
    const room = modelRoom(this.model);
    if (!room) {
      return;
    }
    const session = pageSession(room.socketPath);
    const onOffer = (offer: MembershipOffer): void => {
      const now = modelRoom(this.model);
      if (now && offer.roomId === now.roomId && offer.kernelMemberId === now.memberId && offer.claim()) {
        this.send({ type: 'membership', ticket: offer.ticket, member_id: offer.pageMemberId });
      }
    };
    const onMsg = (msg: unknown): void => {
      const now = modelRoom(this.model);
      const own = now && session.room.value;
      if ((msg as { type?: unknown } | null)?.type === 'membership_request' && now && own && own.roomId === now.roomId) {
        const kernel = (msg as { member_id?: unknown }).member_id;
        if (typeof kernel === 'string' && kernel) {
          session.offerMembership(own, kernel, true);
        }
      }
    };
    this.model.on('msg:custom', onMsg);
    // assigned here, not as a field initializer: Backbone calls initialize from the constructor
    this._membershipOff = [session.membershipOffers.connect(onOffer), () => this.model.off('msg:custom', onMsg)];
  }

  remove(): void {
    (this._membershipOff ?? []).forEach(off => off());
    this._membershipOff = [];
    this._off.forEach(off => off());
    this._off = [];
    this._tickets?.dispose();
    this._link?.release();
    this._link = null;
    super.remove();
  }

  get link(): RoomLink | null {
    return this._link;
  }

  /**
   * Tells the kernel this front-end loaded the view. A kernel that hears nothing from any
   * view of a widget it showed puts its kernel-drawn equivalent in its place (the front-end
   * could not load our extension); a view on a socket already attached by another view asks
   * the kernel for no ticket, so this is the message it can count on.
   */
  protected _sayRendered(): void {
    this.send({ type: 'rendered' });
  }

  private _membershipOff!: (() => void)[];
  protected _tickets!: KernelTickets;
  protected _link: RoomLink | null = null;
  /** Undoes the listeners the view added (room events, signals). */
  protected _off: (() => void)[] = [];
}

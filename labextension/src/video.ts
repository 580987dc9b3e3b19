/**
 * The `Video` widget: model and view.
 *
 * The view is a thin adapter around the video itself (`VideoSurface`, video-surface.ts:
 * capture, mesh or SFU, tiles, toggles, `rtc:media`), which the main-area video
 * (video-widget.ts) uses too. What is the notebook's here: the room comes from the widget's
 * model (`room_id`, `member_id`, `socket_path`), on the page's one classroom socket
 * (page/session.ts), attached to the kernel's membership with a one-time ticket the kernel
 * hands over the widget's comm (signaling never waits on a busy kernel); the kernel hears
 * `{type: 'rendered'}`; one view per model owns the camera.
 */
import { DOMWidgetModel, DOMWidgetView } from '@jupyter-widgets/base';

import { KernelTickets } from './kernel-ticket';
import { pageSession, RoomLink } from './page/session';
import { modelRoom, PageSocketModel } from './page/view-link';
import { VideoSurface } from './video-surface';

export type { Member, VideoMode } from './video-surface';

export class VideoModel extends PageSocketModel {
  static model_name = 'VideoModel';
  static view_name = 'VideoView';
}

/** Which view of a model owns the camera and the attached socket. */
const activeViews = new WeakMap<DOMWidgetModel, VideoView>();

export class VideoView extends DOMWidgetView {
  render(): void {
    this._surface = new VideoSurface(this.el, {
      released: link => {
        this._tickets?.cancelAll();
        link.release();
      }
    });
    // The kernel hears that this front-end loaded the view (else it says video cannot show here).
    this.send({ type: 'rendered' });

    if (activeViews.has(this.model) && activeViews.get(this.model) !== this) {
      this._surface.setStatus('secondary', 'Video is running in another view of this widget.');
      return;
    }
    activeViews.set(this.model, this);

    this._tickets = new KernelTickets(this);
    this._tickets.onSlow = () =>
      this._surface.setStatus('waiting-kernel', 'Waiting for the kernel to answer (is a cell running?)…');
    // The kernel usually sets the three traits together: restart once.
    this.listenTo(this.model, 'change:room_id change:member_id change:socket_path', () => {
      clearTimeout(this._restartTimer);
      this._restartTimer = setTimeout(() => !this._disposed && this._restart(), 0);
    });
    this._restart();
  }

  remove(): void {
    this._disposed = true;
    clearTimeout(this._restartTimer);
    this._tickets?.dispose();
    if (activeViews.get(this.model) === this) {
      activeViews.delete(this.model);
    }
    this._surface?.dispose();
    super.remove();
  }

  /** The video as this page runs it (for tests). */
  get surface(): VideoSurface {
    return this._surface;
  }

  /** (Re)starts from scratch for the model's current room. */
  private _restart(): void {
    this._surface.stop();
    const room = modelRoom(this.model);
    if (!room) {
      this._surface.setStatus('idle', 'Not in a room yet.');
      return;
    }
    // Joins the page's one classroom socket, attached to the kernel's member.
    const session = pageSession(room.socketPath);
    const link: RoomLink = session.link(room.roomId, room.memberId, () =>
      this._tickets.ask(() => !this._disposed && this._surface.link === link && session.socket.connected)
    );
    this._surface.connect(link);
  }

  private _surface!: VideoSurface;
  private _tickets!: KernelTickets;
  private _restartTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private _disposed = false;
}

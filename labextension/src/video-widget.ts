/**
 * The video as a JupyterLab widget, with no kernel: the same `VideoSurface` as the notebook's
 * video (video-surface.ts: camera and microphone, mesh or SFU, tiles, toggles), on a room
 * membership the page holds (the side panel's link: a room joined from the panel, or a
 * notebook's room the page adopted).
 *
 * It can be docked like any JupyterLab widget (the main area beside a notebook, a side area:
 * the `videoArea` setting). Closing it ends this view's camera and peer connections; the
 * membership stays with the page (the panel leaves the room).
 *
 * DOM hooks: `.jc-video-widget[data-room-id]` (also `.jc-video`, as the surface says), and the
 * node's `jcVideo` (the surface) for tests.
 */
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { RoomWidgets } from './page/room-widgets';
import type { RoomLink } from './page/session';
import { VideoSurface } from './video-surface';

const TITLE_PREFIX = 'Video — ';

/** A DOM id for a room's video widget (room ids are URL-safe tokens; anything else goes). */
export function videoWidgetId(roomId: string): string {
  return `jc-video-widget-${roomId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export class VideoWidget extends Widget {
  readonly surface: VideoSurface;
  private _off: (() => void)[] = [];

  constructor(readonly link: RoomLink) {
    super();
    this.id = videoWidgetId(link.roomId);
    this.addClass('jc-video-widget');
    this.node.dataset.roomId = link.roomId;
    this.title.closable = true;
    this.surface = new VideoSurface(this.node, {
      disconnectedMessage: 'Your connection to the room ended; join it again from the classroom panel.'
    });
    (this.node as unknown as { jcVideo: VideoSurface }).jcVideo = this.surface; // for tests
    this._showTitle();
    this._off.push(
      link.onAttached.connect(() => this._showTitle()),
      link.on('room:updated', () => this._showTitle()),
      link.state.changed.connect(() => this._showTitle())
    );
    this.surface.connect(link);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._off.forEach(off => off());
    this._off = [];
    this.surface.dispose(); // the camera goes off, peers hear bye; the link is the panel's
    super.dispose();
  }

  /** The tab says which room's video this is (and whether the membership ended). */
  private _showTitle(): void {
    const title = this.link.attached?.room.title ?? this.link.roomId;
    const ended = this.link.state.value === 'ended';
    this.title.label = `${TITLE_PREFIX}${title}${ended ? ' (left)' : ''}`;
    this.title.caption = ended
      ? `The video of “${title}”: ${this.link.message || 'no longer in this room'}`
      : `The video of “${title}”: your camera and microphone, and the others'`;
  }

  /** Closing the tab ends this view (camera, connections, listeners); the membership stays. */
  protected onCloseRequest(msg: Message): void {
    super.onCloseRequest(msg);
    this.dispose();
  }
}

/** The open video widgets, one per room (see RoomWidgets). */
export class VideoWidgets extends RoomWidgets<VideoWidget> {
  constructor(add: (widget: VideoWidget) => void, activate: (widget: VideoWidget) => void) {
    super(link => new VideoWidget(link), add, activate);
  }
}

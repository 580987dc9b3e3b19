// The video as a JupyterLab widget (VideoWidget) in jsdom, on a membership the page joined
// itself over the real page session, a fake socket and fake WebRTC (no kernel, no ticket): its
// title names the room, the camera goes out to the other member, a mute asked for before the
// browser gave the camera applies when it comes (the palette's toggle right after opening),
// one widget per room, and closing it ends the camera but not the membership.
import './setup-lumino';
import { media } from './setup-dom';

import { strict as assert } from 'node:assert';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { Widget } from '@lumino/widgets';

import { FakeStream, FakeTrack, waitFor } from './fake-rtc';
import { FakeSocket, sockets } from './stubs/socketio';
import { JoinedLink, pageSession, resetPageSessions } from '../src/page/session';
import { VideoSurface } from '../src/video-surface';
import { VideoWidget, VideoWidgets } from '../src/video-widget';

const ADA = { id: 'm-ada', name: 'Ada', color: '#ff0000', role: 'host' as const };
const BOB = { id: 'm-bob', name: 'Bob', color: '#00ff00', role: 'member' as const };
const room = (title = 'Linear algebra') => ({
  id: 'r1',
  title,
  host: { id: ADA.id, name: ADA.name },
  members: 2,
  locked: false,
  board_locked: false,
  created_at: '',
  max_members: 10
});

/** Bob's page, joined to r1 (with Ada) from the panel. */
async function joinedPage(): Promise<{ socket: FakeSocket; link: JoinedLink }> {
  const session = pageSession('/p');
  const socket = sockets[sockets.length - 1];
  socket.ack = event => {
    if (event === 'room:join') {
      return {
        ok: true,
        room: room(),
        you: BOB,
        members: [ADA, BOB],
        board: { seq: 0, ops: [], complete: true },
        chat: [],
        rtc: { ice_servers: [], max_publishers: 6 }
      };
    }
    return { ok: true };
  };
  socket.serverConnect();
  const link = (await session.join('r1')) as JoinedLink;
  return { socket, link };
}

/** The widgets as the plugin keeps them, placed in the page (the shell's stand-in). */
function shell(): { videos: VideoWidgets; added: VideoWidget[]; activated: string[] } {
  const added: VideoWidget[] = [];
  const activated: string[] = [];
  const videos = new VideoWidgets(
    widget => {
      added.push(widget);
      Widget.attach(widget, document.body);
    },
    widget => activated.push(widget.id)
  );
  return { videos, added, activated };
}

const statusOf = (widget: VideoWidget): string => widget.node.dataset.status ?? '';
const mediaSaid = (socket: FakeSocket) =>
  socket.emitted.filter(e => e.event === 'rtc:media').map(e => ({ audio: e.payload.audio, video: e.payload.video }));

let tracks: FakeTrack[] = [];
beforeEach(() => {
  media.calls.length = 0;
  tracks = [];
  media.getUserMedia = () => {
    const made = [new FakeTrack('audio'), new FakeTrack('video')];
    tracks.push(...made);
    return Promise.resolve(new FakeStream(made));
  };
});

afterEach(() => {
  for (const node of Array.from(document.body.children)) {
    node.remove();
  }
  resetPageSessions();
  sockets.length = 0;
});

describe('VideoWidget', () => {
  it("runs on the panel's membership: titled by the room, camera out to the other member", async () => {
    const { socket, link } = await joinedPage();
    const { videos, added, activated } = shell();
    const widget = videos.open(link);
    assert.equal(widget.title.label, 'Video — Linear algebra');
    assert.ok(widget.title.closable);
    assert.equal(widget.id, 'jc-video-widget-r1');
    assert.ok(widget.node.classList.contains('jc-video'));
    assert.equal((widget.node as unknown as { jcVideo: unknown }).jcVideo, widget.surface);
    assert.deepEqual(activated, [widget.id]);
    assert.equal(added.length, 1);
    await waitFor(() => statusOf(widget) === 'publishing', 'publishing');
    assert.equal(widget.node.dataset.attached, 'true');
    assert.equal(widget.node.dataset.videoMode, 'mesh');
    await waitFor(() => socket.signals().some(s => s.to === ADA.id && s.type === 'offer'), 'an offer to Ada');
    assert.equal(
      socket.emitted.filter(e => e.event === 'room:attach' || e.event === 'room:ticket').length,
      0,
      'no kernel, no ticket'
    );
    assert.ok(widget.node.querySelector(`.jc-video-tile[data-member-id="${ADA.id}"]`), "Ada's tile");

    socket.fire('room:updated', { room: room('Calculus') });
    assert.equal(widget.title.label, 'Video — Calculus');
  });

  it('applies a mute and a camera-off asked for before the browser gave the camera', async () => {
    const { socket, link } = await joinedPage();
    let give: () => void = () => undefined;
    media.getUserMedia = () =>
      new Promise(resolve => {
        give = () => {
          const made = [new FakeTrack('audio'), new FakeTrack('video')];
          tracks.push(...made);
          resolve(new FakeStream(made));
        };
      });
    const { videos } = shell();
    const widget = videos.open(link);
    await waitFor(() => statusOf(widget) === 'media', 'asking for the camera');
    widget.surface.toggleMute(); // the palette's command, right after opening the video
    await widget.surface.toggleCamera();
    assert.equal(widget.surface.microphoneMuted, false, 'nothing captured yet');
    give();
    await waitFor(() => statusOf(widget) === 'publishing', 'publishing');
    assert.equal(widget.surface.microphoneMuted, true);
    assert.equal(widget.surface.cameraOff, true);
    assert.deepEqual(
      tracks.map(t => t.enabled),
      [false, false]
    );
    await waitFor(() => mediaSaid(socket).length > 0, 'rtc:media');
    assert.deepEqual(mediaSaid(socket).at(-1), { audio: false, video: false });
    assert.equal(widget.node.querySelector('.jc-video-mute')!.textContent, 'Unmute');

    widget.surface.toggleMute(); // and back, as the command does once the camera is live
    assert.equal(widget.surface.microphoneMuted, false);
    await waitFor(() => mediaSaid(socket).at(-1)?.audio === true, 'unmuted said');
  });

  it('is one widget per room; closing it ends the camera and keeps the membership', async () => {
    const { socket, link } = await joinedPage();
    const { videos, added, activated } = shell();
    const first = videos.open(link);
    await waitFor(() => statusOf(first) === 'publishing', 'publishing');
    assert.equal(videos.open(link), first, 'opened again: the same widget');
    assert.equal(added.length, 1);
    assert.deepEqual(activated, [first.id, first.id]);
    assert.equal(media.calls.length, 1, 'one camera');

    first.close(); // the tab's close button
    assert.ok(first.isDisposed);
    assert.ok(
      tracks.every(t => t.readyState === 'ended'),
      'the camera and microphone are released'
    );
    assert.ok(socket.signals().some(s => s.type === 'bye' && s.to === ADA.id));
    assert.equal(link.state.value, 'attached', 'the page is still in the room');
    assert.equal(videos.get('r1'), undefined);
    const second = videos.open(link);
    assert.notEqual(second, first);
    assert.equal(added.length, 2);
  });

  it('runs one video per membership on a page: a second surface on the link waits aside', async () => {
    const { link } = await joinedPage();
    const { videos } = shell();
    const widget = videos.open(link);
    await waitFor(() => statusOf(widget) === 'publishing', 'publishing');
    const host = document.createElement('div'); // say, a notebook's Video cell of the same room
    document.body.append(host);
    const other = new VideoSurface(host);
    other.connect(link);
    assert.equal(host.dataset.status, 'secondary');
    assert.equal(media.calls.length, 1, 'one camera for the member');
    other.toggleMute(); // nothing to mute there
    assert.equal(widget.surface.microphoneMuted, false);
    other.dispose();
    widget.close();
    const again = new VideoSurface(host); // the link is free again
    again.connect(link);
    await waitFor(() => host.dataset.status === 'publishing', 'publishing on the freed link');
    again.dispose();
  });

  it('says when the membership ended, and a new membership of the room gets a fresh video', async () => {
    const { socket, link } = await joinedPage();
    const { videos } = shell();
    const widget = videos.open(link);
    await waitFor(() => statusOf(widget) === 'publishing', 'publishing');
    await link.session.leave();
    assert.equal(statusOf(widget), 'ended');
    assert.equal(widget.title.label, 'Video — Linear algebra (left)');
    assert.ok(tracks.every(t => t.readyState === 'ended'), 'the camera is off');
    const again = (await link.session.join('r1')) as JoinedLink;
    await waitFor(() => again.state.value === 'attached', 're-joined');
    const fresh = videos.open(again);
    assert.notEqual(fresh, widget);
    assert.ok(widget.isDisposed, 'the video of the ended membership is closed');
    await waitFor(() => statusOf(fresh) === 'publishing', 'publishing again');
    assert.equal(socket.emitted.filter(e => e.event === 'room:join').length, 2);
  });
});

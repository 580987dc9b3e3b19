// The DOM, fake WebRTC and module stubs must be in place before the view loads.
import { BrowserPeerConnection, media, peerConnections } from './setup-dom';

import { strict as assert } from 'node:assert';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { PageConfig } from './stubs/coreutils';
import { DOMWidgetModel } from './stubs/widgets-base';
import { FakeSocket, sockets } from './stubs/socketio';
import { FakePeerConnection, FakeStream, FakeTrack, waitFor } from './fake-rtc';
import { resetPageSessions } from '../src/page/session';
import { SfuVideo } from '../src/sfu';
import { DEFAULT_POLICY } from '../src/lecture';
import { VideoModel, VideoView } from '../src/video';
import { RemoteTiles } from '../src/video-tiles';

const ALICE = { id: 'm-alice', name: 'Alice', color: '#ff0000', role: 'host' };
const BOB = { id: 'm-bob', name: 'Bob', color: '#00ff00', role: 'member' };
const CAROL = { id: 'm-carol', name: 'Carol', color: '#0000ff', role: 'member' };

/**
 * Plays the room server and its Janus for the SFU events: answers a publish offer, offers
 * each publisher's media to a subscriber and takes the answer, as Janus would.
 */
class FakeJanus {
  publishers: string[] = [];
  /** Every request, in order: `event member_id?`. */
  readonly requests: string[] = [];
  /** The publish offers received (their SDPs). */
  readonly published: string[] = [];
  readonly answers = new Map<string, string>();
  /** Members whose subscription is refused with `not_found` (stopped meanwhile). */
  readonly gone = new Set<string>();

  async handle(event: string, payload: any): Promise<any> {
    this.requests.push(payload.member_id ? `${event} ${payload.member_id}` : event);
    switch (event) {
      case 'rtc:publishers':
        return { ok: true, publishers: [...this.publishers] };
      case 'rtc:publish': {
        this.published.push(payload.sdp);
        const pc = new FakePeerConnection('janus-publisher');
        await pc.setRemoteDescription({ type: 'offer', sdp: payload.sdp });
        await pc.setLocalDescription();
        return { ok: true, sdp: pc.localDescription!.sdp };
      }
      case 'rtc:subscribe': {
        if (this.gone.has(payload.member_id)) {
          return { ok: false, error: { code: 'not_found', message: 'that member publishes nothing' } };
        }
        const pc = new FakePeerConnection(`janus-${payload.member_id}`);
        pc.addTrack(new FakeTrack('audio', `${payload.member_id}-audio`));
        pc.addTrack(new FakeTrack('video', `${payload.member_id}-video`));
        await pc.setLocalDescription();
        return { ok: true, sdp: pc.localDescription!.sdp };
      }
      case 'rtc:subscribe_answer':
        this.answers.set(payload.member_id, payload.sdp);
        return { ok: true };
      default:
        return { ok: true };
    }
  }

  /** The same, as `SfuVideo`'s request function (a refusal rejects, as RoomLink.request does). */
  request = async (event: string, payload: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const ack = await this.handle(event, payload);
    if (!ack.ok) {
      throw Object.assign(new Error(ack.error.message), { code: ack.error.code });
    }
    return ack;
  };

  count(prefix: string): number {
    return this.requests.filter(r => r.startsWith(prefix)).length;
  }
}

function cameraStream(): FakeStream {
  return new FakeStream([new FakeTrack('audio'), new FakeTrack('video')]);
}

describe('SfuVideo', () => {
  function make(janus: FakeJanus, localId = BOB.id): { sfu: SfuVideo; pcs: FakePeerConnection[] } {
    const pcs: FakePeerConnection[] = [];
    const sfu = new SfuVideo({
      roomId: 'r1',
      localId,
      createPeerConnection: () => {
        const pc = new FakePeerConnection('browser');
        pcs.push(pc);
        return pc as unknown as RTCPeerConnection;
      },
      request: janus.request
    });
    return { sfu, pcs };
  }

  it('publishes the camera on one connection, with its candidates gathered', async () => {
    const janus = new FakeJanus();
    const { sfu, pcs } = make(janus);
    sfu.publish(cameraStream() as unknown as MediaStream);
    assert.equal(sfu.isPublishing, true);
    const pc = pcs[0];
    await waitFor(() => pc.log.includes('srd:answer'), "Janus's answer applied");
    assert.equal(pcs.length, 1);
    assert.deepEqual(pc.senders.map(s => s.track?.kind), ['audio', 'video']);
    assert.deepEqual(janus.requests, ['rtc:publish']);
    assert.equal(janus.published[0], pc.localDescription!.sdp);
    assert.equal(pc.signalingState, 'stable');
  });

  it('watches each publisher but itself, answers its offer and shows its tracks', async () => {
    const janus = new FakeJanus();
    const { sfu, pcs } = make(janus);
    const tracks: string[] = [];
    sfu.trackAdded.connect(ev => tracks.push(`${ev.remoteId}:${ev.track.kind}`));
    await sfu.handlePublishers({ room_id: 'r1', publishers: [ALICE.id, BOB.id, CAROL.id] });
    assert.deepEqual(sfu.watching.sort(), [ALICE.id, CAROL.id]);
    assert.equal(pcs.length, 2);
    assert.deepEqual(tracks.sort(), [
      `${ALICE.id}:audio`,
      `${ALICE.id}:video`,
      `${CAROL.id}:audio`,
      `${CAROL.id}:video`
    ]);
    for (const id of [ALICE.id, CAROL.id]) {
      const pc = sfu.subscription(id) as unknown as FakePeerConnection;
      assert.deepEqual(pc.log.slice(0, 2), ['srd:offer', 'sld:answer']);
      assert.equal(janus.answers.get(id), pc.localDescription!.sdp);
    }
    assert.equal(janus.count(`rtc:subscribe ${BOB.id}`), 0, 'never itself');

    // Carol stops: her connection closes, Alice's stays; an unchanged list changes nothing.
    const carol = sfu.subscription(CAROL.id) as unknown as FakePeerConnection;
    await sfu.handlePublishers({ room_id: 'r1', publishers: [ALICE.id] });
    assert.deepEqual(sfu.watching, [ALICE.id]);
    assert.equal(carol.signalingState, 'closed');
    await sfu.handlePublishers({ room_id: 'r1', publishers: [ALICE.id] });
    assert.equal(janus.count('rtc:subscribe '), 2);
    sfu.dispose();
  });

  it('asks who publishes when it starts', async () => {
    const janus = new FakeJanus();
    janus.publishers = [ALICE.id];
    const { sfu } = make(janus);
    await sfu.start();
    assert.deepEqual(janus.requests.slice(0, 2), ['rtc:publishers', `rtc:subscribe ${ALICE.id}`]);
    assert.deepEqual(sfu.watching, [ALICE.id]);
    sfu.dispose();
  });

  it('takes a publisher gone meanwhile (not_found) quietly', async () => {
    const janus = new FakeJanus();
    janus.gone.add(ALICE.id);
    const { sfu } = make(janus);
    const errors: string[] = [];
    sfu.errorOccurred.connect(ev => errors.push(ev.context));
    await sfu.handlePublishers({ publishers: [ALICE.id] });
    assert.deepEqual(sfu.watching, []);
    assert.deepEqual(errors, []);
    // it publishes again later: watched then
    janus.gone.clear();
    await sfu.handlePublishers({ publishers: [ALICE.id] });
    assert.deepEqual(sfu.watching, [ALICE.id]);
    sfu.dispose();
  });

  it('after a reset (Janus restarted) drops every subscription and publishes again', async () => {
    const janus = new FakeJanus();
    const { sfu, pcs } = make(janus);
    sfu.publish(cameraStream() as unknown as MediaStream);
    await sfu.handlePublishers({ publishers: [ALICE.id] });
    await waitFor(() => janus.count('rtc:publish') === 1 && pcs[0].log.includes('srd:answer'), 'published');
    const oldPublisher = pcs[0];
    const oldAlice = sfu.subscription(ALICE.id) as unknown as FakePeerConnection;
    await sfu.handlePublishers({ publishers: [], reset: true });
    assert.equal(oldPublisher.signalingState, 'closed');
    assert.equal(oldAlice.signalingState, 'closed');
    assert.deepEqual(sfu.watching, []);
    assert.equal(janus.count('rtc:publish'), 2);
    assert.notEqual(sfu.sending, oldPublisher as unknown as RTCPeerConnection);
    // the room announces again who publishes: watched again
    await sfu.handlePublishers({ publishers: [ALICE.id, BOB.id] });
    assert.deepEqual(sfu.watching, [ALICE.id]);
    sfu.dispose();
  });

  it('replaces the video without a new offer, and tears everything down on dispose', async () => {
    const janus = new FakeJanus();
    const { sfu, pcs } = make(janus);
    const tiles: string[] = [];
    sfu.peerAdded.connect(ev => tiles.push(`+${ev.remoteId}`));
    sfu.peerRemoved.connect(ev => tiles.push(`-${ev.remoteId}`));
    sfu.syncMembers([ALICE, BOB, CAROL]);
    assert.deepEqual(tiles, [`+${ALICE.id}`, `+${CAROL.id}`]);
    sfu.publish(cameraStream() as unknown as MediaStream);
    await waitFor(() => pcs[0].log.includes('srd:answer'), 'published');
    const screen = new FakeTrack('video');
    await sfu.setVideoTrack(screen as unknown as MediaStreamTrack);
    assert.equal(pcs[0].senders[1].track, screen);
    assert.equal(janus.count('rtc:publish'), 1);
    await sfu.handlePublishers({ publishers: [ALICE.id] });
    sfu.removeMember(ALICE.id);
    assert.deepEqual(sfu.watching, []);
    sfu.dispose();
    assert.equal(pcs[0].signalingState, 'closed');
    await waitFor(() => janus.count('rtc:unpublish') === 1, 'rtc:unpublish');
    assert.deepEqual(tiles, [`+${ALICE.id}`, `+${CAROL.id}`, `-${ALICE.id}`, `-${CAROL.id}`]);
  });
});

// --- the video view in an SFU room -------------------------------------------------------

interface Harness {
  view: VideoView;
  el: HTMLElement;
  socket: FakeSocket;
  janus: FakeJanus;
}

/** Renders a view as Bob in room r1 whose attach ack says `mode`; plays kernel, server, Janus. */
async function start(mode: 'mesh' | 'sfu' | undefined, members = [ALICE, BOB]): Promise<Harness> {
  const model = new (VideoModel as unknown as typeof DOMWidgetModel)({
    room_id: 'r1',
    member_id: BOB.id,
    socket_path: '/user/bob/classroom/socket.io'
  });
  let n = 0;
  const origSend = model.sent.push.bind(model.sent);
  model.sent.push = (...items: unknown[]) => {
    const r = origSend(...items);
    for (const item of items as { type: string; request_id?: string }[]) {
      if (item.type === 'ticket_request') {
        const reply = { type: 'ticket', ticket: `ticket-${++n}`, request_id: item.request_id };
        setTimeout(() => model.trigger('msg:custom', reply), 1);
      }
    }
    return r;
  };
  const view = new (VideoView as any)({ model }) as VideoView;
  document.body.append(view.el);
  view.render();
  const socket = sockets[sockets.length - 1];
  const janus = new FakeJanus();
  socket.ack = (event, payload) => {
    if (event === 'room:ticket') {
      return { ok: true, ticket: 'spare', ttl: 60 };
    }
    if (event === 'room:attach') {
      return {
        ok: true,
        room: { id: 'r1', title: 'Lecture' },
        you: BOB,
        members,
        rtc: { ice_servers: [], max_publishers: 2 },
        ...(mode === undefined ? {} : { video: { mode } })
      };
    }
    if (event.startsWith('rtc:') && event !== 'rtc:signal' && event !== 'rtc:media') {
      return janus.handle(event, payload);
    }
    return { ok: true };
  };
  socket.serverConnect();
  return { view, el: view.el, socket, janus };
}

describe('VideoView through the SFU', () => {
  const views: VideoView[] = [];
  beforeEach(() => {
    PageConfig.setToken('');
    PageConfig.setBaseUrl('/user/bob/');
    PageConfig.setOption('classroomSocketPath', '');
    PageConfig.setOption('classroomToken', '');
    media.calls.length = 0;
    media.getUserMedia = () => Promise.resolve(cameraStream());
  });
  afterEach(() => {
    for (const v of views.splice(0)) {
      v.remove();
    }
    resetPageSessions();
  });

  it('in an sfu room publishes once and watches the publishers, with no mesh signaling', async () => {
    // three members with max_publishers 2: the mesh would make Bob watch only; the SFU does not
    const h = await start('sfu', [ALICE, BOB, CAROL]);
    views.push(h.view);
    await waitFor(() => h.el.dataset.status === 'publishing', 'publishing');
    assert.equal(h.el.dataset.videoMode, 'sfu');
    await waitFor(() => h.janus.count('rtc:publish') === 1, 'rtc:publish');
    assert.equal(h.janus.requests[0], 'rtc:publishers');
    const tiles = Array.from(h.el.querySelectorAll<HTMLElement>('.jc-video-tile'));
    assert.deepEqual(tiles.map(t => t.dataset.memberId).sort(), [ALICE.id, CAROL.id]);
    // Alice's media reaches Janus: the room says so, Bob watches her
    h.socket.fire('rtc:publishers', { room_id: 'r1', publishers: [ALICE.id], reset: false });
    const alice = `.jc-video-tile[data-member-id="${ALICE.id}"]`;
    await waitFor(() => h.el.querySelector<HTMLElement>(alice)?.dataset.hasVideo === 'true', "Alice's video");
    await waitFor(() => h.janus.answers.has(ALICE.id), 'the answer to her offer');
    assert.deepEqual(h.janus.requests.filter(r => r.startsWith('rtc:subscribe')), [
      `rtc:subscribe ${ALICE.id}`,
      `rtc:subscribe_answer ${ALICE.id}`
    ]);
    assert.deepEqual(h.socket.signals(), [], 'no rtc:signal in an SFU room');
    // another room's announcement is not ours
    h.socket.fire('rtc:publishers', { room_id: 'r2', publishers: [CAROL.id] });
    // Alice leaves: her tile and subscription go
    const sub = peerConnections.find(pc => pc.log.includes('srd:offer'))!;
    h.socket.fire('room:member_left', { room_id: 'r1', member_id: ALICE.id, reason: 'left' });
    assert.equal(h.el.querySelector(alice), null);
    assert.equal(sub.signalingState, 'closed');
    assert.equal(h.janus.count(`rtc:subscribe ${CAROL.id}`), 0);
  });

  it('switches from the mesh to the SFU on rtc:mode, keeping the camera', async () => {
    const h = await start('mesh');
    views.push(h.view);
    await waitFor(() => h.el.dataset.status === 'publishing', 'publishing');
    assert.equal(h.el.dataset.videoMode, 'mesh');
    await waitFor(() => h.socket.signals().some(s => s.type === 'offer'), 'mesh offer');
    const meshPc = peerConnections[peerConnections.length - 1] as BrowserPeerConnection;
    h.socket.fire('rtc:mode', { room_id: 'r1', mode: 'sfu' });
    assert.equal(h.el.dataset.videoMode, 'sfu');
    assert.equal(meshPc.signalingState, 'closed');
    const byes = h.socket.signals().filter(s => s.type === 'bye' && s.to === ALICE.id);
    assert.equal(byes.length, 2, 'one bye at attach (stale connections), one when the mesh ends');
    await waitFor(() => h.janus.count('rtc:publish') === 1, 'rtc:publish');
    assert.equal(media.calls.length, 1, 'the camera is not asked for again');
    assert.ok(h.el.querySelector(`.jc-video-tile[data-member-id="${ALICE.id}"]`), "Alice's tile is back");
    assert.equal(h.el.dataset.publishing, 'true');
    // a second rtc:mode changes nothing
    h.socket.fire('rtc:mode', { room_id: 'r1', mode: 'sfu' });
    await waitFor(() => h.janus.count('rtc:publishers') === 1, 'asked once who publishes');
    assert.equal(h.janus.count('rtc:publish'), 1);
  });

  it('a switch while the camera is being asked for publishes that camera once', async () => {
    let grant: (stream: FakeStream) => void = () => undefined;
    media.getUserMedia = () => new Promise(resolve => (grant = resolve));
    const h = await start('mesh');
    views.push(h.view);
    await waitFor(() => media.calls.length === 1, 'camera asked');
    h.socket.fire('rtc:mode', { room_id: 'r1', mode: 'sfu' });
    assert.equal(h.el.dataset.videoMode, 'sfu');
    grant(cameraStream());
    await waitFor(() => h.janus.count('rtc:publish') === 1, 'rtc:publish');
    await waitFor(() => h.el.dataset.publishing === 'true', 'publishing');
    assert.equal(media.calls.length, 1);
    assert.equal(h.janus.count('rtc:publish'), 1);
  });

  it('stays a mesh without a mode in the ack (an older or mesh-only server)', async () => {
    const h = await start(undefined);
    views.push(h.view);
    await waitFor(() => h.socket.signals().some(s => s.type === 'offer'), 'mesh offer');
    assert.equal(h.el.dataset.videoMode, 'mesh');
    assert.deepEqual(h.janus.requests, []);
  });

  it('publishes again after the SFU restarted (rtc:publishers reset)', async () => {
    const h = await start('sfu');
    views.push(h.view);
    await waitFor(() => h.janus.count('rtc:publish') === 1, 'rtc:publish');
    h.socket.fire('rtc:publishers', { room_id: 'r1', publishers: [], reset: true });
    await waitFor(() => h.janus.count('rtc:publish') === 2, 'published again');
  });
});

describe('RemoteTiles', () => {
  it('marks a tile whose video comes weak, and unmarks it when it is well again', () => {
    const grid = document.createElement('div');
    const tiles = new RemoteTiles(grid, () => ({ hostId: ALICE.id, policy: DEFAULT_POLICY }), () => undefined);
    tiles.add(ALICE.id, 'Alice');
    const tile = grid.querySelector(`.jc-video-tile[data-member-id="${ALICE.id}"]`) as HTMLElement;
    const mark = tile.querySelector('.jc-video-weak') as HTMLElement;
    assert.equal(mark.hidden, true, 'no mark at first');
    tiles.setReception(ALICE.id, true);
    assert.equal(tile.dataset.reception, 'weak');
    assert.equal(mark.hidden, false);
    assert.match(mark.title, /Alice's video reaches you badly/);
    tiles.setReception(ALICE.id, false);
    assert.equal(tile.dataset.reception, 'good');
    assert.equal(mark.hidden, true);
    tiles.setReception('m-nobody', true); // a member without a tile: nothing to mark
  });
});

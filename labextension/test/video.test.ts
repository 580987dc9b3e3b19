// The DOM, fake WebRTC and module stubs must be in place before the view loads.
import { BrowserPeerConnection, domError, media, peerConnections } from './setup-dom';

import { strict as assert } from 'node:assert';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { PageConfig } from './stubs/coreutils';
import { DOMWidgetModel } from './stubs/widgets-base';
import { FakeSocket, sockets } from './stubs/socketio';
import { FakePeerConnection, FakeStream, FakeTrack, sleep, waitFor } from './fake-rtc';
import { resetPageSessions } from '../src/page/session';
import { VideoModel, VideoView } from '../src/video';

const ALICE = { id: 'm-alice', name: 'Alice', color: '#ff0000', role: 'host' };
const BOB = { id: 'm-bob', name: 'Bob', color: '#00ff00', role: 'member' };
const CAROL = { id: 'm-carol', name: 'Carol', color: '#0000ff', role: 'member' };

interface Harness {
  model: DOMWidgetModel;
  view: VideoView;
  el: HTMLElement;
  socket: FakeSocket;
}

/** Renders a view as the member `you` of room r1 and plays kernel and server. */
async function start(options: {
  you?: typeof BOB;
  members?: (typeof BOB)[];
  rtc?: unknown;
  attach?: (payload: any) => unknown;
}): Promise<Harness> {
  const you = options.you ?? BOB;
  const model = new (VideoModel as unknown as typeof DOMWidgetModel)({
    room_id: 'r1',
    member_id: you.id,
    socket_path: '/user/bob/classroom/socket.io'
  });
  // The kernel: answer ticket requests, echoing request_id.
  let n = 0;
  const origSend = model.sent.push.bind(model.sent);
  model.sent.push = (...items: unknown[]) => {
    const r = origSend(...items);
    for (const item of items as { type: string; request_id?: string }[]) {
      if (item.type === 'ticket_request') {
        setTimeout(
          () =>
            model.trigger('msg:custom', {
              type: 'ticket',
              ticket: `ticket-${++n}`,
              request_id: item.request_id
            }),
          1
        );
      }
    }
    return r;
  };
  const view = new (VideoView as any)({ model }) as VideoView;
  document.body.append(view.el);
  view.render();
  const socket = sockets[sockets.length - 1];
  let spares = 0;
  socket.ack = (event, payload) => {
    if (event === 'room:ticket') {
      return { ok: true, ticket: `spare-${++spares}`, ttl: 60 };
    }
    if (event === 'room:attach') {
      if (options.attach) {
        return options.attach(payload);
      }
      return {
        ok: true,
        room: { id: 'r1', title: 'Linear algebra' },
        you,
        members: options.members ?? [ALICE, you],
        ...(options.rtc === undefined ? {} : { rtc: options.rtc })
      };
    }
    return { ok: true };
  };
  socket.serverConnect();
  return { model, view, el: view.el, socket };
}

function q(el: HTMLElement, selector: string): HTMLElement | null {
  return el.querySelector(selector);
}

function status(el: HTMLElement): { code: string; text: string } {
  const s = q(el, '.jc-video-status')!;
  return { code: s.dataset.code ?? '', text: s.textContent ?? '' };
}

function cameraStream(): FakeStream {
  return new FakeStream([new FakeTrack('audio'), new FakeTrack('video')]);
}

/** An offer as a remote browser would send it. */
async function remoteOffer(): Promise<string> {
  const pc = new FakePeerConnection('remote');
  pc.addTrack(new FakeTrack('video'));
  await pc.setLocalDescription();
  return pc.localDescription!.sdp;
}

/** The socket's auth without the tab's client id (a random `page-...` string, checked here). */
function withoutClientId(auth: Record<string, unknown>): Record<string, unknown> {
  const { client_id: clientId, ...rest } = auth;
  assert.match(String(clientId), /^page-/);
  return rest;
}

describe('VideoView', () => {
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
    resetPageSessions(); // a new page: its own classroom socket
  });

  it('renders the stable DOM hooks', async () => {
    const h = await start({});
    views.push(h.view);
    assert.ok(h.el.classList.contains('jc-video'));
    for (const cls of ['jc-video-mute', 'jc-video-camera', 'jc-video-share']) {
      assert.equal(q(h.el, `button.${cls}`)?.tagName, 'BUTTON', cls);
    }
    assert.ok(q(h.el, '.jc-video-local video'));
    assert.ok(q(h.el, '.jc-video-status'));
  });

  it("connects the page's socket with the path and token, attaches with the kernel ticket", async () => {
    PageConfig.setToken('secret');
    const h = await start({});
    views.push(h.view);
    assert.equal(h.socket.url, 'http://127.0.0.1:8888');
    assert.equal(h.socket.opts.path, '/user/bob/classroom/socket.io');
    assert.deepEqual(h.socket.opts.transports, ['websocket']);
    // the token goes in the auth payload, never in the URL
    assert.deepEqual(withoutClientId(h.socket.opts.auth), { batch: true, token: 'secret' });
    assert.equal(h.socket.opts.query, undefined);
    await waitFor(() => h.el.dataset.attached === 'true', 'attached');
    const sent = h.model.sent as { type: string; request_id?: string }[];
    assert.equal(sent[0].type, 'rendered', 'the view tells the kernel it loaded');
    const requests = sent.filter(m => m.type !== 'rendered');
    assert.equal(requests[0].type, 'ticket_request');
    assert.ok(requests[0].request_id);
    // the page session attaches the whole membership (board, chat, video on one socket)
    assert.deepEqual(h.socket.emitted[0], {
      event: 'room:attach',
      payload: { ticket: 'ticket-1', board: true }
    });
  });

  it('omits the token when there is none', async () => {
    const h = await start({});
    views.push(h.view);
    assert.equal(h.socket.opts.query, undefined);
    assert.deepEqual(withoutClientId(h.socket.opts.auth), { batch: true });
  });

  it('on a hub, sends the classroom token to the service, not the page token', async () => {
    PageConfig.setToken('enters-bobs-server');
    PageConfig.setOption('classroomSocketPath', '/user/bob/classroom/socket.io');
    PageConfig.setOption('classroomToken', 'classroom-only');
    const h = await start({});
    views.push(h.view);
    assert.deepEqual(withoutClientId(h.socket.opts.auth), { batch: true, token: 'classroom-only' });
  });

  it("sends no token to a server that is not the page's classroom", async () => {
    PageConfig.setToken('secret');
    PageConfig.setOption('classroomSocketPath', '/services/classroom/classroom/socket.io');
    const h = await start({}); // the kernel's socket_path: /user/bob/classroom/socket.io
    views.push(h.view);
    assert.deepEqual(withoutClientId(h.socket.opts.auth), { batch: true });
  });

  it("shows the server's refusal as a sentence", async () => {
    const h = await start({});
    views.push(h.view);
    const err = Object.assign(new Error('the hub does not know your classroom token'), {
      data: { code: 'unauthorized', message: 'the hub does not know your classroom token' }
    });
    h.socket.fire('connect_error', err);
    const status = q(h.el, '.jc-video-status')!.textContent!;
    assert.equal(
      status,
      'The classroom server did not let this page in: the hub does not know your classroom token'
    );
    h.socket.fire('connect_error', new Error('websocket error'));
    assert.match(q(h.el, '.jc-video-status')!.textContent!, /^Cannot reach the classroom server \(websocket error\)/);
  });

  it('shows a tile per remote member, publishes and offers to them', async () => {
    const h = await start({ members: [ALICE, BOB, CAROL] });
    views.push(h.view);
    await waitFor(() => status(h.el).code === 'publishing', 'publishing');
    assert.equal(q(h.el, '.jc-video-local')!.dataset.memberId, BOB.id);
    const tiles = Array.from(h.el.querySelectorAll<HTMLElement>('.jc-video-tile'));
    assert.deepEqual(tiles.map(t => t.dataset.memberId).sort(), [ALICE.id, CAROL.id]);
    const alice = q(h.el, `.jc-video-tile[data-member-id="${ALICE.id}"]`)!;
    assert.ok(alice.querySelector('video'));
    assert.equal(alice.querySelector('.jc-video-name')!.textContent, 'Alice');
    assert.equal(h.el.dataset.publishing, 'true');
    assert.equal(media.calls.length, 1);
    await waitFor(() => h.socket.signals().filter(s => s.type === 'offer').length === 2, 'offers');
    const signals = h.socket.emitted.filter(e => e.event === 'rtc:signal');
    // A new session first tells each member to drop any stale connection to it, then offers.
    for (const member of [ALICE, CAROL]) {
      const toMember = signals.filter(e => e.payload.to === member.id).map(e => e.payload.data.type);
      assert.equal(toMember[0], 'bye');
      assert.ok(toMember.indexOf('offer') > 0);
    }
    const offer = signals.find(e => e.payload.data.type === 'offer')!;
    assert.equal(offer.payload.room_id, 'r1');
    assert.ok(typeof offer.payload.data.sdp === 'string');
  });

  it('defaults rtc settings when the ack has none, and uses ICE servers when given', async () => {
    const before = peerConnections.length;
    const ice = [{ urls: 'stun:stun.example.org:3478' }];
    const h = await start({ rtc: { ice_servers: ice, max_publishers: 6 } });
    views.push(h.view);
    await waitFor(() => peerConnections.length > before, 'peer connection');
    assert.deepEqual((peerConnections[peerConnections.length - 1] as BrowserPeerConnection).config, {
      iceServers: ice
    });
  });

  it('joins receive-only with a clear message when the camera is denied', async () => {
    media.getUserMedia = () => Promise.reject(domError('NotAllowedError', 'Permission denied'));
    const h = await start({});
    views.push(h.view);
    await waitFor(() => status(h.el).code === 'denied', 'denied status');
    assert.match(status(h.el).text, /denied/i);
    assert.match(status(h.el).text, /receive-only/);
    assert.equal(h.el.dataset.publishing, 'false');
    assert.equal((q(h.el, '.jc-video-mute') as HTMLButtonElement).disabled, true);
    assert.equal((q(h.el, '.jc-video-share') as HTMLButtonElement).disabled, true);
    // Still sees the others: the tile is there and an offer is answered.
    assert.ok(q(h.el, `.jc-video-tile[data-member-id="${ALICE.id}"]`));
    h.socket.fire('rtc:signal', {
      room_id: 'r1',
      from: ALICE.id,
      data: { type: 'offer', sdp: await remoteOffer() }
    });
    await waitFor(() => h.socket.signals().some(s => s.type === 'answer' && s.to === ALICE.id), 'answer');
    await waitFor(
      () => q(h.el, `.jc-video-tile[data-member-id="${ALICE.id}"]`)!.dataset.hasVideo === 'true',
      'remote video shown'
    );
  });

  it('tells when no camera or microphone exists', async () => {
    media.getUserMedia = () => Promise.reject(domError('NotFoundError', 'Requested device not found'));
    const h = await start({});
    views.push(h.view);
    await waitFor(() => status(h.el).code === 'no-device', 'no-device status');
    assert.match(status(h.el).text, /No camera or microphone/);
    assert.equal(media.calls.length, 3, 'retried audio-only and video-only');
  });

  it('does not publish beyond max_publishers', async () => {
    const h = await start({
      members: [ALICE, CAROL, BOB],
      rtc: { ice_servers: [], max_publishers: 2 }
    });
    views.push(h.view);
    await waitFor(() => status(h.el).code === 'over-capacity', 'over-capacity');
    assert.match(status(h.el).text, /limited to 2 publishers/);
    assert.equal(media.calls.length, 0, 'camera not even requested');
    assert.equal(h.el.dataset.publishing, 'false');
    assert.equal(h.el.querySelectorAll('.jc-video-tile').length, 2);
  });

  it('mutes, turns the camera off and shares the screen', async () => {
    const stream = cameraStream();
    media.getUserMedia = () => Promise.resolve(stream);
    const screen = new FakeTrack('video');
    media.getDisplayMedia = () => Promise.resolve(new FakeStream([screen]));
    const h = await start({});
    views.push(h.view);
    await waitFor(() => status(h.el).code === 'publishing', 'publishing');
    const [audio] = stream.getAudioTracks();
    const [camera] = stream.getVideoTracks();
    const mute = q(h.el, '.jc-video-mute') as HTMLButtonElement;
    mute.click();
    assert.equal(audio.enabled, false);
    assert.equal(mute.textContent, 'Unmute');
    mute.click();
    assert.equal(audio.enabled, true);
    const cam = q(h.el, '.jc-video-camera') as HTMLButtonElement;
    cam.click();
    await sleep(1);
    assert.equal(camera.enabled, false);
    assert.equal(cam.textContent, 'Camera on');

    await waitFor(() => peerConnections.some(pc => pc.senders.some(s => s.track === camera)), 'sending camera');
    const pc = peerConnections.find(p => p.senders.some(s => s.track === camera))!;
    (q(h.el, '.jc-video-share') as HTMLButtonElement).click();
    await waitFor(() => pc.senders.some(s => s.track === screen), 'screen replaces camera');
    assert.equal(h.el.dataset.sharing, 'true');
    screen.endByUser();
    await waitFor(() => pc.senders.some(s => s.track === camera), 'back to the camera');
    assert.equal(h.el.dataset.sharing, 'false');
  });

  it('tells the room when it mutes, and shows what the others said', async () => {
    const stream = cameraStream();
    media.getUserMedia = () => Promise.resolve(stream);
    const h = await start({});
    views.push(h.view);
    await waitFor(() => status(h.el).code === 'publishing', 'publishing');
    const states = () => h.socket.emitted.filter(e => e.event === 'rtc:media').map(e => e.payload);
    // alice's tile was added: she is told our state directly; the room hears it go live
    await waitFor(() => states().some(p => p.to === ALICE.id), 'state sent to alice');
    const roomWide = () => states().filter(p => p.to === undefined);
    await waitFor(() => roomWide().length > 0, 'state sent to the room');
    assert.deepEqual(roomWide().at(-1), { room_id: 'r1', audio: true, video: true });
    const before = states().length;
    (q(h.el, '.jc-video-mute') as HTMLButtonElement).click();
    assert.deepEqual(states().slice(before), [{ room_id: 'r1', audio: false, video: true }]);
    (q(h.el, '.jc-video-camera') as HTMLButtonElement).click();
    await sleep(1);
    assert.deepEqual(states().at(-1), { room_id: 'r1', audio: false, video: false });

    // alice mutes her microphone and turns her camera off: her tile says so
    const tile = () => h.el.querySelector(`.jc-video-tile[data-member-id="${ALICE.id}"]`) as HTMLElement;
    h.socket.fire('rtc:media', { room_id: 'r1', from: ALICE.id, audio: false, video: false });
    assert.equal(tile().dataset.audio, 'off');
    assert.equal(tile().dataset.video, 'off');
    h.socket.fire('rtc:media', { room_id: 'r1', from: ALICE.id, audio: true, video: true });
    assert.equal(tile().dataset.audio, 'on');
    // another room's state is ignored
    h.socket.fire('rtc:media', { room_id: 'r2', from: ALICE.id, audio: false, video: true });
    assert.equal(tile().dataset.audio, 'on');
  });

  it("obeys the host's lecture controls: watch only, lecture layout, mute all", async () => {
    const stream = cameraStream();
    media.getUserMedia = () => Promise.resolve(stream);
    const policy = { students_publish: false, lecture: true };
    const h = await start({
      members: [ALICE, BOB, CAROL],
      attach: () => ({
        ok: true,
        room: { id: 'r1', title: 'Lecture', host: { id: ALICE.id, name: 'Alice' } },
        you: BOB,
        members: [ALICE, BOB, CAROL],
        video_policy: policy
      })
    });
    views.push(h.view);
    await waitFor(() => status(h.el).code === 'not-allowed', 'watching only');
    assert.equal(media.calls.length, 0, 'camera not even requested');
    assert.equal(h.el.dataset.mayPublish, 'false');
    for (const cls of ['.jc-video-mute', '.jc-video-camera', '.jc-video-share']) {
      const btn = q(h.el, cls) as HTMLButtonElement;
      assert.equal(btn.disabled, true, cls);
      assert.match(btn.title, /host does not let students/);
    }
    assert.equal((q(h.el, '.jc-video-host-controls') as HTMLElement).hidden, true, 'a student has no controls');
    // the lecture layout: the host's tile large, the others (and we) in the strip
    assert.equal(h.el.dataset.layout, 'lecture');
    const role = (id: string) => (q(h.el, `.jc-video-tile[data-member-id="${id}"]`) as HTMLElement).dataset.lectureRole;
    await waitFor(() => !!q(h.el, `.jc-video-tile[data-member-id="${ALICE.id}"]`), 'tiles');
    assert.equal(role(ALICE.id), 'main');
    assert.equal(role(CAROL.id), 'strip');
    assert.equal(q(h.el, '.jc-video-local')!.dataset.lectureRole, 'strip');
    // the students send nothing: their tiles (ours too) are gone, the host's shows
    const hidden = (id: string) => (q(h.el, `.jc-video-tile[data-member-id="${id}"]`) as HTMLElement).hidden;
    assert.equal(hidden(ALICE.id), false);
    assert.equal(hidden(CAROL.id), true);
    assert.equal((q(h.el, '.jc-video-local') as HTMLElement).hidden, true);
    // the offers we make while watching only send nothing
    await waitFor(() => h.socket.signals().some(s => s.type === 'offer'), 'offers');

    // allowed again: Start camera publishes
    h.socket.fire('rtc:policy', { room_id: 'r1', students_publish: true, lecture: false });
    assert.equal(h.el.dataset.layout, 'grid');
    assert.equal(hidden(CAROL.id), false);
    const camera = q(h.el, '.jc-video-camera') as HTMLButtonElement;
    assert.equal(camera.disabled, false);
    assert.equal(camera.title, '');
    camera.click();
    await waitFor(() => status(h.el).code === 'publishing', 'publishing');
    // mute all: our microphone goes off, the room hears it; we may turn it on again
    const [audio] = stream.getAudioTracks();
    h.socket.fire('rtc:mute_all', { room_id: 'r1', by: ALICE.id });
    assert.equal(audio.enabled, false);
    const states = h.socket.emitted.filter(e => e.event === 'rtc:media' && e.payload.to === undefined);
    assert.deepEqual(states.at(-1)!.payload, { room_id: 'r1', audio: false, video: true });
    (q(h.el, '.jc-video-mute') as HTMLButtonElement).click();
    assert.equal(audio.enabled, true);
    // not allowed again: the camera stops, the buttons are disabled
    h.socket.fire('rtc:policy', { room_id: 'r1', students_publish: false, lecture: false });
    await waitFor(() => status(h.el).code === 'not-allowed', 'watching only again');
    assert.equal(audio.readyState, 'ended');
    assert.equal(h.el.dataset.publishing, 'false');
    assert.equal((q(h.el, '.jc-video-camera') as HTMLButtonElement).disabled, true);
  });

  it("gives the host the lecture controls, which send rtc:policy and rtc:mute_all", async () => {
    const h = await start({
      you: ALICE,
      attach: () => ({
        ok: true,
        room: { id: 'r1', title: 'Lecture', host: { id: ALICE.id, name: 'Alice' } },
        you: ALICE,
        members: [ALICE, BOB],
        video_policy: { students_publish: true, lecture: false }
      })
    });
    views.push(h.view);
    await waitFor(() => status(h.el).code === 'publishing', 'publishing');
    const plain = h.socket.ack;
    h.socket.ack = (event, payload) =>
      event === 'rtc:policy' ? { ok: true, students_publish: true, lecture: true } : plain(event, payload);
    assert.equal((q(h.el, '.jc-video-host-controls') as HTMLElement).hidden, false);
    (q(h.el, '.jc-video-lecture') as HTMLButtonElement).click();
    await waitFor(() => h.el.dataset.layout === 'lecture', 'lecture layout');
    assert.deepEqual(h.socket.emitted.filter(e => e.event === 'rtc:policy').map(e => e.payload), [
      { room_id: 'r1', lecture: true }
    ]);
    assert.equal(q(h.el, '.jc-video-local')!.dataset.lectureRole, 'main');
    assert.equal((q(h.el, '.jc-video-lecture') as HTMLElement).getAttribute('aria-pressed'), 'true');
    (q(h.el, '.jc-video-mute-all') as HTMLButtonElement).click();
    await waitFor(() => h.socket.emitted.some(e => e.event === 'rtc:mute_all'), 'mute all sent');
    (q(h.el, '.jc-video-students-publish') as HTMLButtonElement).click();
    await waitFor(() => h.socket.emitted.filter(e => e.event === 'rtc:policy').length === 2, 'policy sent');
    assert.deepEqual(h.socket.emitted.filter(e => e.event === 'rtc:policy').at(-1)!.payload, {
      room_id: 'r1',
      students_publish: false
    });
  });

  it('follows joins and leaves, and ends on room:closed', async () => {
    const h = await start({});
    views.push(h.view);
    await waitFor(() => h.el.dataset.attached === 'true', 'attached');
    h.socket.fire('room:member_joined', { room_id: 'r1', member: CAROL });
    assert.ok(q(h.el, `.jc-video-tile[data-member-id="${CAROL.id}"]`));
    h.socket.fire('room:member_joined', { room_id: 'other-room', member: { id: 'x', name: 'X' } });
    assert.equal(q(h.el, '.jc-video-tile[data-member-id="x"]'), null);
    h.socket.fire('room:member_left', { room_id: 'r1', member_id: CAROL.id, reason: 'left' });
    assert.equal(q(h.el, `.jc-video-tile[data-member-id="${CAROL.id}"]`), null);
    assert.ok(h.socket.signals().some(s => s.type === 'bye' && s.to === CAROL.id));
    h.socket.fire('room:closed', { room_id: 'r1', reason: 'closed by host' });
    assert.equal(h.el.querySelectorAll('.jc-video-tile').length, 0);
    assert.equal(status(h.el).code, 'ended');
    assert.match(status(h.el).text, /closed/);
    assert.equal(h.socket.disconnectCalls, 0, "the page's socket stays for the page's other views");
  });

  it('removes the tile of a member whose view says bye', async () => {
    const h = await start({});
    views.push(h.view);
    await waitFor(() => q(h.el, `.jc-video-tile[data-member-id="${ALICE.id}"]`) !== null, 'tile');
    h.socket.fire('rtc:signal', { room_id: 'r1', from: ALICE.id, data: { type: 'bye' } });
    await waitFor(() => q(h.el, `.jc-video-tile[data-member-id="${ALICE.id}"]`) === null, 'tile gone');
  });

  it("re-attaches after a reconnect with the page socket's spare ticket, not the kernel", async () => {
    const h = await start({});
    views.push(h.view);
    await waitFor(() => status(h.el).code === 'publishing', 'publishing');
    await waitFor(() => h.socket.emitted.some(e => e.event === 'room:ticket'), 'spare ticket');
    h.socket.serverDisconnect();
    assert.equal(status(h.el).code, 'reconnecting');
    assert.equal(h.el.dataset.attached, 'false');
    h.socket.serverConnect();
    await waitFor(
      () => h.socket.emitted.filter(e => e.event === 'room:attach').length === 2,
      'second attach'
    );
    const attaches = h.socket.emitted.filter(e => e.event === 'room:attach');
    assert.equal(attaches[0].payload.ticket, 'ticket-1');
    assert.equal(attaches[1].payload.ticket, 'spare-1');
    const asked = (h.model.sent as { type: string }[]).filter(m => m.type === 'ticket_request');
    assert.equal(asked.length, 1, 'the kernel was asked once');
    await waitFor(() => status(h.el).code === 'publishing', 'status restored');
    assert.equal(h.el.dataset.attached, 'true');
    assert.equal(h.el.querySelectorAll('.jc-video-tile').length, 1, 'no duplicate tiles');
  });

  it('reports a failed attach', async () => {
    const h = await start({
      attach: () => ({ ok: false, error: { code: 'not_member', message: 'the ticket\'s member left this room' } })
    });
    views.push(h.view);
    await waitFor(() => status(h.el).code === 'error', 'error status');
    assert.match(status(h.el).text, /member left/);
  });

  it('reports a ticket error from the kernel', async () => {
    const model = new (VideoModel as unknown as typeof DOMWidgetModel)({
      room_id: 'r1',
      member_id: BOB.id,
      socket_path: '/classroom/socket.io'
    });
    const origPush = model.sent.push.bind(model.sent);
    model.sent.push = (...items: unknown[]) => {
      setTimeout(() => model.trigger('msg:custom', { type: 'ticket_error', message: 'not in a room' }), 1);
      return origPush(...items);
    };
    const view = new (VideoView as any)({ model }) as VideoView;
    views.push(view);
    view.render();
    sockets[sockets.length - 1].serverConnect();
    await waitFor(() => status(view.el).code === 'error', 'error');
    assert.match(status(view.el).text, /not in a room/);
  });

  it('waits for a room, and tears everything down on remove', async () => {
    const model = new (VideoModel as unknown as typeof DOMWidgetModel)({});
    const view = new (VideoView as any)({ model }) as VideoView;
    view.render();
    assert.equal(status(view.el).code, 'idle');
    const count = sockets.length;
    view.remove();
    assert.equal(sockets.length, count, 'no socket without a room');
    assert.equal(model.listenerCount('msg:custom'), 0);

    const h = await start({});
    await waitFor(() => status(h.el).code === 'publishing', 'publishing');
    h.view.remove();
    assert.equal(h.socket.disconnectCalls, 0, "the page's socket stays for the page's other views");
    assert.ok(h.socket.signals().some(s => s.type === 'bye' && s.to === ALICE.id));
    assert.equal(h.model.listenerCount('msg:custom'), 0);
  });
});

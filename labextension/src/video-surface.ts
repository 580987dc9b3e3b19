/**
 * The video of a room, without ipywidgets: camera and microphone capture, the media transport
 * the room's mode asks for (a full mesh, mesh.ts, or the server's SFU, sfu.ts; `rtc:mode`
 * switches a growing room), a tile per member, the mute / camera / share toggles and the
 * `rtc:media` announcements that let others show them.
 *
 * It runs on a membership the page holds (`connect(link)`, page/session.ts): the notebook's
 * `VideoView` (video.ts) gives it the kernel's membership, attached with a kernel ticket; the
 * main-area `VideoWidget` (video-widget.ts) the side panel's. The surface never releases a
 * link itself: it says so (`released`) and its owner decides.
 *
 * The host's lecture controls (`rtc:policy`, `rtc:mute_all`, lecture.ts): the host's toolbar has
 * Lecture layout / Students may publish / Mute all; with `lecture` on, the host's tile is large
 * and the others go in a strip; a student the host does not let publish watches only (its
 * camera and microphone buttons disabled, with a tooltip saying why); `rtc:mute_all` turns the
 * microphone off (the member may turn it on again while publishing is allowed).
 *
 * The other members' tiles are video-tiles.ts's (`RemoteTiles`).
 *
 * DOM hooks: the host gets `.jc-video[data-status][data-attached][data-publishing][data-video-mode]
 * [data-layout][data-may-publish]`, tiles are `.jc-video-tile[data-member-id][data-state][data-audio]
 * [data-video][data-lecture-role][data-layer]` (`data-layer`: the simulcast layer a tile takes through
 * the SFU, simulcast.ts); the host's controls are `.jc-video-host-controls` buttons.
 */
import {
  DEFAULT_POLICY,
  NOT_ALLOWED_MESSAGE,
  Policy,
  mayPublishUnder,
  readPolicy,
  tileRole,
  toggled
} from './lecture';
import { DEFAULT_MAX_PUBLISHERS, Mesh, mayPublish } from './mesh';
import { SignalData } from './negotiation';
import { isRefusal, refusalMessage } from './page/connect';
import { AttachAck, LinkState, RequestError, RoomLink } from './page/session';
import { PublishersEvent, SfuVideo } from './sfu';
import { SIMULCAST_ENCODINGS } from './simulcast';
import { RemoteTiles } from './video-tiles';

/** How a room carries video: `mesh` (peer to peer) or `sfu` (through the server's Janus). */
export type VideoMode = 'mesh' | 'sfu';
/** The media of an attached view: peer connections to each member, or the SFU's. */
type Transport = Mesh | SfuVideo;

/** A room member as in protocol.md. */
export interface Member {
  id: string;
  name: string;
  color?: string;
  role?: string;
}

/** Statuses that describe the media situation rather than a transition. */
const STEADY_CODES = new Set([
  'publishing',
  'denied',
  'no-device',
  'busy',
  'unsupported',
  'media-error',
  'over-capacity',
  'not-allowed'
]);
const ACK_TIMEOUT_MS = 15000;

function describeError(err: unknown): string {
  if (err instanceof Error) {
    return err.message;
  }
  return String(err);
}

function errorName(err: unknown): string {
  return (err as { name?: string } | null)?.name ?? '';
}

/**
 * The surface running each room link's video on this page. A page is one member of a room:
 * two surfaces on one link (a notebook's `Video` cell and the panel's video widget) would each
 * send a camera as that member, and the others' peer connections to it would fight.
 */
const running = new WeakMap<RoomLink, VideoSurface>();

export interface VideoSurfaceOptions {
  /** The surface stopped using `link` (stopped, ended, disposed): a notebook view releases it. */
  released?: (link: RoomLink) => void;
  /** What to say when the server ends our membership as `disconnected`. */
  disconnectedMessage?: string;
}

export class VideoSurface {
  constructor(
    readonly el: HTMLElement,
    private _options: VideoSurfaceOptions = {}
  ) {
    this.el.classList.add('jc-video');
    this.el.dataset.publishing = 'false';
    this.el.dataset.attached = 'false';

    this._statusEl = document.createElement('div');
    this._statusEl.className = 'jc-video-status';
    this._statusEl.setAttribute('role', 'status');

    const toolbar = document.createElement('div');
    toolbar.className = 'jc-video-toolbar';
    this._muteBtn = this._button('jc-video-mute', 'Mute', () => this.toggleMute());
    this._cameraBtn = this._button('jc-video-camera', 'Camera off', () => void this.toggleCamera());
    this._shareBtn = this._button('jc-video-share', 'Share screen', () => void this.toggleShare());
    toolbar.append(this._muteBtn, this._cameraBtn, this._shareBtn);
    // the host's lecture controls (shown to the host only)
    this._hostControls = document.createElement('span');
    this._hostControls.className = 'jc-video-host-controls';
    this._hostControls.hidden = true;
    this._lectureBtn = this._button('jc-video-lecture', 'Lecture layout', () => void this.setPolicy(toggled(this._policy, 'lecture')));
    this._studentsBtn = this._button('jc-video-students-publish', 'Students may publish', () =>
      void this.setPolicy(toggled(this._policy, 'students_publish'))
    );
    this._muteAllBtn = this._button('jc-video-mute-all', 'Mute all', () => void this.muteAll());
    this._hostControls.append(this._lectureBtn, this._studentsBtn, this._muteAllBtn);
    toolbar.append(this._hostControls);

    this._grid = document.createElement('div');
    this._grid.className = 'jc-video-grid';
    this._remote = new RemoteTiles(
      this._grid,
      () => ({ hostId: this._hostId, policy: this._policy }),
      () => this._setStatus(this._statusCode, `${this._mediaMessage} Click a video to hear it.`.trim())
    );

    this._localEl = document.createElement('div');
    this._localEl.className = 'jc-video-box jc-video-local';
    this._localVideo = document.createElement('video');
    this._localVideo.muted = true;
    this._localVideo.autoplay = true;
    this._localVideo.playsInline = true;
    const localLabel = document.createElement('div');
    localLabel.className = 'jc-video-name';
    localLabel.textContent = 'You';
    this._localEl.append(this._localVideo, localLabel);
    this._grid.append(this._localEl);

    this.el.append(toolbar, this._grid, this._statusEl);
    this._updateButtons();
    this._applyPolicy();
  }

  // --- session lifecycle ---------------------------------------------------

  /**
   * Starts the video on `link` (a membership the page holds: a notebook's, attached with a
   * kernel ticket, or the panel's). Whatever ran before is stopped first.
   */
  connect(link: RoomLink): void {
    this._stopSession();
    this._generation++;
    const generation = this._generation;
    const session = link.session;
    this._link = link;
    const owner = running.get(link);
    if (owner && owner !== this && owner.link === link) {
      this._setStatus(
        'secondary',
        'The video of this room is running in another view on this page (close that one to use it here).'
      );
      return;
    }
    running.set(link, this);
    const onConnectError = (err: unknown): void => {
      if (this._isCurrent(link, generation)) {
        // A refusal is the server's sentence (what to do); anything else is the network.
        const message = refusalMessage(err);
        this._setStatus(
          'error',
          isRefusal(err)
            ? `The classroom server did not let this page in: ${message}`
            : `Cannot reach the classroom server (${message}); trying again…`
        );
      }
    };
    session.socket.on('connect_error', onConnectError);
    this._off.push(
      () => session.socket.off('connect_error', onConnectError),
      link.state.changed.connect(state => this._linkState(link, generation, state)),
      link.onAttached.connect(ack => this._isCurrent(link, generation) && this._attached(link, ack)),
      link.on('room:member_joined', (ev: { member: Member }) => {
        if (ev.member && typeof ev.member.id === 'string') {
          this._members.set(ev.member.id, ev.member);
          this._mesh?.addMember(ev.member);
        }
      }),
      link.on('room:member_left', (ev: { member_id: string; reason: string }) => {
        if (ev.member_id === this._localId) {
          this._endSession(
            ev.reason === 'kicked'
              ? 'You were removed from the room.'
              : ev.reason === 'disconnected'
                ? (this._options.disconnectedMessage ?? "Your kernel's room connection ended; run the cell again to rejoin.")
                : 'You left the room.'
          );
          return;
        }
        this._members.delete(ev.member_id);
        this._mesh?.removeMember(ev.member_id);
      }),
      link.on('rtc:media', (ev: { from: string; audio: boolean; video: boolean }) => {
        if (typeof ev.from === 'string') {
          this._remote.setMedia(ev.from, { audio: ev.audio !== false, video: ev.video !== false });
        }
      }),
      link.on('rtc:signal', (ev: { from: string; data: SignalData }) => {
        if (this._mesh instanceof Mesh && ev.data && typeof ev.data.type === 'string') {
          void this._mesh.handleSignal(ev.from, ev.data);
        }
      }),
      link.on('rtc:publishers', (ev: PublishersEvent) => {
        if (this._mesh instanceof SfuVideo && ev.room_id === this._roomId && Array.isArray(ev.publishers)) {
          void this._mesh.handlePublishers(ev);
        }
      }),
      link.on('rtc:policy', (ev: { room_id: string }) => {
        if (ev.room_id === this._roomId) {
          this._policyChanged(link, readPolicy(ev));
        }
      }),
      link.on('rtc:mute_all', (ev: { room_id: string; by: string }) => {
        if (ev.room_id === this._roomId && ev.by !== this._localId) {
          this.muteMicrophone();
          this._setStatus(this._statusCode, 'The host muted everyone’s microphone.');
        }
      }),
      link.on('room:updated', (ev: { room?: { id?: string; host?: { id?: string } } }) => {
        if (ev.room?.id === this._roomId && typeof ev.room.host?.id === 'string') {
          this._hostId = ev.room.host.id; // the host role moved: its controls and tile move too
          this._policyChanged(link, this._policy);
        }
      }),
      link.on('rtc:mode', (ev: { room_id: string; mode: string }) => {
        // A growing room moved to the SFU: drop the mesh, publish and watch there.
        if (ev.room_id === this._roomId && ev.mode === 'sfu' && this._mesh instanceof Mesh) {
          this._switchTo(link, 'sfu');
        }
      })
    );
    if (link.attached) {
      this._attached(link, link.attached); // another view of this room attached it already
    } else {
      this._linkState(link, generation, link.state.value);
    }
  }

  private _linkState(link: RoomLink, generation: number, state: LinkState): void {
    if (!this._isCurrent(link, generation)) {
      return;
    }
    if (state === 'ended') {
      if (!this._localId) {
        // never attached: the attach itself was refused (say, the member was kicked meanwhile)
        const message = link.message || 'Could not join the room.';
        this._stopSession();
        this._setStatus('error', message);
      } else if (this._statusCode !== 'ended') {
        this._endSession(link.message || 'You left the room.');
      }
      return;
    }
    if (state === 'attached') {
      return; // onAttached follows
    }
    this.el.dataset.attached = 'false';
    if (state === 'attaching') {
      this._setStatus(this._mesh ? 'reconnecting' : 'attaching', this._mesh ? 'Reconnecting…' : 'Joining the video…');
    } else if (link.session.state.value !== 'connected') {
      this._setStatus('reconnecting', 'Connection to the classroom lost; reconnecting…');
    } else {
      this._setStatus('error', `Could not join the video: ${link.message}`);
    }
  }

  private _attached(link: RoomLink, ack: AttachAck): void {
    if (!ack.you || !ack.room) {
      this._setStatus('error', 'Could not join the video: unexpected reply');
      return;
    }
    this.el.dataset.attached = 'true';
    this._onAttached(link, ack as AttachAck & { room: { id: string }; you: Member });
  }

  private _onAttached(link: RoomLink, ack: AttachAck & { room: { id: string }; you: Member }): void {
    const roomId = ack.room.id;
    const members = ack.members ?? [];
    const iceServers = ack.rtc?.ice_servers ?? [];
    const maxPublishers = ack.rtc?.max_publishers ?? DEFAULT_MAX_PUBLISHERS;
    const mode: VideoMode = ack.video?.mode === 'sfu' ? 'sfu' : 'mesh';
    this._iceServers = iceServers;
    this._members = new Map(members.filter(m => m.id !== ack.you.id).map(m => [m.id, m]));
    this._hostId = (ack.room as { host?: { id?: string } }).host?.id ?? this._hostId;
    if (ack !== this._policyAck) {
      // a fresh ack says the policy; a restart on the same ack keeps what rtc:policy said since
      this._policyAck = ack;
      this._policy = readPolicy((ack as { video_policy?: unknown }).video_policy);
    }

    if (this._mesh && this._localId === ack.you.id && this._roomId === roomId && this._mode !== mode) {
      // Re-attached after a reconnect to a room that switched meanwhile.
      this._switchTo(link, mode);
      return;
    }
    if (this._mesh && this._localId === ack.you.id && this._roomId === roomId) {
      // Re-attached after a reconnect: keep live connections, fix membership.
      this._mesh.syncMembers(members);
      if (this._mesh instanceof SfuVideo) {
        void this._mesh.start(); // announcements made while away are lost: ask who publishes
      }
      const [code, message] = this._steadyStatus ?? ['connected', 'Connected.'];
      this._setStatus(code, message);
      this._announcedMedia = ''; // say it again: what we sent while away may be lost
      this._announceMedia();
      return;
    }
    this._mesh?.dispose();
    this._remote.sfu = null;
    this._remote.clear();
    this._steadyStatus = null;
    this._roomId = roomId;
    this._localId = ack.you.id;
    this._localEl.dataset.memberId = ack.you.id;
    this._applyPolicy();
    if (mode === 'sfu') {
      // Each camera goes up once whoever watches: the mesh's publisher cap does not apply.
      this._startSfu(link);
      return;
    }
    this._mode = 'mesh';
    this.el.dataset.videoMode = 'mesh';

    const send = (to: string, data: SignalData): Promise<void> | undefined => {
      if (!link.session.socket.connected) {
        return;
      }
      return link.request('rtc:signal', { room_id: roomId, to, data }, ACK_TIMEOUT_MS).then(
        () => undefined,
        err => {
          if (err instanceof RequestError && err.code !== 'disconnected' && err.code !== 'timeout') {
            console.warn('jupyter-classroom: rtc:signal refused', err.message);
          }
        }
      );
    };
    const mesh = new Mesh({
      localId: ack.you.id,
      createPeerConnection: () => new RTCPeerConnection({ iceServers }),
      send
    });
    this._mesh = mesh;
    this._connectTransport(mesh);

    const others = members.filter(m => m.id !== ack.you.id);
    const allowed = this._policyAllows();
    const publish = allowed && mayPublish(others.length, maxPublishers);
    if (publish && this._localStream) {
      mesh.publish(this._outStream!);
    }
    for (const member of others) {
      // This is a new session: any connection the others hold to us is stale. They opened one
      // when our kernel joined, before this view attached, and its offer reached no browser
      // (or it belongs to a page of ours that was reloaded). An impolite peer would wait for
      // the answer to that lost offer and ignore ours forever: tell it to drop it first (a
      // socket keeps the order, so our offer follows the bye).
      void send(member.id, { type: 'bye' })?.catch(() => undefined);
      mesh.addMember(member);
    }
    if (!allowed) {
      this._watchOnly();
      return;
    }
    if (!publish) {
      this._publishAllowed = false;
      this._stopLocalMedia();
      this._setStatus(
        'over-capacity',
        `Video is limited to ${maxPublishers} publishers and the room already has ${others.length} other ` +
          'members: you are watching only (your camera and microphone are not sent).'
      );
      this._updateButtons();
      return;
    }
    this._publishAllowed = true;
    if (!this._localStream) {
      void this._startLocalMedia();
    } else {
      this._setStatus('publishing', 'Connected: your camera and microphone are live.');
    }
  }

  /** Tiles and tracks from the transport's signals (the same for the mesh and the SFU). */
  private _connectTransport(transport: Transport): void {
    this._remote.sfu = transport instanceof SfuVideo ? transport : null;
    if (transport instanceof SfuVideo) {
      transport.receptionChanged.connect(({ remoteId, weak }) => this._remote.setReception(remoteId, weak));
    }
    transport.peerAdded.connect(({ remoteId, member }) => {
      this._remote.add(remoteId, member.name);
      this._announceMedia(remoteId); // it cannot know yet whether we are muted
    });
    transport.peerRemoved.connect(({ remoteId }) => this._remote.remove(remoteId));
    transport.trackAdded.connect(({ remoteId, track }) => this._remote.addTrack(remoteId, track));
    transport.connectionStateChanged.connect(({ remoteId, state }) => this._remote.setState(remoteId, state));
    transport.errorOccurred.connect(({ remoteId, error, context }) =>
      console.warn(`jupyter-classroom: WebRTC ${context} with ${remoteId} failed`, error)
    );
  }

  /** Video through the SFU: publish the camera once, watch every publisher. */
  private _startSfu(link: RoomLink): void {
    const roomId = this._roomId;
    const iceServers = this._iceServers;
    this._mode = 'sfu';
    this.el.dataset.videoMode = 'sfu';
    const sfu = new SfuVideo({
      roomId,
      localId: this._localId,
      createPeerConnection: () => new RTCPeerConnection({ iceServers }),
      request: (event, payload) => link.request(event, payload, ACK_TIMEOUT_MS) as Promise<Record<string, unknown>>,
      // two layers up; each tile takes the one its size needs (video-tiles.ts)
      simulcast: SIMULCAST_ENCODINGS,
      watchReception: true
    });
    this._mesh = sfu;
    this._connectTransport(sfu);
    this._members.forEach(member => sfu.addMember(member));
    void sfu.start();
    if (!this._policyAllows()) {
      this._watchOnly();
      return;
    }
    this._publishAllowed = true;
    if (this._outStream) {
      sfu.publish(this._outStream);
      this._setStatus('publishing', this._mediaMessage || 'Connected: your camera and microphone are live.');
    } else if (!this._askingMedia) {
      void this._startLocalMedia(); // (one asked under the mesh publishes here when it comes)
    }
    this._updateButtons();
  }

  /** The room's video changed mode (`rtc:mode`, or found so on a re-attach): start over in it. */
  private _switchTo(link: RoomLink, mode: VideoMode): void {
    this._mesh?.dispose(); // the mesh says bye to each peer; their tiles go
    this._mesh = null;
    this._remote.sfu = null;
    this._remote.clear();
    if (mode === 'sfu') {
      this._startSfu(link);
    } else if (link.attached) {
      // back to the mesh (the server does not do this today): a fresh attach does it
      this._localId = '';
      this._onAttached(link, link.attached as AttachAck & { room: { id: string }; you: Member });
    }
  }

  // --- the host's lecture controls -------------------------------------------

  /** The room's video policy as this surface last heard it. */
  get policy(): Policy {
    return { ...this._policy };
  }

  /** (The host) change the room's policy; the room (this surface too) hears `rtc:policy`. */
  async setPolicy(change: Partial<Policy>): Promise<void> {
    const link = this._link;
    if (!link || !this._roomId) {
      return;
    }
    try {
      const ack = await link.request('rtc:policy', { room_id: this._roomId, ...change }, ACK_TIMEOUT_MS);
      this._policyChanged(link, readPolicy(ack));
    } catch (err) {
      this._setStatus(this._statusCode, `Could not change the room's video: ${describeError(err)}`);
    }
  }

  /** (The host) ask every member to turn its microphone off. */
  async muteAll(): Promise<void> {
    const link = this._link;
    if (!link || !this._roomId) {
      return;
    }
    try {
      await link.request('rtc:mute_all', { room_id: this._roomId }, ACK_TIMEOUT_MS);
      this._setStatus(this._statusCode, 'Everyone else’s microphone is muted.');
    } catch (err) {
      this._setStatus(this._statusCode, `Could not mute everyone: ${describeError(err)}`);
    }
  }

  /** Turns the microphone off (as `rtc:mute_all` does); Unmute turns it on again. */
  muteMicrophone(): void {
    const tracks = this._localStream?.getAudioTracks() ?? [];
    if (!tracks.length) {
      if (this._askingMedia) {
        this._pendingMute = true;
      }
      return;
    }
    tracks.forEach(t => (t.enabled = false));
    this._updateButtons();
  }

  private get _isHost(): boolean {
    return this._localId !== '' && this._localId === this._hostId;
  }

  private _policyAllows(): boolean {
    return mayPublishUnder(this._policy, this._isHost);
  }

  /** A new policy (rtc:policy, our own rtc:policy's ack, the host role moving). */
  private _policyChanged(link: RoomLink, policy: Policy): void {
    const before = this._policyAllows();
    this._policy = policy;
    const now = this._policyAllows();
    this._applyPolicy();
    if (!this._mesh) {
      return;
    }
    if (before && !now) {
      // Stop sending: the server stopped our SFU feed and refuses mesh offers that send, so
      // the transport starts over receive-only (the others' tiles come back as they answer).
      this._stopLocalMedia();
      this._switchTo(link, this._mode);
    } else if (!before && now && !this._publishAllowed) {
      this._publishAllowed = true;
      this._setStatus('connected', 'The host lets you send your camera and microphone: press Start camera.');
      this._updateButtons();
    }
  }

  /** Publishing is not allowed: watch only. */
  private _watchOnly(): void {
    this._publishAllowed = false;
    this._stopLocalMedia();
    this._setStatus('not-allowed', `${NOT_ALLOWED_MESSAGE} You are watching.`);
    this._updateButtons();
  }

  /** The layout, the tiles' roles and the host's controls as the policy says. */
  private _applyPolicy(): void {
    const policy = this._policy;
    this.el.dataset.layout = policy.lecture ? 'lecture' : 'grid';
    this.el.dataset.mayPublish = String(this._policyAllows());
    this._localEl.dataset.lectureRole = tileRole(this._localId, this._hostId, policy);
    this._localEl.hidden = this._localId !== '' && !this._policyAllows();
    this._remote.placeAll();
    this._hostControls.hidden = !this._isHost;
    this._lectureBtn.setAttribute('aria-pressed', String(policy.lecture));
    this._studentsBtn.setAttribute('aria-pressed', String(!policy.students_publish));
    this._studentsBtn.textContent = policy.students_publish ? 'Students may publish' : 'Students watch only';
    this._studentsBtn.title = policy.students_publish
      ? 'Press to stop the students’ cameras and microphones'
      : 'Press to let students send their camera and microphone';
    this._updateButtons();
  }

  /** Stops the video on its link (the owner decides what becomes of the link), keeps the camera. */
  stop(): void {
    this._stopSession();
  }

  /** Ends everything: peer connections, the camera, listeners. The host element stays. */
  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._stopSession();
    this._stopLocalMedia();
    this._disposed = true;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** The membership the video runs on (null when stopped). */
  get link(): RoomLink | null {
    return this._link;
  }

  /** Closes peer connections and leaves the page socket (shared: it stays), keeps the camera. */
  private _stopSession(): void {
    this._generation++;
    this._off.forEach(off => off());
    this._off = [];
    this._mesh?.dispose();
    this._mesh = null;
    this._remote.sfu = null;
    this._remote.clear(true);
    this._members.clear();
    this._announcedMedia = '';
    const link = this._link;
    this._link = null;
    if (link) {
      if (running.get(link) === this) {
        running.delete(link);
      }
      this._options.released?.(link);
    }
    this._roomId = '';
    this._localId = '';
    if (this.el) {
      this.el.dataset.attached = 'false';
    }
  }

  private _endSession(message: string): void {
    this._stopSession();
    this._stopLocalMedia();
    this._setStatus('ended', message);
  }

  /** Whether `link` is still the one this surface runs on, in the session `generation`. */
  private _isCurrent(link: RoomLink, generation: number): boolean {
    return !this._disposed && this._link === link && this._generation === generation;
  }

  // --- local media ----------------------------------------------------------

  private async _startLocalMedia(): Promise<void> {
    this._askingMedia = true;
    try {
      await this._askLocalMedia();
    } finally {
      this._askingMedia = false;
      this._pendingMute = false;
      this._pendingCameraOff = false;
    }
  }

  private async _askLocalMedia(): Promise<void> {
    const generation = this._generation;
    const devices = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
    if (!devices?.getUserMedia) {
      this._receiveOnly(
        'unsupported',
        'This page cannot use the camera (it needs https or localhost): watching only.'
      );
      return;
    }
    this._setStatus('media', 'Asking for camera and microphone…');
    let stream: MediaStream | null = null;
    let lastError: unknown = null;
    const attempts: MediaStreamConstraints[] = [
      { audio: true, video: { width: { ideal: 640 }, height: { ideal: 360 } } },
      { audio: true, video: false },
      { audio: false, video: true }
    ];
    for (const constraints of attempts) {
      try {
        stream = await devices.getUserMedia(constraints);
        break;
      } catch (err) {
        lastError = err;
        // Only a missing device is worth a reduced retry.
        if (!['NotFoundError', 'OverconstrainedError', 'NotReadableError'].includes(errorName(err))) {
          break;
        }
      }
    }
    // The session may have ended meanwhile; a mode switch keeps it (publish on the new one).
    const transport = this._mesh;
    if (this._disposed || this._generation !== generation || !transport || !this._policyAllows()) {
      stream?.getTracks().forEach(t => t.stop());
      return;
    }
    if (!stream) {
      const name = errorName(lastError);
      if (name === 'NotAllowedError' || name === 'SecurityError') {
        this._receiveOnly(
          'denied',
          'Camera and microphone access was denied: you joined receive-only and can still see and hear the others.'
        );
      } else if (name === 'NotFoundError' || name === 'OverconstrainedError') {
        this._receiveOnly(
          'no-device',
          'No camera or microphone was found: you joined receive-only and can still see and hear the others.'
        );
      } else if (name === 'NotReadableError') {
        this._receiveOnly(
          'busy',
          'The camera or microphone is in use by another application: you joined receive-only.'
        );
      } else {
        this._receiveOnly('media-error', `Could not start the camera (${describeError(lastError)}): receive-only.`);
      }
      return;
    }
    this._localStream = stream;
    this._cameraTrack = stream.getVideoTracks()[0] ?? null;
    // toggled (a command) while the browser was asking: start as the user wants
    if (this._pendingMute) {
      stream.getAudioTracks().forEach(t => (t.enabled = false));
    }
    if (this._pendingCameraOff && this._cameraTrack) {
      this._cameraTrack.enabled = false;
    }
    this._outStream = new MediaStream(stream.getTracks());
    this._localVideo.srcObject = stream;
    void this._localVideo.play().catch(() => undefined);
    transport.publish(this._outStream);
    this.el.dataset.publishing = 'true';
    const partial = !this._cameraTrack
      ? ' (no camera found: audio only)'
      : stream.getAudioTracks().length === 0
        ? ' (no microphone found: video only)'
        : '';
    this._mediaMessage = `Connected: your camera and microphone are live${partial}.`;
    this._setStatus('publishing', this._mediaMessage);
    this._updateButtons();
  }

  private _receiveOnly(code: string, message: string): void {
    this._mediaMessage = message;
    this.el.dataset.publishing = 'false';
    this._setStatus(code, message);
    this._updateButtons();
  }

  private _stopLocalMedia(): void {
    this._screenTrack?.stop();
    this._screenTrack = null;
    this._localStream?.getTracks().forEach(t => t.stop());
    this._localStream = null;
    this._cameraTrack = null;
    this._outStream = null;
    if (this._localVideo) {
      this._localVideo.srcObject = null;
    }
    if (this.el) {
      this.el.dataset.publishing = 'false';
    }
    if (this._muteBtn) {
      this._updateButtons();
    }
  }

  /** Whether the microphone is captured and switched off. */
  get microphoneMuted(): boolean {
    const audio = this._localStream?.getAudioTracks()[0];
    return !!audio && !audio.enabled;
  }

  /** Whether the camera is captured and switched off. */
  get cameraOff(): boolean {
    return !!this._cameraTrack && !this._cameraTrack.enabled;
  }

  /** Mutes or unmutes the microphone (as the Mute button). */
  toggleMute(): void {
    const tracks = this._localStream?.getAudioTracks() ?? [];
    if (!tracks.length) {
      if (this._askingMedia) {
        this._pendingMute = !this._pendingMute; // a command ran before the browser answered
      }
      return;
    }
    const muted = tracks[0].enabled;
    tracks.forEach(t => (t.enabled = !muted));
    this._updateButtons();
  }

  /** Switches the camera off or on, or starts it when watching only (as the Camera button). */
  async toggleCamera(): Promise<void> {
    if (!this._localStream && this._askingMedia) {
      this._pendingCameraOff = !this._pendingCameraOff; // applied when the camera comes
      return;
    }
    if (!this._localStream && this._mesh && this._publishAllowed) {
      // Receive-only after a denial: let the user try again.
      await this._startLocalMedia();
      return;
    }
    if (!this._cameraTrack) {
      return;
    }
    this._cameraTrack.enabled = !this._cameraTrack.enabled;
    this._updateButtons();
  }

  /** Shares the screen instead of the camera, or stops (as the Share button). */
  async toggleShare(): Promise<void> {
    if (this._screenTrack) {
      await this._stopShare();
      return;
    }
    const devices = navigator.mediaDevices;
    if (!this._mesh?.isPublishing || !devices?.getDisplayMedia) {
      this._setStatus(this._statusCode, 'Screen sharing is not available here.');
      return;
    }
    let display: MediaStream;
    try {
      display = await devices.getDisplayMedia({ video: true, audio: false });
    } catch (err) {
      if (errorName(err) !== 'NotAllowedError') {
        this._setStatus(this._statusCode, `Could not share the screen: ${describeError(err)}`);
      }
      return;
    }
    const track = display.getVideoTracks()[0];
    if (!track || !this._mesh) {
      display.getTracks().forEach(t => t.stop());
      return;
    }
    this._screenTrack = track;
    // The browser's own "Stop sharing" button ends the track.
    track.addEventListener('ended', () => {
      if (this._screenTrack === track) {
        void this._stopShare();
      }
    });
    await this._mesh.setVideoTrack(track);
    this._localVideo.srcObject = new MediaStream([track]);
    this.el.dataset.sharing = 'true';
    this._updateButtons();
  }

  private async _stopShare(): Promise<void> {
    const track = this._screenTrack;
    this._screenTrack = null;
    track?.stop();
    this.el.dataset.sharing = 'false';
    await this._mesh?.setVideoTrack(this._cameraTrack);
    this._localVideo.srcObject = this._localStream;
    this._updateButtons();
  }

  // --- what others show of us (their tiles are video-tiles.ts) ---------------

  /**
   * Tell the room (or one member who just connected) whether our microphone and camera are
   * on, so their tiles can show it: a disabled track still flows, as silence or black.
   */
  private _announceMedia(to?: string): void {
    const link = this._link;
    if (!link || link.state.value !== 'attached' || !this._roomId || !this._mesh) {
      return;
    }
    const audioTrack = this._localStream?.getAudioTracks()[0];
    const audio = !!audioTrack && audioTrack.enabled;
    const video = !!this._screenTrack || (!!this._cameraTrack && this._cameraTrack.enabled);
    const state = `${audio}/${video}`;
    if (to === undefined) {
      if (state === this._announcedMedia) {
        return;
      }
      this._announcedMedia = state;
    }
    const payload = { room_id: this._roomId, audio, video, ...(to === undefined ? {} : { to }) };
    void link.request('rtc:media', payload, ACK_TIMEOUT_MS).catch(() => undefined);
  }

  // --- UI helpers ---------------------------------------------------------

  private _button(cls: string, label: string, onClick: () => void): HTMLButtonElement {
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = `jp-Button jc-video-button ${cls}`;
    btn.textContent = label;
    btn.addEventListener('click', onClick);
    return btn;
  }

  private _updateButtons(): void {
    const audio = this._localStream?.getAudioTracks()[0];
    this._muteBtn.disabled = !audio;
    const muted = !!audio && !audio.enabled;
    this._muteBtn.textContent = muted ? 'Unmute' : 'Mute';
    this._muteBtn.setAttribute('aria-pressed', String(muted));

    const receiveOnly = !this._localStream;
    const cameraOff = !!this._cameraTrack && !this._cameraTrack.enabled;
    this._cameraBtn.disabled = receiveOnly ? !this._publishAllowed || !this._mesh : !this._cameraTrack;
    this._cameraBtn.textContent = receiveOnly ? 'Start camera' : cameraOff ? 'Camera on' : 'Camera off';
    this._cameraBtn.setAttribute('aria-pressed', String(cameraOff));

    const sharing = !!this._screenTrack;
    this._shareBtn.disabled = !sharing && (receiveOnly || !this._mesh);
    this._shareBtn.textContent = sharing ? 'Stop sharing' : 'Share screen';
    this._shareBtn.setAttribute('aria-pressed', String(sharing));
    if (this._localId && !this._policyAllows()) {
      for (const btn of [this._muteBtn, this._cameraBtn, this._shareBtn]) {
        btn.disabled = true;
        btn.title = NOT_ALLOWED_MESSAGE;
      }
    } else {
      [this._muteBtn, this._cameraBtn, this._shareBtn].forEach(btn => btn.removeAttribute('title'));
    }
    this._announceMedia();
  }

  /** The status line (`data-status` on the host): the owner's situations too (waiting, ...). */
  setStatus(code: string, message: string): void {
    this._setStatus(code, message);
  }

  private _setStatus(code: string, message: string): void {
    this._statusCode = code;
    if (STEADY_CODES.has(code)) {
      this._steadyStatus = [code, message];
    }
    if (this._statusEl) {
      this._statusEl.textContent = message;
      this._statusEl.dataset.code = code;
    }
    if (this.el) {
      this.el.dataset.status = code;
    }
  }

  private _statusEl!: HTMLDivElement;
  private _grid!: HTMLDivElement;
  /** The other members' tiles. */
  private _remote!: RemoteTiles;
  private _localEl!: HTMLDivElement;
  private _localVideo!: HTMLVideoElement;
  private _muteBtn!: HTMLButtonElement;
  private _cameraBtn!: HTMLButtonElement;
  private _shareBtn!: HTMLButtonElement;
  private _hostControls!: HTMLSpanElement;
  private _lectureBtn!: HTMLButtonElement;
  private _studentsBtn!: HTMLButtonElement;
  private _muteAllBtn!: HTMLButtonElement;
  /** The room's video policy (the ack's, then each rtc:policy) and its host. */
  private _policy: Policy = { ...DEFAULT_POLICY };
  private _policyAck: unknown = null;
  private _hostId = '';

  private _link: RoomLink | null = null;
  private _off: (() => void)[] = [];
  /** The media transport: the mesh, or the SFU (`_mode`). */
  private _mesh: Transport | null = null;
  private _mode: VideoMode = 'mesh';
  /** getUserMedia is under way (a mode switch meanwhile must not ask again). */
  private _askingMedia = false;
  /** Mute / camera off asked for while getUserMedia was under way. */
  private _pendingMute = false;
  private _pendingCameraOff = false;
  private _iceServers: RTCIceServer[] = [];
  /** The other members present (for the SFU's tiles after a switch). */
  private _members = new Map<string, Member>();
  private _generation = 0;
  private _disposed = false;
  private _roomId = '';
  private _localId = '';
  private _publishAllowed = false;
  private _statusCode = 'idle';
  /** The last status describing the media situation, restored after a reconnect. */
  private _steadyStatus: [string, string] | null = null;
  private _mediaMessage = '';
  private _localStream: MediaStream | null = null;
  private _outStream: MediaStream | null = null;
  private _cameraTrack: MediaStreamTrack | null = null;
  private _screenTrack: MediaStreamTrack | null = null;
  /** The state we last told the room (`audio/video`), to send only changes. */
  private _announcedMedia = '';
}

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import { FakePeerConnection, FakeTrack, waitFor } from './fake-rtc';
import { SfuVideo } from '../src/sfu';
import {
  FREEZE_MS,
  GRID_HIGH_MAX,
  LayerChooser,
  ReceptionSample,
  WEAK_HOLD_MS,
  readReception,
  receptionWeak,
  tileLayer
} from '../src/simulcast';

const ALICE = 'm-alice';
const CAROL = 'm-carol';

function sample(at: number, packetsReceived: number, packetsLost: number, framesDecoded: number): ReceptionSample {
  return { at, packetsReceived, packetsLost, framesDecoded };
}

describe('tileLayer', () => {
  it('gives the large tile the full layer and small tiles the low one', () => {
    assert.equal(tileLayer('main', 30), 'high');
    assert.equal(tileLayer('strip', 1), 'low');
    assert.equal(tileLayer('grid', 1), 'high');
    assert.equal(tileLayer('grid', GRID_HIGH_MAX), 'high');
    assert.equal(tileLayer('grid', GRID_HIGH_MAX + 1), 'low');
  });
});

describe('reception', () => {
  it('is weak with heavy loss or a freeze, not when the publisher sends nothing', () => {
    const start = sample(0, 100, 0, 30);
    assert.equal(receptionWeak(start, sample(2000, 200, 2, 60)), false, 'a little loss');
    assert.equal(receptionWeak(start, sample(2000, 200, 20, 60)), true, '20 of 120 lost');
    assert.equal(receptionWeak(start, sample(FREEZE_MS, 150, 0, 30)), true, 'packets, no frames');
    assert.equal(receptionWeak(start, sample(FREEZE_MS - 1, 150, 0, 30)), false, 'too short to tell');
    assert.equal(receptionWeak(start, sample(5000, 100, 0, 30)), false, 'nothing sent');
  });

  it('reads the received video of a getStats report', () => {
    const report = new Map<string, unknown>([
      ['a', { type: 'inbound-rtp', kind: 'audio', packetsReceived: 9 }],
      ['v', { type: 'inbound-rtp', kind: 'video', packetsReceived: 50, packetsLost: 3, framesDecoded: 20 }]
    ]);
    assert.deepEqual(readReception(report, 7), sample(7, 50, 3, 20));
    assert.equal(readReception(new Map(), 7), null);
  });

  it('keeps a weak publisher on the low layer for a while, then its tile decides', () => {
    let now = 0;
    const chooser = new LayerChooser(() => now);
    assert.equal(chooser.layer(ALICE), 'high', 'no tile yet: the full layer');
    chooser.setTile(ALICE, 'high');
    assert.equal(chooser.sample(ALICE, sample(0, 100, 0, 30)), false, 'a first sample compares with nothing');
    now = 2000;
    assert.equal(chooser.sample(ALICE, sample(2000, 150, 50, 40)), true);
    assert.equal(chooser.layer(ALICE), 'low');
    assert.equal(chooser.weak(ALICE), true);
    now += WEAK_HOLD_MS - 1;
    assert.equal(chooser.layer(ALICE), 'low');
    now += 1;
    assert.equal(chooser.layer(ALICE), 'high');
    assert.equal(chooser.weak(ALICE), false);
    chooser.setTile(ALICE, 'low');
    assert.equal(chooser.layer(ALICE), 'low');
    chooser.forget(ALICE);
    assert.equal(chooser.layer(ALICE), 'high');
  });
});

/** Janus as the room server drives it: subscriptions, and the rtc:layer requests. */
function fakeServer(): {
  request: (event: string, payload: Record<string, unknown>) => Promise<Record<string, unknown>>;
  layers: string[];
} {
  const layers: string[] = [];
  const request = async (event: string, payload: Record<string, unknown>): Promise<Record<string, unknown>> => {
    if (event === 'rtc:subscribe') {
      const pc = new FakePeerConnection('janus');
      pc.addTrack(new FakeTrack('video', `${payload.member_id}-video`));
      await pc.setLocalDescription();
      return { ok: true, sdp: pc.localDescription!.sdp };
    }
    if (event === 'rtc:layer') {
      layers.push(`${payload.publisher} ${payload.layer}`);
    }
    return { ok: true };
  };
  return { request, layers };
}

describe('SfuVideo layers', () => {
  function make(now: () => number = Date.now): { sfu: SfuVideo; layers: string[] } {
    const server = fakeServer();
    const sfu = new SfuVideo({
      roomId: 'r1',
      localId: 'm-bob',
      createPeerConnection: () => new FakePeerConnection('browser') as unknown as RTCPeerConnection,
      request: server.request,
      now
    });
    return { sfu, layers: server.layers };
  }

  it('asks Janus for the layer each tile wants once the subscription is up, and on changes only', async () => {
    const { sfu, layers } = make();
    sfu.setTileLayer(ALICE, 'high');
    sfu.setTileLayer(CAROL, 'low'); // before the subscription: sent once it is answered
    assert.deepEqual(layers, []);
    await sfu.handlePublishers({ publishers: [ALICE, CAROL] });
    assert.deepEqual(layers, [`${CAROL} low`], 'Janus starts on the full layer: nothing to ask for Alice');
    assert.equal(sfu.layerOf(ALICE), 'high');
    assert.equal(sfu.layerOf(CAROL), 'low');
    sfu.setTileLayer(CAROL, 'low');
    sfu.setTileLayer(ALICE, 'low');
    sfu.setTileLayer(CAROL, 'high');
    assert.deepEqual(layers, [`${CAROL} low`, `${ALICE} low`, `${CAROL} high`]);
    // a new subscription (Janus restarted) starts on the full layer again: asked again
    await sfu.handlePublishers({ publishers: [CAROL], reset: true });
    await sfu.handlePublishers({ publishers: [ALICE, CAROL] });
    await waitFor(() => layers.length === 4, 'the layer asked again');
    assert.deepEqual(layers.slice(3), [`${ALICE} low`]);
    assert.equal(sfu.layerOf('m-nobody'), null);
    sfu.dispose();
  });

  it('asks again after a refused rtc:layer', async () => {
    const server = fakeServer();
    let refuse = true;
    const errors: string[] = [];
    const sfu = new SfuVideo({
      roomId: 'r1',
      localId: 'm-bob',
      createPeerConnection: () => new FakePeerConnection('browser') as unknown as RTCPeerConnection,
      request: async (event, payload) => {
        if (event === 'rtc:layer' && refuse) {
          throw Object.assign(new Error('too many signaling messages'), { code: 'rate_limited' });
        }
        return server.request(event, payload);
      }
    });
    sfu.errorOccurred.connect(ev => errors.push(ev.context));
    await sfu.handlePublishers({ publishers: [ALICE] });
    sfu.setTileLayer(ALICE, 'low');
    await waitFor(() => errors.length === 1, 'the refusal reported');
    assert.equal(sfu.layerOf(ALICE), 'high', 'Janus still forwards the full layer');
    refuse = false;
    await sfu.watchReception(); // (no stats on the fake: the next look asks again)
    assert.deepEqual(server.layers, [`${ALICE} low`]);
    assert.equal(sfu.layerOf(ALICE), 'low');
    sfu.dispose();
  });

  it('takes the low layer of a video that loses packets, and the tile’s again after a while', async () => {
    let now = 0;
    const { sfu, layers } = make(() => now);
    const reception: string[] = [];
    sfu.receptionChanged.connect(({ remoteId, weak }) => reception.push(`${remoteId} ${weak ? 'weak' : 'good'}`));
    sfu.setTileLayer(ALICE, 'high');
    await sfu.handlePublishers({ publishers: [ALICE] });
    const stats = { packetsReceived: 100, packetsLost: 0, framesDecoded: 30 };
    const pc = sfu.subscription(ALICE) as unknown as { getStats: () => Promise<Map<string, unknown>> };
    pc.getStats = async () => new Map([['v', { type: 'inbound-rtp', kind: 'video', ...stats }]]);
    await sfu.watchReception();
    now = 2000;
    Object.assign(stats, { packetsReceived: 200, packetsLost: 2, framesDecoded: 60 });
    await sfu.watchReception();
    assert.deepEqual(layers, [], 'a healthy video keeps its layer');
    assert.deepEqual(reception, [], 'and says nothing');
    now = 4000;
    Object.assign(stats, { packetsReceived: 250, packetsLost: 60, framesDecoded: 70 });
    await sfu.watchReception();
    assert.deepEqual(layers, [`${ALICE} low`]);
    assert.deepEqual(reception, [`${ALICE} weak`]);
    now = 6000;
    Object.assign(stats, { packetsReceived: 350, packetsLost: 60, framesDecoded: 130 });
    await sfu.watchReception();
    assert.deepEqual(reception, [`${ALICE} weak`], 'said once');
    now = 4000 + WEAK_HOLD_MS;
    Object.assign(stats, { packetsReceived: 400, packetsLost: 60, framesDecoded: 200 });
    await sfu.watchReception();
    assert.deepEqual(layers, [`${ALICE} low`, `${ALICE} high`]);
    assert.deepEqual(reception, [`${ALICE} weak`, `${ALICE} good`]);
    sfu.dispose();
  });
});

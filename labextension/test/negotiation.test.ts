import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import { isPolite, Negotiator, SignalData } from '../src/negotiation';
import { FakePeerConnection, FakeStream, FakeTrack, sleep, waitFor } from './fake-rtc';

/** Delay (ms) a signal spends on the wire; may depend on the message. */
type Delay = (data: SignalData) => number;

interface Side {
  id: string;
  negotiator: Negotiator;
  pc: FakePeerConnection;
  sent: SignalData[];
  errors: unknown[];
  closedEvents: { byRemote: boolean }[];
  states: string[];
  tracks: string[];
}

/** Two negotiators wired to each other through a fake network. */
function pair(
  idA: string,
  idB: string,
  delay: Delay = () => 5
): { a: Side; b: Side; pending: () => number } {
  let inFlight = 0;
  const sides: Partial<Record<'a' | 'b', Side>> = {};
  const make = (self: 'a' | 'b', localId: string, remoteId: string): Side => {
    const pc = new FakePeerConnection(localId);
    const side: Side = {
      id: localId,
      pc,
      sent: [],
      errors: [],
      closedEvents: [],
      states: [],
      tracks: [],
      negotiator: new Negotiator({
        remoteId,
        polite: isPolite(localId, remoteId),
        createPeerConnection: () => pc as unknown as RTCPeerConnection,
        send: data => {
          side.sent.push(data);
          // Round-trip through JSON, as socket.io does.
          const wire = JSON.parse(JSON.stringify(data)) as SignalData;
          inFlight++;
          setTimeout(() => {
            inFlight--;
            const other = sides[self === 'a' ? 'b' : 'a']!;
            void other.negotiator.handleSignal(wire);
          }, delay(data));
        }
      })
    };
    side.negotiator.errorOccurred.connect(ev => side.errors.push(ev.error));
    side.negotiator.closed.connect(ev => side.closedEvents.push(ev));
    side.negotiator.connectionStateChanged.connect(ev => side.states.push(ev.state));
    side.negotiator.trackAdded.connect(ev => side.tracks.push(ev.track.id));
    return side;
  };
  sides.a = make('a', idA, idB);
  sides.b = make('b', idB, idA);
  return { a: sides.a, b: sides.b, pending: () => inFlight };
}

function publish(side: Side, ...kinds: ('audio' | 'video')[]): FakeTrack[] {
  const tracks = kinds.map(k => new FakeTrack(k));
  const stream = new FakeStream(tracks);
  for (const t of tracks) {
    side.pc.addTrack(t, stream);
  }
  return tracks;
}

function count(side: Side, type: SignalData['type']): number {
  return side.sent.filter(s => s.type === type).length;
}

async function settled(p: { a: Side; b: Side; pending: () => number }): Promise<void> {
  // Quiet = both stable and idle, nothing on the wire, for 40 ms in a row
  // (late negotiationneeded events and errors get their chance to show up).
  const quiet = (): boolean =>
    p.pending() === 0 &&
    p.a.pc.idle &&
    p.b.pc.idle &&
    p.a.pc.signalingState === 'stable' &&
    p.b.pc.signalingState === 'stable';
  const start = Date.now();
  let since = -1;
  for (;;) {
    if (quiet()) {
      if (since < 0) {
        since = Date.now();
      } else if (Date.now() - since >= 40) {
        return;
      }
    } else {
      since = -1;
    }
    if (Date.now() - start > 3000) {
      throw new Error(
        `not settled: a=${p.a.pc.signalingState} b=${p.b.pc.signalingState} in flight=${p.pending()}`
      );
    }
    await sleep(2);
  }
}

function assertNoErrors(side: Side): void {
  assert.deepEqual(
    side.errors.map(e => `${(e as Error).name}: ${(e as Error).message}`),
    [],
    `${side.id} reported errors`
  );
}

describe('isPolite', () => {
  it('makes exactly one side polite, the same way on both ends', () => {
    assert.equal(isPolite('b', 'a'), true);
    assert.equal(isPolite('a', 'b'), false);
    for (const [x, y] of [
      ['m1', 'm2'],
      ['Z', 'a'],
      ['member-10', 'member-9']
    ]) {
      assert.notEqual(isPolite(x, y), isPolite(y, x));
    }
  });
});

describe('Negotiator', () => {
  it('completes a plain offer/answer and exchanges candidates', async () => {
    const p = pair('alice', 'bob');
    const [audio, video] = publish(p.a, 'audio', 'video');
    await settled(p);

    assert.equal(count(p.a, 'offer'), 1);
    assert.equal(count(p.b, 'answer'), 1);
    assert.equal(count(p.b, 'offer'), 0);
    assert.deepEqual(p.b.tracks.sort(), [audio.id, video.id].sort());
    assert.equal(p.a.pc.connectionState, 'connected');
    assert.equal(p.b.pc.connectionState, 'connected');
    assert.ok(p.a.states.includes('connected'));
    assert.equal(p.b.pc.addedCandidates.length, 2);
    assert.equal(p.a.pc.addedCandidates.length, 2);
    assertNoErrors(p.a);
    assertNoErrors(p.b);
  });

  it('renegotiates when the answering side starts publishing later', async () => {
    const p = pair('alice', 'bob');
    publish(p.a, 'video');
    await settled(p);
    const [late] = publish(p.b, 'video');
    await settled(p);
    assert.equal(count(p.b, 'offer'), 1);
    assert.deepEqual(p.a.tracks, [late.id]);
    assertNoErrors(p.a);
    assertNoErrors(p.b);
  });

  for (const [impoliteId, politeId] of [
    ['a-member', 'b-member'],
    ['member-1', 'member-2']
  ]) {
    it(`resolves glare (both offer at once) between ${impoliteId} and ${politeId}`, async () => {
      const p = pair(impoliteId, politeId, () => 10);
      assert.equal(p.a.negotiator.polite, false);
      assert.equal(p.b.negotiator.polite, true);
      const aTracks = publish(p.a, 'audio', 'video');
      const bTracks = publish(p.b, 'audio', 'video');
      await settled(p);

      // Both really offered, and the collision was handled by the pattern.
      assert.ok(count(p.a, 'offer') >= 1, 'impolite side offered');
      assert.ok(count(p.b, 'offer') >= 1, 'polite side offered');
      assert.ok(p.a.negotiator.ignoredOffers >= 1, 'impolite side ignored the colliding offer');
      assert.ok(p.b.negotiator.rollbacks >= 1, 'polite side rolled back');
      assert.equal(p.b.negotiator.ignoredOffers, 0, 'polite side never ignores');
      assert.ok(p.b.pc.log.includes('sld:rollback'));

      assert.equal(p.a.pc.signalingState, 'stable');
      assert.equal(p.b.pc.signalingState, 'stable');
      assert.deepEqual(p.a.tracks.sort(), bTracks.map(t => t.id).sort());
      assert.deepEqual(p.b.tracks.sort(), aTracks.map(t => t.id).sort());
      assert.equal(p.a.pc.connectionState, 'connected');
      assert.equal(p.b.pc.connectionState, 'connected');
      assertNoErrors(p.a);
      assertNoErrors(p.b);
    });
  }

  it('resolves glare when the engine fixes the description type at call time', async () => {
    FakePeerConnection.eagerSldType = true;
    try {
      const p = pair('m-a', 'm-b', () => 10);
      const aTracks = publish(p.a, 'video');
      const bTracks = publish(p.b, 'video');
      await settled(p);
      assert.ok(p.b.negotiator.rollbacks >= 1, 'polite side rolled back');
      assert.deepEqual(p.a.tracks, bTracks.map(t => t.id));
      assert.deepEqual(p.b.tracks, aTracks.map(t => t.id));
      assertNoErrors(p.a);
      assertNoErrors(p.b);
    } finally {
      FakePeerConnection.eagerSldType = false;
    }
  });

  it('resolves glare during a renegotiation', async () => {
    const p = pair('x1', 'x2', () => 10);
    publish(p.a, 'audio');
    await settled(p);
    const aVideo = publish(p.a, 'video');
    const bVideo = publish(p.b, 'video');
    await settled(p);
    assert.ok(p.a.negotiator.ignoredOffers + p.b.negotiator.rollbacks >= 1, 'glare happened');
    assert.ok(p.b.tracks.includes(aVideo[0].id));
    assert.ok(p.a.tracks.includes(bVideo[0].id));
    assertNoErrors(p.a);
    assertNoErrors(p.b);
  });

  it('buffers candidates that arrive before the remote description', async () => {
    // Descriptions are slow on the wire, candidates fast: the answerer sees
    // the offerer's candidates first.
    const p = pair('alice', 'bob', data => (data.type === 'candidate' ? 0 : 40));
    publish(p.a, 'video');
    await waitFor(() => count(p.a, 'candidate') === 2, 'offerer candidates sent');
    await sleep(10);
    assert.equal(p.b.pc.remoteDescription, null, 'offer not yet delivered');
    assert.equal(p.b.pc.addedCandidates.length, 0, 'nothing added without a remote description');
    await settled(p);
    assert.equal(p.b.pc.addedCandidates.length, 2, 'buffered candidates applied');
    const firstAdd = p.b.pc.log.indexOf('addIceCandidate');
    assert.ok(firstAdd > p.b.pc.log.indexOf('srd:offer'), 'added only after the offer');
    assert.equal(p.b.pc.connectionState, 'connected');
    assertNoErrors(p.a);
    assertNoErrors(p.b);
  });

  it('reports a bad candidate when not ignoring an offer', async () => {
    const p = pair('alice', 'bob');
    publish(p.a, 'video');
    await settled(p);
    await p.b.negotiator.handleSignal({
      type: 'candidate',
      candidate: { candidate: 'candidate:9', sdpMid: '0', usernameFragment: 'someone-else' }
    });
    assert.equal(p.b.errors.length, 1);
    assert.equal((p.b.errors[0] as Error).name, 'OperationError');
  });

  it('ignores a stale answer instead of failing', async () => {
    const p = pair('alice', 'bob');
    publish(p.a, 'video');
    await settled(p);
    await p.a.negotiator.handleSignal({ type: 'answer', sdp: p.b.pc.localDescription!.sdp });
    assert.equal(p.a.pc.signalingState, 'stable');
    assertNoErrors(p.a);
  });

  it('close() sends bye and both sides tear down', async () => {
    const p = pair('alice', 'bob');
    publish(p.a, 'audio', 'video');
    await settled(p);

    p.a.negotiator.close();
    p.a.negotiator.close(); // idempotent
    assert.equal(count(p.a, 'bye'), 1);
    assert.equal(p.a.negotiator.isClosed, true);
    assert.equal(p.a.pc.signalingState, 'closed');
    assert.deepEqual(p.a.closedEvents, [{ remoteId: 'bob', byRemote: false }]);
    assert.equal(p.a.pc.onnegotiationneeded, null, 'handlers detached');

    await waitFor(() => p.b.negotiator.isClosed, 'remote teardown on bye');
    assert.equal(p.b.pc.signalingState, 'closed');
    assert.deepEqual(p.b.closedEvents, [{ remoteId: 'alice', byRemote: true }]);
    assert.equal(count(p.b, 'bye'), 0, 'no bye echoed back');
    assert.equal(p.b.states[p.b.states.length - 1], 'closed');

    // Late signals after teardown are dropped silently.
    await p.b.negotiator.handleSignal({ type: 'offer', sdp: '{}' });
    await p.b.negotiator.handleSignal({ type: 'candidate', candidate: { candidate: 'x' } });
    assertNoErrors(p.a);
    assertNoErrors(p.b);
  });

  it('closing in the middle of a negotiation raises no error', async () => {
    const p = pair('alice', 'bob', () => 20);
    publish(p.a, 'video');
    await waitFor(() => count(p.a, 'offer') === 1, 'offer sent');
    p.b.negotiator.close();
    await sleep(80);
    assert.equal(p.a.negotiator.isClosed, true);
    assert.equal(p.b.negotiator.isClosed, true);
    assertNoErrors(p.a);
    assertNoErrors(p.b);
  });
});

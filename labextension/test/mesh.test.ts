import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import { DEFAULT_MAX_PUBLISHERS, Mesh, mayPublish } from '../src/mesh';
import { SignalData } from '../src/negotiation';
import { FakePeerConnection, FakeStream, FakeTrack, sleep, waitFor } from './fake-rtc';

interface Sent {
  to: string;
  data: SignalData;
}

/** A room of meshes wired through a fake signaling server. */
function room(ids: string[]) {
  const meshes = new Map<string, Mesh>();
  const sent: Record<string, Sent[]> = {};
  const pcs: Record<string, FakePeerConnection[]> = {};
  const errors: unknown[] = [];
  for (const id of ids) {
    sent[id] = [];
    pcs[id] = [];
    const mesh = new Mesh({
      localId: id,
      createPeerConnection: () => {
        const pc = new FakePeerConnection(id);
        pcs[id].push(pc);
        return pc as unknown as RTCPeerConnection;
      },
      send: (to, data) => {
        sent[id].push({ to, data });
        const wire = JSON.parse(JSON.stringify(data)) as SignalData;
        setTimeout(() => void meshes.get(to)?.handleSignal(id, wire), 3);
      }
    });
    mesh.errorOccurred.connect(ev => errors.push(ev.error));
    meshes.set(id, mesh);
  }
  return { meshes, sent, pcs, errors };
}

describe('mayPublish', () => {
  it('caps publishers at max_publishers (default 6)', () => {
    assert.equal(DEFAULT_MAX_PUBLISHERS, 6);
    assert.equal(mayPublish(0, 6), true);
    assert.equal(mayPublish(5, 6), true);
    assert.equal(mayPublish(6, 6), false);
    assert.equal(mayPublish(10, 6), false);
    assert.equal(mayPublish(0, 0), false);
  });
});

describe('Mesh', () => {
  it('keeps one connection per remote member and never one to itself', () => {
    const { meshes } = room(['m1']);
    const mesh = meshes.get('m1')!;
    const added: string[] = [];
    mesh.peerAdded.connect(ev => added.push(ev.remoteId));
    mesh.addMember({ id: 'm1', name: 'me' });
    mesh.addMember({ id: 'm2', name: 'Two' });
    mesh.addMember({ id: 'm2', name: 'Two again' });
    mesh.addMember({ id: 'm3', name: 'Three' });
    assert.deepEqual(mesh.peerIds.sort(), ['m2', 'm3']);
    assert.deepEqual(added, ['m2', 'm3']);
    assert.equal(mesh.peer('m2')!.polite, false);
    mesh.dispose();
  });

  it('connects publishers and receive-only members both ways', async () => {
    const { meshes, pcs, errors } = room(['alice', 'bob', 'carol']);
    const aliceTracks = [new FakeTrack('audio'), new FakeTrack('video')];
    meshes.get('alice')!.publish(new FakeStream(aliceTracks) as unknown as MediaStream);
    const received: Record<string, string[]> = { alice: [], bob: [], carol: [] };
    for (const [id, mesh] of meshes) {
      mesh.trackAdded.connect(ev => received[id].push(`${ev.remoteId}:${ev.track.id}`));
    }
    // Everyone learns about everyone (attach snapshot + member_joined).
    for (const [id, mesh] of meshes) {
      for (const other of meshes.keys()) {
        if (other !== id) {
          mesh.addMember({ id: other, name: other.toUpperCase() });
        }
      }
    }
    await waitFor(
      () => received.bob.length === 2 && received.carol.length === 2,
      'receive-only members get alice'
    );
    // bob starts publishing later: alice and carol get his track.
    const bobVideo = new FakeTrack('video');
    meshes.get('bob')!.publish(new FakeStream([bobVideo]) as unknown as MediaStream);
    await waitFor(
      () =>
        received.alice.includes(`bob:${bobVideo.id}`) && received.carol.includes(`bob:${bobVideo.id}`),
      "bob's late video"
    );
    await sleep(30);
    for (const list of Object.values(pcs)) {
      for (const pc of list) {
        assert.equal(pc.signalingState, 'stable');
      }
    }
    assert.deepEqual(errors, []);
    for (const mesh of meshes.values()) {
      mesh.dispose();
    }
  });

  it('replaces the video track for a screen share without renegotiating', async () => {
    const { meshes, sent, errors } = room(['alice', 'bob']);
    const camera = new FakeTrack('video');
    const alice = meshes.get('alice')!;
    alice.publish(new FakeStream([new FakeTrack('audio'), camera]) as unknown as MediaStream);
    alice.addMember({ id: 'bob', name: 'Bob' });
    meshes.get('bob')!.addMember({ id: 'alice', name: 'Alice' });
    await waitFor(() => alice.peer('bob')!.pc.connectionState === 'connected', 'connected');
    await sleep(20);
    const offersBefore = sent.alice.filter(s => s.data.type === 'offer').length;
    const screen = new FakeTrack('video');
    await alice.setVideoTrack(screen as unknown as MediaStreamTrack);
    const pc = alice.peer('bob')!.pc as unknown as FakePeerConnection;
    assert.ok(pc.senders.some(s => s.track === screen));
    assert.ok(!pc.senders.some(s => s.track === camera));
    await alice.setVideoTrack(camera as unknown as MediaStreamTrack);
    assert.ok(pc.senders.some(s => s.track === camera));
    await sleep(20);
    assert.equal(sent.alice.filter(s => s.data.type === 'offer').length, offersBefore);
    assert.deepEqual(errors, []);
    alice.dispose();
    meshes.get('bob')!.dispose();
  });

  it('removes peers on member_left, bye and dispose; creates one on an unknown offer', async () => {
    const { meshes, sent, errors } = room(['alice', 'bob']);
    const alice = meshes.get('alice')!;
    const bob = meshes.get('bob')!;
    const removed: string[] = [];
    bob.peerRemoved.connect(ev => removed.push(`${ev.remoteId}:${ev.byRemote}`));
    alice.publish(new FakeStream([new FakeTrack('video')]) as unknown as MediaStream);
    // Only alice knows about bob: bob learns of alice from her offer.
    alice.addMember({ id: 'bob', name: 'Bob' });
    await waitFor(() => bob.peerIds.includes('alice'), 'bob creates a peer for an unknown offerer');
    await waitFor(() => alice.peer('bob')!.pc.connectionState === 'connected', 'connected');

    // Alice's view goes away: bye reaches bob, who drops the peer.
    alice.removeMember('bob');
    assert.deepEqual(alice.peerIds, []);
    assert.equal(sent.alice.filter(s => s.data.type === 'bye').length, 1);
    await waitFor(() => bob.peerIds.length === 0, 'bob drops alice on bye');
    assert.deepEqual(removed, ['alice:true']);

    // A bye from a stranger is ignored.
    await bob.handleSignal('nobody', { type: 'bye' });
    assert.deepEqual(bob.peerIds, []);

    // syncMembers after a re-attach drops the absent, adds the new.
    bob.addMember({ id: 'dave', name: 'Dave' });
    bob.syncMembers([
      { id: 'bob', name: 'Bob' },
      { id: 'erin', name: 'Erin' }
    ]);
    assert.deepEqual(bob.peerIds, ['erin']);

    bob.dispose();
    assert.deepEqual(bob.peerIds, []);
    assert.ok(sent.bob.some(s => s.to === 'erin' && s.data.type === 'bye'));
    await bob.handleSignal('alice', { type: 'offer', sdp: '{}' });
    assert.deepEqual(bob.peerIds, [], 'a disposed mesh accepts nothing');
    assert.deepEqual(errors, []);
    alice.dispose();
  });

  it('replaces a stale connection when the remote comes back as a new session', async () => {
    const { meshes, pcs, errors } = room(['alice', 'bob']);
    const alice = meshes.get('alice')!;
    const aliceVideo = new FakeTrack('video');
    alice.publish(new FakeStream([aliceVideo]) as unknown as MediaStream);
    alice.addMember({ id: 'bob', name: 'Bob' });
    meshes.get('bob')!.addMember({ id: 'alice', name: 'Alice' });
    await waitFor(() => alice.peer('bob')!.pc.connectionState === 'connected', 'first session');
    const stale = alice.peer('bob')!;

    // Bob's page reloads: his old mesh vanishes without a bye.
    const bob2 = new Mesh({
      localId: 'bob',
      createPeerConnection: () => {
        const pc = new FakePeerConnection('bob2');
        pcs.bob.push(pc);
        return pc as unknown as RTCPeerConnection;
      },
      send: (to, data) => {
        const wire = JSON.parse(JSON.stringify(data)) as SignalData;
        setTimeout(() => void meshes.get(to)?.handleSignal('bob', wire), 3);
      }
    });
    meshes.set('bob', bob2);
    const got: string[] = [];
    bob2.trackAdded.connect(ev => got.push(ev.track.id));
    bob2.addMember({ id: 'alice', name: 'Alice' });

    await waitFor(() => got.includes(aliceVideo.id), "the new session receives alice's video");
    await waitFor(
      () => alice.peer('bob')!.pc.connectionState === 'connected',
      'alice reconnected to the new session'
    );
    assert.notEqual(alice.peer('bob'), stale);
    assert.equal(stale.isClosed, true);
    assert.deepEqual(
      errors.map(e => (e as Error).name),
      ['InvalidAccessError'],
      'only the stale offer failure'
    );
    alice.dispose();
    bob2.dispose();
  });

  it('is not stuck by operations left pending when a connection closed', async () => {
    const { meshes, errors } = room(['alice', 'bob']);
    const alice = meshes.get('alice')!;
    const bob = meshes.get('bob')!;
    alice.publish(new FakeStream([new FakeTrack('video')]) as unknown as MediaStream);
    let first = true;
    bob.peerAdded.connect(() => {
      if (first) {
        first = false;
        // Close while the incoming offer is being applied: that operation
        // never settles.
        setTimeout(() => bob.removeMember('alice'), 0);
      }
    });
    alice.addMember({ id: 'bob', name: 'Bob' });
    await waitFor(() => !first && alice.peerIds.length === 0, "alice gets bob's bye");

    // Alice tries again: bob must answer on a fresh connection.
    alice.addMember({ id: 'bob', name: 'Bob' });
    await waitFor(
      () => bob.peer('alice')?.pc.connectionState === 'connected',
      'bob connected again'
    );
    assert.deepEqual(errors, []);
    alice.dispose();
    bob.dispose();
  });
});

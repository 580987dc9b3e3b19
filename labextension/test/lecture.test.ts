import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import { DEFAULT_POLICY, mayPublishUnder, readPolicy, tileRole, tileShown, toggled } from '../src/lecture';

describe('lecture controls (pure)', () => {
  it('reads the policy of an ack or an event, defaults for what is missing or malformed', () => {
    assert.deepEqual(readPolicy(undefined), DEFAULT_POLICY);
    assert.deepEqual(readPolicy({ students_publish: false }), { students_publish: false, lecture: false });
    assert.deepEqual(readPolicy({ room_id: 'r1', students_publish: false, lecture: true }), {
      students_publish: false,
      lecture: true
    });
    assert.deepEqual(readPolicy({ students_publish: 'no', lecture: 1 }), DEFAULT_POLICY);
  });

  it('lets the host publish always, students only when the policy says so', () => {
    const closed = { students_publish: false, lecture: false };
    assert.equal(mayPublishUnder(closed, true), true);
    assert.equal(mayPublishUnder(closed, false), false);
    assert.equal(mayPublishUnder(DEFAULT_POLICY, false), true);
  });

  it("puts the host's tile large and the others in a strip in the lecture layout only", () => {
    const lecture = { students_publish: true, lecture: true };
    assert.equal(tileRole('m-host', 'm-host', lecture), 'main');
    assert.equal(tileRole('m-bob', 'm-host', lecture), 'strip');
    assert.equal(tileRole('', '', lecture), 'strip'); // not attached yet: nobody is the host
    assert.equal(tileRole('m-host', 'm-host', DEFAULT_POLICY), 'grid');
  });

  it("hides a tile while its member may not publish, never the host's", () => {
    const closed = { students_publish: false, lecture: true };
    assert.equal(tileShown('m-host', 'm-host', closed), true);
    assert.equal(tileShown('m-bob', 'm-host', closed), false);
    assert.equal(tileShown('m-bob', 'm-host', DEFAULT_POLICY), true);
  });

  it('a control sends only the field it toggles', () => {
    assert.deepEqual(toggled(DEFAULT_POLICY, 'lecture'), { lecture: true });
    assert.deepEqual(toggled(DEFAULT_POLICY, 'students_publish'), { students_publish: false });
  });
});

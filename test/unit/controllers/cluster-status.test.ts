import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterReasons, decideClusterStatus } from '../../../src/controllers/cluster-status.js';
import { cluster } from '../../helpers/fixtures.js';

const T = Date.parse('2026-01-01T00:00:00Z');

describe('decideClusterStatus (pure)', () => {
  it('keeps the agent’s fields and sets phase, Prod count and the Ready and Schedulable conditions', () => {
    const c = { ...cluster('tokyo', { capacity: 2 }), status: { phase: 'Unknown' as const, prods: 0, conditions: [], lastHeartbeat: '2026-01-01T00:00:00Z', serverVersion: 'v1.30' } };
    const s = decideClusterStatus(c, 'Ready', 1, T);
    assert.equal(s.phase, 'Ready');
    assert.equal(s.prods, 1);
    assert.equal(s.lastHeartbeat, '2026-01-01T00:00:00Z');
    assert.equal(s.serverVersion, 'v1.30');
    assert.equal(s.conditions.find((x) => x.type === 'Ready')?.reason, clusterReasons.HeartbeatFresh);
    assert.equal(s.conditions.find((x) => x.type === 'Schedulable')?.status, 'True');
  });

  it('is not schedulable at capacity, nor when NotReady (that reason first)', () => {
    const c = cluster('tokyo', { capacity: 2 });
    assert.equal(decideClusterStatus(c, 'Ready', 2, T).conditions.find((x) => x.type === 'Schedulable')?.reason, clusterReasons.AtCapacity);
    const notReady = decideClusterStatus(c, 'NotReady', 0, T);
    assert.equal(notReady.conditions.find((x) => x.type === 'Schedulable')?.reason, 'NotReady');
    assert.equal(notReady.conditions.find((x) => x.type === 'Ready')?.reason, clusterReasons.HeartbeatMissed);
  });

  it('keeps a condition’s transition time while it holds (a pass that changes nothing writes nothing)', () => {
    const c = cluster('tokyo');
    const first = decideClusterStatus(c, 'Ready', 0, T);
    const again = decideClusterStatus({ ...c, status: first }, 'Ready', 0, T + 60_000);
    assert.deepEqual(again, first);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterSupportColumn, clusterSupportCondition, eksCalendar, eksSupportWarning } from '../../../src/lifecycle/eks-calendar.js';

const day = (s: string) => new Date(`${s}T12:00:00Z`);
const eks = (version: string) => ({ spec: { provider: 'eks' as const, version, region: 'ap-northeast-1', capacity: { prods: 10 }, cordoned: false, draining: false, heartbeatGraceMs: 3000 } });

describe('EKS support calendar', () => {
  it('ships 1.28 to 1.34 at least, with extended support 12 months after standard', () => {
    for (const v of ['1.28', '1.29', '1.30', '1.31', '1.32', '1.33', '1.34']) {
      const e = eksCalendar[v];
      assert.ok(e, v);
      const std = new Date(e.endOfStandardSupport);
      const ext = new Date(e.endOfExtendedSupport);
      assert.equal(ext.getUTCFullYear() - std.getUTCFullYear(), 1, v);
    }
  });

  it('levels: ok, warning within 60 days, error in extended support and after it', () => {
    assert.equal(eksSupportWarning('1.33', day('2026-01-01')).level, 'ok');
    const w = eksSupportWarning('1.33', day('2026-06-15'));
    assert.equal(w.level, 'warning');
    assert.match(w.message, /standard support ends 2026-07-29 \(44d\)/);
    const ext = eksSupportWarning('1.31', day('2026-10-01'));
    assert.equal(ext.level, 'error');
    assert.equal(ext.reason, 'ExtendedSupportEnding');
    assert.equal(eksSupportWarning('1.28', day('2026-01-01')).reason, 'Unsupported');
    assert.equal(eksSupportWarning('1.99', day('2026-01-01')).level, 'unknown');
    assert.equal(eksSupportWarning('1.20', day('2026-01-01')).level, 'error');
  });

  it('column and condition only for eks clusters with a version', () => {
    assert.equal(clusterSupportColumn({ spec: { ...eks('1.33').spec, provider: 'local' } }, day('2026-06-15')), '');
    assert.equal(clusterSupportColumn(eks('1.33'), day('2026-06-15')), 'WARN std ends 2026-07-29 (44d)');
    assert.equal(clusterSupportColumn(eks('1.34'), day('2026-01-01')), 'until 2026-12-02');
    assert.equal(clusterSupportCondition(eks('1.29'), day('2026-01-01'))?.status, 'False');
  });
});

/** What a gate check concludes, and why. Pure data shared by the gate evaluators and the controller. */
import type { Gate } from '../../api/kinds/release.js';

export const GateOutcome = ['pass', 'fail', 'inconclusive'] as const;
export type GateOutcome = (typeof GateOutcome)[number];

export interface GateResult {
  gate: Gate['type'];
  outcome: GateOutcome;
  reason: string;
}

export interface GateVerdict {
  outcome: GateOutcome;
  results: GateResult[];
  /** One line for decisions and events: the failing (else inconclusive, else passing) results. */
  reason: string;
}

/** fail beats inconclusive beats pass: one failing gate is enough to roll back. */
export function combine(results: GateResult[]): GateVerdict {
  const worst: GateOutcome = results.some((r) => r.outcome === 'fail')
    ? 'fail'
    : results.some((r) => r.outcome === 'inconclusive')
      ? 'inconclusive'
      : 'pass';
  const shown = worst === 'pass' ? results : results.filter((r) => r.outcome === worst);
  const reason = shown.length === 0 ? 'no gates configured' : shown.map((r) => `${r.gate}: ${r.reason}`).join('; ');
  return { outcome: worst, results, reason };
}

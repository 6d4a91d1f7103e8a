/** Text views of release plans and progress for the CLI (pure, so they are tested without a server). */
import type { Release } from '../../api/kinds/release.js';
import { waveProgress } from '../../api/release-progress.js';
import { formatAge, formatTable } from './table.js';
import type { WavePlan } from '../../release/plan-waves.js';

export function formatPlan(plan: WavePlan, fleet: string, version: string): string {
  const rows = plan.waves.map((w) => [String(w.index), w.riskClass, w.prods.join(','), String(w.tenants.length), String(w.users)]);
  const head = `Release plan for fleet ${fleet} → ${version}: ${plan.waves.length} waves, ${plan.totalUsers} users (few users: ≤ ${Math.floor(plan.fewUsersThreshold)})\n`;
  return head + formatTable(['WAVE', 'RISK', 'PRODS', 'TENANTS', 'USERS'], rows);
}

export function formatStatus(r: Release, now = Date.now(), lastDecisions = 5): string {
  const st = r.status;
  const waves = st?.waves ?? [];
  const progress = waveProgress(r);
  const lines = [
    `Release ${r.metadata.name}: fleet ${r.spec.fleet} ${st?.fromVersion ?? '?'} → ${r.spec.version}`,
    `Phase: ${st?.phase ?? 'Pending'}${r.spec.paused ? ' (paused)' : ''}   Waves: ${progress.passed}/${progress.total} passed   Current: ${progress.current ?? '-'}`,
    ...(st?.message ? [`Message: ${st.message}`] : []),
    '',
  ];
  const rows = waves.map((w) => [
    `${w.index === progress.current ? '▶' : ' '}${w.index}`,
    w.riskClass,
    w.prods.join(','),
    w.replacements.join(',') || '-',
    String(w.users),
    w.state,
    w.reason ?? '',
  ]);
  const table = formatTable(['WAVE', 'RISK', 'PRODS', 'NEW', 'USERS', 'STATE', 'REASON'], rows);
  const decisions = (st?.decisions ?? []).slice(-lastDecisions).map((d) => `  ${formatAge(d.time, now).padStart(4)} ago  ${d.action.padEnd(12)} ${d.reason}`);
  return lines.join('\n') + table + (decisions.length ? `\nDecisions (last ${decisions.length}):\n${decisions.join('\n')}\n` : '');
}

/** The status in one line, for piped `release status -w` (one line per change). */
export function statusLine(r: Release): string {
  const st = r.status;
  const p = waveProgress(r);
  const last = st?.decisions?.at(-1);
  return [
    `release/${r.metadata.name}`,
    `phase=${st?.phase ?? 'Pending'}${r.spec.paused ? ',paused' : ''}`,
    `waves=${p.passed}/${p.total}`,
    `current=${p.current ?? '-'}`,
    ...(last ? [`last=${last.action}: ${last.reason}`] : []),
  ].join(' ');
}

/** `-o json|yaml` of `release plan`: the plan with what it is for. */
export function planDocument(plan: WavePlan, fleet: string, version: string): { kind: 'ReleasePlan'; fleet: string; version: string } & WavePlan {
  return { kind: 'ReleasePlan', fleet, version, ...plan };
}

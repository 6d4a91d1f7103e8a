/** Text views of migration plans and progress for the CLI (pure; zod-free: types only). */
import type { Migration } from '../../api/kinds/migration.js';
import { migrationStepProgress } from '../../api/migration-progress.js';
import type { MigrationPlan } from '../migration-operations.js';
import { formatAge, formatTable } from './table.js';

const BAR = 20;

/** `[██████░░░░]` for a share 0–100. */
export function bar(percent: number, width = BAR): string {
  const full = Math.max(0, Math.min(width, Math.round((percent / 100) * width)));
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}]`;
}

const pct = (x: number) => `${Number.isInteger(x) ? x : x.toFixed(2)} %`;

export function formatMigrationPlan(p: MigrationPlan): string {
  const who = p.selection.all ? `every tenant (${p.selection.tenants.length}) and requests matching none` : `${p.selection.tenants.length} tenant(s)`;
  const head = `Migration plan for fleet ${p.fleet} (${p.mode} mode): ${who}, ${p.selection.users} users\n`;
  const rows = p.steps.map((s) => [
    String(s.index + 1),
    pct(s.weight),
    p.mode === 'tenants' ? s.moves.join(',') || '-' : p.selection.all ? 'all' : p.selection.tenants.map((t) => t.name).join(','),
    String(s.usersOnFleet),
  ]);
  return head + formatTable(['STEP', 'WEIGHT', p.mode === 'tenants' ? 'MOVES' : 'TENANTS', 'USERS ON FLEET'], rows);
}

/** The status block: one progress bar per step, the tenants (tenants mode), the last decisions. */
export function formatMigrationStatus(m: Migration, now = Date.now(), lastDecisions = 5): string {
  const st = m.status;
  const phase = st?.phase ?? 'Pending';
  const p = migrationStepProgress(m);
  const lines = [
    `Migration ${m.metadata.name}: fleet ${m.spec.fleet} ← ${m.spec.legacy.endpoints.map((e) => e.url).join(', ')} (${m.spec.mode} mode, ${m.spec.target.type})`,
    `Phase: ${phase}${m.spec.paused ? ' (paused)' : ''}   Steps: ${p.passed}/${p.total} passed   Weight: ${bar(st?.weight ?? 0)} ${pct(st?.weight ?? 0)} on the fleet`,
    ...(st?.message ? [`Message: ${st.message}`] : []),
    ...(st?.lastError ? [`Last error: ${st.lastError.code}: ${st.lastError.message}${st.lastError.permanent ? ' (permanent)' : ''}`] : []),
    ...(st?.target?.drift ? [`Drift: ${st.target.drift}`] : []),
    '',
  ];
  const current = phase === 'Progressing' || phase === 'Paused' ? (st?.step ?? 0) : undefined;
  const rows = m.spec.steps.map((w, i) => {
    const passed = phase === 'Succeeded' || (st?.step ?? 0) > i;
    const state = passed ? 'Passed' : i === current ? (phase === 'Paused' ? 'Paused' : st?.bakeStartedAt ? 'Baking' : 'Applying') : phase === 'RolledBack' && i === st?.step ? 'Failed' : phase === 'Aborted' && i === st?.step ? 'Aborted' : 'Pending';
    const moves = m.spec.mode === 'tenants' ? (st?.tenants ?? []).filter((t) => t.step === i).map((t) => t.name).join(',') || '-' : '';
    return [`${i === current ? '▶' : ' '}${i + 1}`, bar(w, 10), pct(w), state, ...(m.spec.mode === 'tenants' ? [moves] : [])];
  });
  const table = formatTable(['STEP', 'PROGRESS', 'WEIGHT', 'STATE', ...(m.spec.mode === 'tenants' ? ['MOVES'] : [])], rows);
  const decisions = (st?.decisions ?? []).slice(-lastDecisions).map((d) => `  ${formatAge(d.time, now).padStart(4)} ago  ${d.action.padEnd(17)} ${d.reason}`);
  return lines.join('\n') + table + (decisions.length ? `\nDecisions (last ${decisions.length}):\n${decisions.join('\n')}\n` : '');
}

/** One line, for piped `migration status -w`. */
export function migrationStatusLine(m: Migration): string {
  const st = m.status;
  const p = migrationStepProgress(m);
  const last = st?.decisions?.at(-1);
  return [
    `migration/${m.metadata.name}`,
    `phase=${st?.phase ?? 'Pending'}${m.spec.paused ? ',paused' : ''}`,
    `steps=${p.passed}/${p.total}`,
    `weight=${st?.weight ?? 0}`,
    ...(last ? [`last=${last.action}: ${last.reason}`] : []),
  ].join(' ');
}

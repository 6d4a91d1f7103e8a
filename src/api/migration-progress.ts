/**
 * Zod-free facts about a Migration's progress, shared by the controller, admission and the CLI's views
 * (which load no schemas). kinds/migration.ts re-exports these.
 */

export const finishedMigrationPhases = ['Succeeded', 'RolledBack', 'Aborted'] as const;

/** Structural, so the CLI can pass what it read without the schema. */
export interface MigrationLike {
  metadata: { name: string; deletionTimestamp?: string | undefined };
  spec: { steps?: readonly number[]; mode?: string; paused?: boolean };
  status?: { phase?: string; step?: number; weight?: number } | undefined;
}

export function isMigrationFinished(m: { status?: { phase?: string } | undefined }): boolean {
  return (finishedMigrationPhases as readonly string[]).includes(m.status?.phase ?? '');
}

/** Moving users (or about to): the state in which it owns its tenants' routing to the legacy side. */
export function isMigrationActive(m: { metadata: { deletionTimestamp?: string | undefined }; status?: { phase?: string } | undefined }): boolean {
  return !isMigrationFinished(m) && !m.metadata.deletionTimestamp;
}

/** "2/5" steps passed, for `get migrations` and `migration status`. */
export function migrationStepProgress(m: MigrationLike): { passed: number; total: number } {
  const total = m.spec.steps?.length ?? 0;
  const phase = m.status?.phase ?? 'Pending';
  if (phase === 'Succeeded') return { passed: total, total };
  return { passed: Math.min(m.status?.step ?? 0, total), total };
}

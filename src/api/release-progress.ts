/**
 * Where a Release stands (finished or not, waves passed), without its schema: the CLI's tables and
 * `release status` read it with no zod loaded. kinds/release.ts re-exports these.
 */
// Structural types, not kinds/release.ts's: that module re-exports these (no import cycle).
type FinishedPhase = 'Succeeded' | 'RolledBack' | 'Failed' | 'Aborted';
interface ReleaseProgress {
  status?: { phase?: string; currentWave?: number; waves?: readonly { state: string }[] } | undefined;
}

/**
 * The one definition of "release finished": after these phases a Release no longer owns its fleet's
 * version or successors, takes no action, and another Release of the fleet may start. Every reader (the
 * release and fleet controllers, the CLI) asks `isReleaseFinished`.
 */
export const finishedReleasePhases: readonly FinishedPhase[] = ['Succeeded', 'RolledBack', 'Failed', 'Aborted'];
const finished = new Set<string>(finishedReleasePhases);
export function isReleaseFinished(r: { status?: { phase?: string } | undefined } | string): boolean {
  return finished.has(typeof r === 'string' ? r : (r.status?.phase ?? 'Pending'));
}
export const isReleaseActive = (r: { status?: { phase?: string } | undefined }): boolean => !isReleaseFinished(r);

/**
 * The one wave counter every view shows (`get releases`, `release status`): waves passed of all waves,
 * and the index of the wave in flight (undefined once the release has finished or before it planned).
 */
export function waveProgress(r: ReleaseProgress): { passed: number; total: number; current: number | undefined } {
  const waves = r.status?.waves ?? [];
  const passed = waves.filter((w) => w.state === 'Passed').length;
  const cur = r.status?.currentWave ?? 0;
  return { passed, total: waves.length, current: isReleaseFinished(r) || cur >= waves.length ? undefined : cur };
}

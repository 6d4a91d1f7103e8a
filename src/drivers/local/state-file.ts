/**
 * The local driver's memory across agent restarts: for each Prod, which process runs it. An agent that
 * starts again reads this to re-adopt its live workloads instead of starting duplicates, and
 * `drover chaos kill-cluster` reads it to kill the workloads of a "lost" cluster.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ensurePrivateDir } from '../../store/private-files.js';

export const WorkloadRecord = z.object({
  prod: z.string(),
  fleet: z.string(),
  version: z.string(),
  pid: z.number().int(),
  /** The process group to signal: the workload's leader started a group of its own. */
  pgid: z.number().int(),
  /** Kernel start time of the pid, so a reused pid is never mistaken for ours. */
  startTicks: z.number().int().optional(),
  port: z.number().int(),
  healthPath: z.string().default('/healthz'),
  startedAt: z.string(),
  restarts: z.number().int(),
  /** Hash of what was started (command, args, env, version): a different hash means replace. */
  specHash: z.string(),
});
export type WorkloadRecord = z.infer<typeof WorkloadRecord>;

const StateFile = z.object({ version: z.literal(1), workloads: z.array(WorkloadRecord) });

export function stateFilePath(stateDir: string): string {
  return join(stateDir, 'workloads.json');
}

export function readState(stateDir: string): WorkloadRecord[] {
  let text: string;
  try {
    text = readFileSync(stateFilePath(stateDir), 'utf8');
  } catch {
    return [];
  }
  const parsed = StateFile.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data.workloads : [];
}

/** Atomic replace (write then rename), so a crash mid-write leaves the previous file intact. */
export function writeState(stateDir: string, workloads: WorkloadRecord[]): void {
  ensurePrivateDir(stateDir);
  const path = stateFilePath(stateDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: 1, workloads }, null, 2), { mode: 0o600 });
  renameSync(tmp, path);
}

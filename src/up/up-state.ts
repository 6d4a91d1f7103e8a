/**
 * `<data>/up.json`: what a running `drover up` owns, so that the next `drover up` on the same data dir
 * can tell whether one is still running, and adopt (or end) what a crashed one left: its agents, its edge,
 * the example legacy backend, and through the agents' own state files, their workloads. Written atomically (0600) on every change;
 * removed after a clean stop, when nothing it lists is left.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';

const Proc = z.object({ pid: z.number().int(), startTicks: z.number().int().optional() });

export const UpState = z.object({
  version: z.literal(1),
  up: Proc,
  /** The API the agents and the edge were told (their --server). */
  apiUrl: z.string(),
  apiPort: z.number().int(),
  /** SHA-256 of the admin token they were given (never the token itself). */
  tokenDigest: z.string(),
  edge: Proc.extend({ port: z.number().int(), adminPort: z.number().int() }).optional(),
  agents: z.record(Proc).default({}),
  /** The example legacy backend (`up` of the shipped example file, unless --no-legacy). */
  legacy: Proc.extend({ port: z.number().int() }).optional(),
});
export type UpState = z.infer<typeof UpState>;

export function upStatePath(dataDir: string): string {
  return join(dataDir, 'up.json');
}

export function readUpState(dataDir: string): UpState | undefined {
  try {
    const parsed = UpState.safeParse(JSON.parse(readFileSync(upStatePath(dataDir), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function writeUpState(dataDir: string, state: UpState): void {
  const path = upStatePath(dataDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(tmp, path);
}

export function removeUpState(dataDir: string): void {
  rmSync(upStatePath(dataDir), { force: true });
}

export function tokenDigest(token: string | undefined): string {
  return createHash('sha256').update(token ?? '').digest('hex');
}

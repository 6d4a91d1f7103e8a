/**
 * GitSource controller (key: GitSource name): every `interval`, `git ls-remote` the remote, pick the
 * newest tag matching the glob (or the branch head, version = short sha), and create one Release per
 * new ref. `status.lastRef` (`<ref>@<sha>`) makes that at most once per ref across restarts, and the
 * Release name is derived from the source and version, so a crash between creating the Release and
 * writing the status does not create a second one. Errors go to status.message and a Warning event,
 * then the error is thrown so the manager retries with its backoff.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { API_VERSION, durationMs } from '../api/meta.js';
import type { GitSource } from '../api/kinds/git-source.js';
import type { Release } from '../api/kinds/release.js';
import { ANNOTATION_GIT_REF, LABEL_GITSOURCE } from '../api/labels.js';
import { isDroverError } from '../errors.js';
import { parseLsRemote, pickBranch, pickTag, type Pick } from '../gitsource/refs.js';
import type { ReconcileContext, Reconciler, Result } from '../runtime/reconciler.js';
import { mutateStatus } from '../store/mutate.js';
import { reader } from './reads.js';

const run = promisify(execFile);

export const GitSourceEvent = ['ReleaseCreated', 'PollFailed', 'NoMatch'] as const;
export type GitSourceEvent = (typeof GitSourceEvent)[number];


export interface GitSourceControllerOptions {
  now?: () => number;
  gitTimeoutMs?: number;
  /** Binary to run (tests may point at a specific git). */
  git?: string;
}

export async function lsRemote(url: string, mode: 'tags' | 'heads', opts: { timeoutMs?: number; git?: string } = {}): Promise<string> {
  const { stdout } = await run(opts.git ?? 'git', ['ls-remote', `--${mode}`, url], {
    timeout: opts.timeoutMs ?? 15_000,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

export function releaseNameFor(source: string, version: string): string {
  const v = version.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
  return `${source.slice(0, 62 - Math.min(v.length, 30))}-${v.slice(0, 30)}`.replace(/-+$/, '');
}

export function gitSourceController(opts: GitSourceControllerOptions = {}): Reconciler {
  const now = opts.now ?? Date.now;
  return {
    name: 'gitsource',
    watches: [{ kind: 'GitSource' }],
    resyncMs: 60_000,
    listKeys: async (ctx) => (await reader(ctx).list('GitSource')).map((g) => g.metadata.name),
    reconcile: (ctx, key) => reconcile(ctx, key),
  };

  async function reconcile(ctx: ReconcileContext, name: string): Promise<Result> {
    const gs = await reader(ctx).get('GitSource', name);
    if (!gs) return {};
    const interval = durationMs(gs.spec.interval);
    const st = { conditions: [], ...gs.status };
    const specChanged = st.observedGeneration !== gs.metadata.generation;
    if (!specChanged && st.lastPoll && st.message === undefined) {
      const wait = Date.parse(st.lastPoll) + interval - now();
      if (wait > 0) return { requeueAfterMs: wait };
    }
    const writeStatus = async (patch: Partial<NonNullable<GitSource['status']>>) => {
      await mutateStatus<GitSource>(ctx.store, 'GitSource', name, (fresh) => {
        fresh.status = { ...st, ...patch, observedGeneration: gs.metadata.generation, lastPoll: new Date(now()).toISOString() };
      });
    };

    let pick: Pick | undefined;
    try {
      const out = await lsRemote(gs.spec.url, gs.spec.tags ? 'tags' : 'heads', { timeoutMs: opts.gitTimeoutMs ?? 15_000, ...(opts.git ? { git: opts.git } : {}) });
      const refs = parseLsRemote(out);
      pick = gs.spec.tags ? pickTag(refs, gs.spec.tags) : pickBranch(refs, gs.spec.branch ?? '');
    } catch (e) {
      const msg = `git ls-remote ${gs.spec.url} failed: ${(e instanceof Error ? e.message : String(e)).split('\n')[0] ?? ''}`;
      await writeStatus({ message: msg });
      await ctx.recordEvent(gs, 'Warning', 'PollFailed' satisfies GitSourceEvent, msg);
      throw new Error(msg, { cause: e });
    }

    if (!pick) {
      const msg = gs.spec.tags ? `no tag matches "${gs.spec.tags}"` : `branch "${gs.spec.branch ?? ''}" not found`;
      if (st.message !== msg) await ctx.recordEvent(gs, 'Warning', 'NoMatch' satisfies GitSourceEvent, msg);
      await writeStatus({ message: msg });
      return { requeueAfterMs: interval };
    }
    const ref = `${pick.ref}@${pick.sha}`;
    if (ref === st.lastRef) {
      await writeStatus({ message: undefined });
      return { requeueAfterMs: interval };
    }

    const relName = releaseNameFor(name, pick.version);
    const release: Release = {
      apiVersion: API_VERSION,
      kind: 'Release',
      metadata: {
        name: relName,
        labels: { [LABEL_GITSOURCE]: name },
        annotations: { [ANNOTATION_GIT_REF]: ref },
        finalizers: [],
        ownerReferences: gs.metadata.uid ? [{ apiVersion: API_VERSION, kind: 'GitSource', name, uid: gs.metadata.uid }] : [],
      },
      spec: {
        fleet: gs.spec.fleet,
        version: pick.version,
        maxParallel: gs.spec.release.maxParallel,
        bake: gs.spec.release.bake,
        gates: gs.spec.release.gates ?? [{ type: 'errorRate', max: 0.01, minRequests: 20 }],
        warmup: { requests: 3 },
        autoRollback: true,
        env: {},
        paused: false,
        action: 'none',
      },
    };
    let created = true;
    try {
      await ctx.store.create(release);
    } catch (e) {
      if (!isDroverError(e, 'DROVER_E_ALREADY_EXISTS')) throw e;
      created = false;
    }
    await writeStatus({ lastRef: ref, lastVersion: pick.version, lastRelease: relName, message: undefined });
    if (created) await ctx.recordEvent(gs, 'Normal', 'ReleaseCreated' satisfies GitSourceEvent, `${pick.ref} (${pick.sha.slice(0, 7)}) → Release ${relName} of fleet ${gs.spec.fleet} at ${pick.version}`);
    return { requeueAfterMs: interval };
  }
}

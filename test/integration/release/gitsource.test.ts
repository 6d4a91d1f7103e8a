/** GitSource controller against a real local git repository (skips loudly without `git`). */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { API_VERSION } from '../../../src/api/meta.js';
import type { GitSource } from '../../../src/api/kinds/git-source.js';
import { gitSourceController } from '../../../src/controllers/gitsource-controller.js';
import { parseLsRemote, pickTag } from '../../../src/gitsource/refs.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { Clock, testContext } from '../../unit/release/sim.js';

const hasGit = spawnSync('git', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = hasGit ? false : 'SKIPPED: `git` is missing — install the Debian package "git" (scripts/test.mjs does it as root)';
if (skip) console.warn(`\n!!! gitsource.test.ts ${skip}\n`);

describe('GitSource controller with a real git repository', { skip }, () => {
  let repo = '';
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', ...args], {
      cwd: repo,
      encoding: 'utf8',
    }).trim();
  const commit = (msg: string) => {
    writeFileSync(join(repo, 'file.txt'), msg);
    git('add', '.');
    git('commit', '-qm', msg);
    return git('rev-parse', 'HEAD');
  };

  before(() => {
    repo = mkdtempSync(join(tmpdir(), 'drover-git-'));
    git('init', '-q');
    commit('one');
    git('tag', 'v1.2.0');
    git('tag', 'v1.10.0');
    git('tag', '-a', 'v1.9.0', '-m', 'annotated');
    git('tag', 'other-9.9.9');
  });
  after(() => rmSync(repo, { recursive: true, force: true }));

  const source = (name: string, spec: Partial<GitSource['spec']>): GitSource => ({
    apiVersion: API_VERSION,
    kind: 'GitSource',
    metadata: { name, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
    spec: { fleet: 'shop', url: repo, interval: '30s', release: { maxParallel: 2, bake: '10s' }, ...spec },
  });
  const releases = async (store: MemoryStore) => (await store.list('Release')).items;

  it('picks the newest semver tag (not the newest name) and peels annotated tags', () => {
    const refs = parseLsRemote(execFileSync('git', ['ls-remote', '--tags', repo], { encoding: 'utf8' }));
    assert.equal(pickTag(refs, 'v*')?.version, 'v1.10.0');
    const annotated = refs.find((r) => r.ref === 'refs/tags/v1.9.0');
    assert.equal(annotated?.sha, git('rev-parse', 'HEAD'), 'the peeled commit, not the tag object');
  });

  it('creates one Release per new tag, never twice, also after a restart', async () => {
    const store = new MemoryStore();
    const clock = new Clock();
    const ctx = testContext(store);
    await store.create(source('web-tags', { tags: 'v*' }));
    await gitSourceController({ now: clock.now }).reconcile(ctx, 'web-tags');
    let rels = await releases(store);
    assert.deepEqual(rels.map((r) => [r.metadata.name, r.spec.version, r.spec.maxParallel]), [['web-tags-v1-10-0', 'v1.10.0', 2]]);
    assert.equal((await store.get('GitSource', 'web-tags'))?.status?.lastVersion, 'v1.10.0');

    // Next poll after the interval, by a fresh controller (a restart): nothing new.
    clock.t += 31_000;
    const restarted = gitSourceController({ now: clock.now });
    const res = await restarted.reconcile(ctx, 'web-tags');
    assert.equal(res.requeueAfterMs, 30_000);
    assert.equal((await releases(store)).length, 1);

    commit('two');
    git('tag', 'v2.0.0');
    clock.t += 31_000;
    await restarted.reconcile(ctx, 'web-tags');
    rels = await releases(store);
    assert.deepEqual(rels.map((r) => r.spec.version).sort(), ['v1.10.0', 'v2.0.0']);
    assert.equal(ctx.events.filter((e) => e.reason === 'ReleaseCreated').length, 2);
  });

  it('releases a branch head as its short sha', async () => {
    const store = new MemoryStore();
    const clock = new Clock();
    const ctx = testContext(store);
    await store.create(source('web-main', { branch: 'main', interval: '5s' }));
    const c = gitSourceController({ now: clock.now });
    await c.reconcile(ctx, 'web-main');
    const head = git('rev-parse', 'HEAD');
    assert.deepEqual((await releases(store)).map((r) => r.spec.version), [head.slice(0, 7)]);
    const next = commit('three');
    clock.t += 6000;
    await c.reconcile(ctx, 'web-main');
    assert.deepEqual((await releases(store)).map((r) => r.spec.version).sort(), [head.slice(0, 7), next.slice(0, 7)].sort());
  });

  it('reports an unreachable remote in status and a Warning event, and throws for a retry', async () => {
    const store = new MemoryStore();
    const ctx = testContext(store);
    await store.create(source('broken', { tags: 'v*', url: join(repo, 'does-not-exist') }));
    await assert.rejects(gitSourceController().reconcile(ctx, 'broken'), /git ls-remote .* failed/);
    assert.match((await store.get('GitSource', 'broken'))?.status?.message ?? '', /failed/);
    assert.ok(ctx.events.some((e) => e.type === 'Warning' && e.reason === 'PollFailed'));
    assert.equal((await releases(store)).length, 0);
  });
});

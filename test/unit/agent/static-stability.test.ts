/** The agent keeps its workloads while the control plane is unreachable, and catches up when it is back. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Agent } from '../../../src/agent/agent.js';
import type { AnyResource } from '../../../src/api/resource.js';
import { LocalDriver } from '../../../src/drivers/local/local-driver.js';
import { isAlive } from '../../../src/drivers/local/process-table.js';
import { readState } from '../../../src/drivers/local/state-file.js';
import { DroverError } from '../../../src/errors.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import type { ListOptions, ListResult, Store, WatchEvent, WatchOptions } from '../../../src/store/store.js';
import { exampleAppPath, fleet, prod } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

/** A Store whose every call fails while `down`, as a RemoteStore does when the server is gone. */
class FlakyStore implements Store {
  down = false;
  failures = 0;
  constructor(private readonly inner: Store) {}
  private check(): void {
    if (this.down) {
      this.failures++;
      throw new DroverError('DROVER_E_UNAVAILABLE', 'control plane unreachable (test)');
    }
  }
  async get<T extends AnyResource = AnyResource>(kind: string, name: string): Promise<T | undefined> {
    this.check();
    return this.inner.get<T>(kind, name);
  }
  async list<T extends AnyResource = AnyResource>(kind: string, opts?: ListOptions): Promise<ListResult<T>> {
    this.check();
    return this.inner.list<T>(kind, opts);
  }
  async create<T extends AnyResource>(obj: T): Promise<T> {
    this.check();
    return this.inner.create(obj);
  }
  async update<T extends AnyResource>(obj: T): Promise<T> {
    this.check();
    return this.inner.update(obj);
  }
  async updateStatus<T extends AnyResource>(obj: T): Promise<T> {
    this.check();
    return this.inner.updateStatus(obj);
  }
  async delete<T extends AnyResource = AnyResource>(kind: string, name: string, opts?: { resourceVersion?: string }): Promise<T> {
    this.check();
    return this.inner.delete<T>(kind, name, opts);
  }
  async *watch(opts: WatchOptions): AsyncIterable<WatchEvent> {
    this.check();
    for await (const ev of this.inner.watch(opts)) {
      this.check();
      yield ev;
    }
  }
  async revision(): Promise<string> {
    this.check();
    return this.inner.revision();
  }
  async close(): Promise<void> {}
}

const dir = mkdtempSync(join(tmpdir(), 'drover-static-'));
const inner = new MemoryStore();
const store = new FlakyStore(inner);
let agent: Agent | undefined;

after(async () => {
  store.down = false;
  await agent?.stop();
  await inner.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Agent static stability', () => {
  it('keeps serving while the control plane is down, then applies what changed meanwhile', async () => {
    const driver = await LocalDriver.open({ stateDir: dir, healthIntervalMs: 50 });
    agent = new Agent({ store, driver, cluster: { name: 'osaka' }, heartbeatMs: 100, resyncMs: 100, log: () => {} });
    await agent.start();
    await inner.create(fleet('web', { app: { command: process.execPath, args: [exampleAppPath] }, prods: 1, warmup: { requests: 2 } }));
    await inner.create(prod('web-1', { fleet: 'web', cluster: 'osaka' }));
    const p = await waitFor('Ready', async () => {
      const x = await inner.get('Prod', 'web-1');
      return x?.status?.phase === 'Ready' && x;
    });
    const pid = readState(dir)[0]!.pid;

    store.down = true;
    // Passes and heartbeats keep failing (state, not time: wait for a good number of failed calls).
    await waitFor('failed calls while down', () => store.failures >= 20, { timeoutMs: 15_000 });
    assert.ok(isAlive(pid), 'the workload still runs');
    assert.equal((await fetch(`${p.status?.endpoint}/healthz`)).status, 200);

    // Meanwhile the Prod is deleted; the agent learns it only when the control plane is back.
    await inner.delete('Prod', 'web-1');
    assert.ok(isAlive(pid));
    store.down = false;
    await waitFor('workload stopped after reconnecting', () => !isAlive(pid) && readState(dir).length === 0);
  });
});

/**
 * Least privilege for local workloads: the process of a Prod sees only its declared environment, a few
 * basics and Drover's four variables — never the agent's token or anything else the agent was given.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LocalDriver } from '../../../src/drivers/local/local-driver.js';
import { readState } from '../../../src/drivers/local/state-file.js';
import { basicEnvNames, droverEnvNames, workloadEnv } from '../../../src/drivers/local/workload-env.js';
import { exampleAppPath, fleet as fleetDoc, prod } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

const dir = mkdtempSync(join(tmpdir(), 'drover-env-'));
let driver: LocalDriver | undefined;

after(async () => {
  if (driver) for (const name of await driver.list()) await driver.retire(name);
  rmSync(dir, { recursive: true, force: true });
});

function environOf(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) out.set(kv.slice(0, i), kv.slice(i + 1));
  }
  return out;
}

describe('workload environment', () => {
  it('a Prod process gets its declared env, the basics and PORT/PROD_NAME/FLEET/VERSION only: no DROVER_TOKEN', async () => {
    const saved = { token: process.env.DROVER_TOKEN, other: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.DROVER_TOKEN = 'admin-token-of-the-agent';
    process.env.AWS_SECRET_ACCESS_KEY = 'not-for-apps';
    try {
      driver = await LocalDriver.open({ stateDir: dir, healthIntervalMs: 50 });
      const fleet = fleetDoc('web', { app: { command: 'node', args: [exampleAppPath], env: { GREETING: 'hi', PORT: '1' } }, prods: 1, warmup: { requests: 2 } });
      await driver.apply(prod('web-a', { fleet: 'web', cluster: 'c1', version: 'v3', env: { REGION_HINT: 'tokyo' } }), fleet);
      const obs = await waitFor('Running', async () => {
        const o = await driver!.observe('web-a');
        return o.state === 'Running' && o;
      });
      const pid = readState(dir).find((r) => r.prod === 'web-a')?.pid;
      assert.ok(pid !== undefined);
      const env = environOf(pid);
      assert.equal(env.has('DROVER_TOKEN'), false, 'no admin token');
      assert.equal(env.has('AWS_SECRET_ACCESS_KEY'), false, 'nothing else from the agent');
      assert.equal(env.get('GREETING'), 'hi');
      assert.equal(env.get('REGION_HINT'), 'tokyo');
      assert.equal(env.get('PROD_NAME'), 'web-a');
      assert.equal(env.get('FLEET'), 'web');
      assert.equal(env.get('VERSION'), 'v3');
      assert.equal(env.get('PORT'), new URL(obs.endpoint!).port, 'Drover\'s PORT wins over a declared one');
      const allowed = new Set<string>([...basicEnvNames, ...droverEnvNames, 'GREETING', 'REGION_HINT']);
      const extra = [...env.keys()].filter((k) => !allowed.has(k) && !k.startsWith('LC_'));
      assert.deepEqual(extra, [], 'only allowed variables');
    } finally {
      for (const [k, v] of [['DROVER_TOKEN', saved.token], ['AWS_SECRET_ACCESS_KEY', saved.other]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('passes PATH so that a command given by name starts, and the declared env overrides the basics', () => {
    const env = workloadEnv({ HOME: '/srv/app' }, { prod: 'p', fleet: 'f', version: 'v1', port: 5 }, { PATH: '/usr/bin', HOME: '/root', LC_ALL: 'C', DROVER_TOKEN: 't', DROVER_SERVER: 's' });
    assert.deepEqual(env, { PATH: '/usr/bin', HOME: '/srv/app', LC_ALL: 'C', PORT: '5', PROD_NAME: 'p', FLEET: 'f', VERSION: 'v1' });
  });
});

/**
 * The edge's listeners on a port another process holds: a catalogued DROVER_E_PORT_IN_USE that names the
 * flag and the fix (it was a bare EADDRINUSE), from the library and from `drover edge` as a process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { Edge } from '../../../src/edge/edge.js';
import { StaticPlanSource } from '../../../src/edge/plan-source.js';
import { isDroverError } from '../../../src/errors.js';
import { endpoint, plan } from '../../conformance/edge/harness.js';
import { repoRoot, requireBuild, tempDir } from '../server/harness.js';

describe('edge listeners on a taken port', () => {
  let holder: net.Server;
  let taken = 0;
  const p = plan({ endpoints: [endpoint('web-1', 'http://127.0.0.1:9', 'tokyo')], groups: [{ domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'web-1', weight: 1 }] }] });

  before(async () => {
    holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    taken = (holder.address() as net.AddressInfo).port;
  });
  after(async () => {
    await new Promise((r) => holder.close(r));
  });

  it('the proxy port: DROVER_E_PORT_IN_USE naming --listen and the fix', async () => {
    const edge = new Edge({ source: new StaticPlanSource([p]), listen: { host: '127.0.0.1', port: taken }, adminListen: false });
    try {
      await assert.rejects(edge.start(), (e: unknown) => {
        assert.ok(isDroverError(e, 'DROVER_E_PORT_IN_USE'), String(e));
        assert.equal(e.field, '--listen');
        assert.equal(e.message, `cannot listen on 127.0.0.1:${taken} (--listen): address already in use`);
        assert.equal(e.fix, `stop the process that holds port ${taken}, or pick another --listen (port 0 picks a free one)`);
        return true;
      });
    } finally {
      await edge.stop();
    }
  });

  it('the admin port: DROVER_E_PORT_IN_USE naming --admin-listen', async () => {
    const edge = new Edge({ source: new StaticPlanSource([p]), listen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: taken } });
    try {
      await assert.rejects(edge.start(), (e: unknown) => {
        assert.ok(isDroverError(e, 'DROVER_E_PORT_IN_USE'), String(e));
        assert.equal(e.field, '--admin-listen');
        return true;
      });
    } finally {
      await edge.stop();
    }
  });

  it('drover edge exits non-zero with the catalogued message, field and fix', async () => {
    requireBuild();
    const file = join(tempDir(), 'plan.yaml');
    writeFileSync(file, stringify({ apiVersion: 'drover.dev/v1alpha1', kind: 'TrafficPlan', metadata: { name: 'web' }, spec: p }));
    const proc = spawn(process.execPath, [join(repoRoot, 'bin', 'drover.js'), 'edge', '--plan-file', file, '--listen', `:${taken}`], {
      env: { ...process.env, DROVER_CONFIG: join(tempDir(), 'none.yaml') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    const [code] = (await once(proc, 'exit')) as [number | null];
    clearTimeout(timer);
    assert.notEqual(code, 0, out);
    assert.notEqual(code, null, `drover edge did not exit by itself:\n${out}`);
    assert.match(out, new RegExp(`error: cannot listen on 127\\.0\\.0\\.1:${taken} \\(--listen\\): address already in use`));
    assert.match(out, /field: --listen/);
    assert.match(out, new RegExp(`fix: stop the process that holds port ${taken}, or pick another --listen`));
    assert.doesNotMatch(out, /listening on/);
  });
});

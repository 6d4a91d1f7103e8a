import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { credentialStrings, scrub } from '../../../../src/drivers/kubernetes/credentials.js';

describe('scrub', () => {
  it('removes the kubeconfig user\'s token, password and exec env values wherever they appear', () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://k8s.example.com' }],
      users: [{ name: 'u', token: 'tok-1234567890', password: 'hunter2-but-longer', exec: { command: 'aws', env: [{ name: 'AWS_SECRET', value: 'aws-secret-value-xyz' }] } }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
    const secrets = credentialStrings(kc);
    const out = scrub('sent tok-1234567890 with hunter2-but-longer and aws-secret-value-xyz', secrets);
    assert.equal(out, 'sent [redacted] with [redacted] and [redacted]');
  });

  it('removes bearer tokens and basic-auth URLs it was not told about', () => {
    assert.equal(scrub('Authorization: Bearer abcdefghijklmnop', []), 'Authorization: Bearer [redacted]');
    assert.equal(scrub('GET https://admin:pa55word@k8s.example.com/api', []), 'GET https://[redacted]@k8s.example.com/api');
  });
});

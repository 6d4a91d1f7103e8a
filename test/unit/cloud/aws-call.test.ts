import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { awsCall, AwsCallError, CallMeter, classifyAwsError } from '../../../src/cloud/aws-call.js';
import { diffStates, driftOf, formatChanges } from '../../../src/cloud/state.js';
import { awsError } from './fake-aws.js';

describe('awsCall: one retry policy for every AWS call', () => {
  it('classifies throttling, transient (incl. GA\'s HTTP-400 internal error), credentials and permanent errors', () => {
    assert.equal(classifyAwsError(awsError('ThrottlingException', 'Rate exceeded')), 'throttling');
    assert.equal(classifyAwsError(awsError('PriorRequestNotComplete', 'The request was rejected because Route 53 was still processing a prior request.')), 'throttling');
    assert.equal(classifyAwsError(awsError('InternalServiceErrorException', 'There was an internal error for AWS Global Accelerator.', 400)), 'transient');
    assert.equal(classifyAwsError(awsError('TransactionInProgressException', 'There\'s already a transaction in progress.', 400)), 'transient');
    assert.equal(classifyAwsError(awsError('ServiceUnavailable', 'unavailable', 503, 'server')), 'transient');
    assert.equal(classifyAwsError(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })), 'credentials');
    assert.equal(classifyAwsError(awsError('AccessDeniedException', 'not authorized')), 'permanent');
    assert.equal(classifyAwsError(awsError('ListenerNotFoundException', "The listener that you specified doesn't exist.")), 'permanent');
  });

  it('retries with capped, jittered exponential backoff, counts every attempt, and gives up with AwsCallError', async () => {
    const waits: number[] = [];
    const meter = new CallMeter();
    let n = 0;
    const ok = await awsCall(meter, 'ListEndpointGroups', 'read', async () => {
      if (++n < 3) throw awsError('ThrottlingException', 'Rate exceeded');
      return 'done';
    }, { attempts: 6, baseMs: 100, capMs: 150, sleep: async (ms) => void waits.push(ms), random: () => 0.999 });
    assert.equal(ok, 'done');
    assert.equal(meter.reads, 3);
    assert.equal(meter.retries, 2);
    assert.ok(waits[0]! <= 100 && waits[1]! <= 150 && waits[1]! > 100, `full jitter under base·2^n, capped: ${waits.join(',')}`);

    const denied = awsCall(meter, 'UpdateEndpointGroup', 'write', () => Promise.reject(awsError('AccessDeniedException', 'not authorized')), { attempts: 6, baseMs: 1, capMs: 1, sleep: async () => {} });
    await assert.rejects(denied, (e: unknown) => e instanceof AwsCallError && e.code === 'AccessDeniedException' && e.attempts === 1 && e.errorClass === 'permanent');
    assert.equal(meter.writes, 1, 'a permanent error is not retried');
  });
});

describe('cloud state: diff, drift, terraform-style text', () => {
  it('diffs resources field by field and prints + ~ - with from → to', () => {
    const from = { 'endpointGroup/a': { trafficDial: 100, 'weight[x]': 128 }, 'endpointGroup/gone': { trafficDial: 1 } };
    const to = { 'endpointGroup/a': { trafficDial: 100, 'weight[x]': 0 }, 'endpointGroup/new': { trafficDial: 50 } };
    const changes = diffStates(from, to);
    assert.deepEqual(changes.map((c) => `${c.action} ${c.resource}`), ['update endpointGroup/a', 'delete endpointGroup/gone', 'create endpointGroup/new']);
    assert.equal(formatChanges(changes), ['~ endpointGroup/a', '    weight[x]: 128 → 0', '- endpointGroup/gone', '    trafficDial: 1 → (none)', '+ endpointGroup/new', '    trafficDial: (none) → 50'].join('\n'));
  });

  it('drift is what Drover wrote that AWS now holds differently; fields Drover never set are not drift', () => {
    const applied = { 'endpointGroup/a': { trafficDial: 100, 'weight[x]': 128 } };
    assert.deepEqual(driftOf(applied, { 'endpointGroup/a': { trafficDial: 100, 'weight[x]': 128, 'weight[other]': 5 } }), []);
    assert.deepEqual(driftOf(applied, { 'endpointGroup/a': { trafficDial: 40, 'weight[x]': 128 } }), [{ action: 'update', resource: 'endpointGroup/a', fields: [{ name: 'trafficDial', from: 100, to: 40 }] }]);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeDeployment, KubePod } from '../../../../src/drivers/kubernetes/kube-shapes.js';
import { podWaitingReason, rolloutState, serverVersion } from '../../../../src/drivers/kubernetes/observe.js';

const deployment = (generation: number, replicas: number, status: Record<string, unknown>) =>
  KubeDeployment.parse({ metadata: { name: 'app', generation }, spec: { replicas }, status });

describe('rolloutState', () => {
  it('waits for the controller to observe the latest generation before trusting replica counts', () => {
    assert.equal(rolloutState(deployment(3, 1, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 })).state, 'Starting');
  });
  it('waits for old replicas to go even when enough updated ones are available', () => {
    const r = rolloutState(deployment(2, 2, { observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 3 }));
    assert.deepEqual(r, { state: 'Starting', message: '1 old replicas pending termination' });
  });
  it('is Running when every desired replica is updated and available', () => {
    assert.deepEqual(rolloutState(deployment(2, 2, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })), { state: 'Running' });
  });
  it('is Failed with the condition message once the progress deadline is exceeded', () => {
    const r = rolloutState(
      deployment(2, 2, { observedGeneration: 2, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'timed out' }] }),
    );
    assert.deepEqual(r, { state: 'Failed', message: 'rollout stalled: timed out' });
  });
});

describe('serverVersion', () => {
  it('reads major.minor and strips the provider "+"', () => {
    assert.equal(serverVersion({ major: '1', minor: '31+', gitVersion: 'v1.31.4-eks-2d5f260' }), '1.31');
    assert.equal(serverVersion({ major: '1', minor: '29' }), '1.29');
  });
  it('falls back to gitVersion when major/minor are empty', () => {
    assert.equal(serverVersion({ major: '', minor: '', gitVersion: 'v1.30.2+k3s1' }), '1.30');
  });
});

describe('podWaitingReason', () => {
  it('says why a container is not starting, skipping the normal ContainerCreating', () => {
    const pods = [
      KubePod.parse({ metadata: { name: 'a' }, status: { containerStatuses: [{ name: 'app', restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] } }),
      KubePod.parse({ metadata: { name: 'b' }, status: { containerStatuses: [{ name: 'app', restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "acme/web:v9"' } } }] } }),
    ];
    assert.equal(podWaitingReason(pods), 'pod b: ImagePullBackOff: Back-off pulling image "acme/web:v9"');
  });
});

/**
 * The agent's one decision about a Prod's status, as a pure function: from the Prod as stored, what the
 * driver observes of its workload and how far warm-up got, the status the agent should write.
 */
import type { Prod, ProdPhase, ProdStatus } from '../api/kinds/prod.js';
import { ProdStatus as ProdStatusSchema } from '../api/kinds/prod.js';
import type { WorkloadObservation } from '../drivers/driver.js';

export interface WarmupProgress {
  passed: number;
  target: number;
  done: boolean;
}

export function phaseFor(obs: WorkloadObservation, warm: WarmupProgress): ProdPhase {
  switch (obs.state) {
    case 'Absent':
    case 'Starting':
      return 'Provisioning';
    case 'Running':
      return warm.done ? 'Ready' : 'WarmingUp';
    case 'Failed':
      return 'Failed';
    case 'Stopping':
      return 'Draining';
  }
}

/** The status to write for a Prod that should run; only the fields the agent owns change. */
export function runningStatus(prod: Prod, obs: WorkloadObservation, warm: WarmupProgress, now: Date): ProdStatus {
  const prev = prod.status;
  const phase = phaseFor(obs, warm);
  const next: ProdStatus = ProdStatusSchema.parse({
    ...prev,
    observedGeneration: prod.metadata.generation,
    phase,
    restarts: obs.restarts,
    warmupPassed: Math.min(warm.passed, warm.target),
  });
  setOrDelete(next, 'endpoint', obs.endpoint);
  setOrDelete(next, 'version', obs.version ?? prod.spec.version);
  setOrDelete(next, 'readySince', phase === 'Ready' ? (prev?.phase === 'Ready' && prev.readySince ? prev.readySince : now.toISOString()) : undefined);
  setOrDelete(next, 'message', messageFor(phase, obs, warm));
  return next;
}

/** Status for a Prod that is being or has been taken out of service. */
export function retiringStatus(prod: Prod, phase: 'Draining' | 'Retired', message?: string): ProdStatus {
  const next = ProdStatusSchema.parse({ ...prod.status, observedGeneration: prod.metadata.generation, phase });
  if (phase === 'Retired') delete next.endpoint;
  delete next.readySince;
  setOrDelete(next, 'message', message);
  return next;
}

/** The status as it was, with a message saying why it could not be observed afresh. */
export function keptStatus(prod: Prod, message: string): ProdStatus {
  return ProdStatusSchema.parse({ ...prod.status, message });
}

export function failedStatus(prod: Prod, message: string): ProdStatus {
  const next = ProdStatusSchema.parse({ ...prod.status, observedGeneration: prod.metadata.generation, phase: 'Failed', message });
  delete next.endpoint;
  delete next.readySince;
  return next;
}

function messageFor(phase: ProdPhase, obs: WorkloadObservation, warm: WarmupProgress): string | undefined {
  if (phase === 'WarmingUp') return `warming up: ${warm.passed}/${warm.target} answers`;
  if (phase === 'Ready') return undefined;
  return obs.message;
}

function setOrDelete<K extends 'endpoint' | 'version' | 'readySince' | 'message'>(s: ProdStatus, key: K, value: string | undefined): void {
  if (value === undefined) delete s[key];
  else s[key] = value;
}

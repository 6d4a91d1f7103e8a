/**
 * The environment a local workload starts with — least privilege: the agent's own environment holds the
 * admin token (DROVER_TOKEN) and whatever else its operator exported, none of which is the app's business.
 *
 * A workload gets, in this order (later wins):
 * 1. a few basics taken from the agent's environment, only so that a command starts as it would from a
 *    shell: PATH (the command itself, `node` in the example fleet, is looked up on it, and so is anything
 *    the app runs), HOME (runtimes and tools read their config and caches under it), locale and time zone
 *    (LANG, LC_*, TZ: text and dates as the operator sees them), TMPDIR. None of them is a credential.
 * 2. the declared environment (the Fleet's app env, then the Prod's own);
 * 3. Drover's own: PORT, PROD_NAME, FLEET, VERSION.
 * Nothing else: no DROVER_* variable, no cloud credentials, no proxy settings the app did not declare.
 */

/** Variables passed through from the agent's environment when set (plus every LC_* variable). */
export const basicEnvNames = ['PATH', 'HOME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR'] as const;

/** Variables Drover sets itself; a declared variable of the same name is overridden. */
export const droverEnvNames = ['PORT', 'PROD_NAME', 'FLEET', 'VERSION'] as const;

export interface WorkloadIdentity {
  prod: string;
  fleet: string;
  version: string;
  port: number;
}

export function workloadEnv(declared: Readonly<Record<string, string>>, id: WorkloadIdentity, agentEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(agentEnv)) {
    if (v === undefined) continue;
    if ((basicEnvNames as readonly string[]).includes(k) || k.startsWith('LC_')) env[k] = v;
  }
  Object.assign(env, declared);
  env.PORT = String(id.port);
  env.PROD_NAME = id.prod;
  env.FLEET = id.fleet;
  env.VERSION = id.version;
  return env;
}

/**
 * The names of the kinds Drover knows, and the names by which the API and CLI accept them (singular,
 * plural, short, case-insensitive — as kubectl does). No schemas here: the CLI resolves `drover get fl`
 * or builds a URL path without loading zod; the schemas join these names in registry.ts, where
 * validation happens (the server, `drover apply`).
 */
import { DroverError } from '../errors.js';

export interface KindNames {
  kind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  /** Written by controllers only: users may read but not create or change them. */
  systemOwned: boolean;
}

function names<K extends string>(kind: K, plural: string, shortNames: string[], systemOwned = false): KindNames & { kind: K } {
  return { kind, plural, singular: kind.toLowerCase(), shortNames, systemOwned };
}

/** In help and error order; registry.ts gives each one its schema. */
export const kindNames = [
  names('Cluster', 'clusters', ['cl']),
  names('Fleet', 'fleets', ['fl']),
  names('Prod', 'prods', ['pr']),
  names('Tenant', 'tenants', ['tn']),
  names('Release', 'releases', ['rel']),
  names('TrafficPolicy', 'trafficpolicies', ['tp']),
  names('GitSource', 'gitsources', ['gs']),
  names('CloudTraffic', 'cloudtraffics', ['ct']),
  names('LoadBalancerMirror', 'loadbalancermirrors', ['mirror', 'mirrors', 'lbm']),
  names('Migration', 'migrations', ['mig']),
  names('TrafficPlan', 'trafficplans', ['plan'], true),
  names('TrafficRoute', 'trafficroutes', ['route'], true),
  names('Event', 'events', ['ev'], true),
] as const;

/** The `kind` of every entry in kindNames (registry.ts needs a schema for each). */
export type RegisteredKind = (typeof kindNames)[number]['kind'];

const byAnyName = new Map<string, KindNames>();
for (const k of kindNames) {
  for (const n of [k.kind.toLowerCase(), k.plural, k.singular, ...k.shortNames]) byAnyName.set(n, k);
}

/** The kind any of its names (case-insensitive) stands for. */
export function findKind(name: string): KindNames | undefined {
  return byAnyName.get(name.toLowerCase());
}

/** As findKind; an unknown name is DROVER_E_UNKNOWN_KIND listing the kinds. */
export function resolveKind(name: string): KindNames {
  const k = findKind(name);
  if (!k) throw unknownKind(name);
  return k;
}

/** The kind of exactly this `kind` field (e.g. `Fleet`). */
export function kindByKind(kindName: string): KindNames {
  const k = kindNames.find((x) => x.kind === kindName);
  if (!k) throw unknownKind(kindName);
  return k;
}

export function unknownKind(name: string): DroverError {
  const plurals = kindNames.map((k) => k.plural).join(', ');
  return new DroverError('DROVER_E_UNKNOWN_KIND', `unknown kind "${name}"`, {
    field: 'kind',
    fix: `use one of: ${plurals}`,
  });
}

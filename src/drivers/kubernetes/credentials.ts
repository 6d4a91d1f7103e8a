/**
 * Kubeconfig handling. Credentials stay inside the KubeConfig object: they are never copied into a Cluster
 * (which stores only the context name and the kubeconfig path), never logged, and every error message the
 * driver produces goes through `scrub` first.
 */
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { DroverError } from '../../errors.js';

export interface KubeconfigRef {
  context: string;
  /** Path of a kubeconfig file; default $KUBECONFIG (a path list) or ~/.kube/config. */
  kubeconfig?: string;
  /** Which flag or field named the context and file, for error messages (`--context` or `spec.kubernetes.context`). */
  contextField?: string;
  kubeconfigField?: string;
}

export function defaultKubeconfigPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = env.KUBECONFIG?.split(delimiter).filter((p) => p.length > 0) ?? [];
  return fromEnv.length > 0 ? fromEnv : [join(homedir(), '.kube', 'config')];
}

/** Loads the kubeconfig and selects the context, or fails naming the flag and listing the contexts there are. */
export function loadKubeConfig(ref: KubeconfigRef): KubeConfig {
  const contextField = ref.contextField ?? 'spec.kubernetes.context';
  const fileField = ref.kubeconfigField ?? 'spec.kubernetes.kubeconfig';
  const paths = ref.kubeconfig ? [ref.kubeconfig] : defaultKubeconfigPaths();
  const kc = new KubeConfig();
  try {
    // loadFromDefault merges a $KUBECONFIG path list the way kubectl does.
    if (ref.kubeconfig) kc.loadFromFile(ref.kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    // The loader's message names the file and the YAML problem; scrub it anyway, it is user-facing.
    throw new DroverError('DROVER_E_INVALID', `cannot read kubeconfig ${paths.join(delimiter)}: ${scrub(e instanceof Error ? e.message : String(e), [])}`, {
      field: fileField,
      fix: 'pass the path of a readable kubeconfig file (e.g. the one `kind get kubeconfig` prints)',
    });
  }
  const names = kc.getContexts().map((c) => c.name);
  if (!names.includes(ref.context)) {
    throw new DroverError('DROVER_E_INVALID', `context "${ref.context}" is not in kubeconfig ${paths.join(delimiter)}`, {
      field: contextField,
      fix: names.length > 0 ? `use one of: ${names.join(', ')}` : 'that kubeconfig has no contexts; create one with `kubectl config set-context`',
    });
  }
  kc.setCurrentContext(ref.context);
  if (!kc.getCurrentCluster()) {
    throw new DroverError('DROVER_E_INVALID', `context "${ref.context}" names a cluster that the kubeconfig does not define`, {
      field: contextField,
      fix: 'fix the context with `kubectl config set-context`',
    });
  }
  return kc;
}

/** Every credential string of the current user, so `scrub` can remove it wherever it shows up. */
export function credentialStrings(kc: KubeConfig): string[] {
  const user = kc.getCurrentUser();
  if (!user) return [];
  const out = [user.token, user.password, user.keyData, user.certData];
  // authProvider and exec are untyped in client-node: walk them as unknown.
  const provider: unknown = user.authProvider;
  if (isRecord(provider) && isRecord(provider.config)) {
    for (const v of Object.values(provider.config)) if (typeof v === 'string') out.push(v);
  }
  const exec: unknown = user.exec;
  if (isRecord(exec) && Array.isArray(exec.env)) {
    for (const e of exec.env as unknown[]) if (isRecord(e) && typeof e.value === 'string') out.push(e.value);
  }
  // Short strings ("true", a region) are not secrets and replacing them would garble messages.
  return out.filter((s): s is string => typeof s === 'string' && s.length >= 8);
}

const REDACTED = '[redacted]';

/** Removes known credentials and anything that looks like a bearer token or basic-auth URL from a message. */
export function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of secrets) out = out.split(s).join(REDACTED);
  return out
    .replace(/(authorization["']?\s*[:=]\s*["']?)(bearer|basic)\s+[^\s"',}]+/gi, `$1$2 ${REDACTED}`)
    .replace(/\bbearer\s+[A-Za-z0-9\-._~+/]{8,}=*/gi, `Bearer ${REDACTED}`)
    .replace(/(\w+:\/\/)[^/\s:@]+:[^/\s@]+@/g, `$1${REDACTED}@`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

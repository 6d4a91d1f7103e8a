/**
 * The CLI config file: where `drover server` / `drover up` write the API URL and an admin token so that
 * later commands find them. Path: $DROVER_CONFIG, else $XDG_CONFIG_HOME/drover/config.yaml, else
 * ~/.config/drover/config.yaml. Content: YAML `{server, token, ca?, cert?, key?}`; `server` may list
 * several replicas, as `a,b,c` or a YAML list (read back as `a,b,c`).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { DroverError } from '../errors.js';
import { loadYaml } from './lazy-yaml.js';

export interface CliConfig {
  /** One URL, or several as `a,b,c`. */
  server?: string;
  token?: string;
  /** PEM files: the CA of the server's certificate, and this client's certificate and key. */
  ca?: string;
  cert?: string;
  key?: string;
}

const KEYS = ['server', 'token', 'ca', 'cert', 'key'] as const;

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DROVER_CONFIG) return env.DROVER_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'drover', 'config.yaml');
}

export function readConfig(path = configPath()): CliConfig {
  if (!existsSync(path)) return {};
  const text = readFileSync(path, 'utf8');
  const plain = plainConfig(text);
  if (plain) return plain;
  let doc: unknown;
  try {
    doc = loadYaml().parse(text);
  } catch (e) {
    throw new DroverError('DROVER_E_INVALID', `cannot read the CLI config ${path}: ${(e as Error).message}`, {
      fix: `correct or delete ${path}`,
    });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new DroverError('DROVER_E_INVALID', `the CLI config ${path} is not a YAML mapping`, { fix: 'write it as `server: URL` and `token: TOKEN`' });
  }
  const d = doc as Record<string, unknown>;
  const out: CliConfig = {};
  for (const k of KEYS) if (typeof d[k] === 'string') out[k] = d[k];
  if (Array.isArray(d.server)) {
    if (!d.server.every((s): s is string => typeof s === 'string')) {
      throw new DroverError('DROVER_E_INVALID', `the CLI config ${path}: server is a list with an entry that is not a URL`, { field: 'server', fix: 'write `server:` as a URL, `a,b,c`, or a list of URLs' });
    }
    out.server = d.server.join(',');
  }
  return out;
}

/**
 * The file as `writeConfig` writes it — `key: value` lines of plain scalars — read without the YAML
 * parser (every command reads this file; the parser costs more than the command). Any other shape, e.g.
 * hand-edited with quotes, comments or a list, returns undefined and goes through YAML.
 */
function plainConfig(text: string): CliConfig | undefined {
  const out: CliConfig = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^(server|token|ca|cert|key): ([A-Za-z0-9/.][A-Za-z0-9._~:/@%+=,-]*)$/.exec(line);
    if (!m) return undefined;
    out[m[1] as (typeof KEYS)[number]] = m[2]!;
  }
  return out;
}

/** Writes the config (mode 0600: it holds a token). Returns the path written. */
export function writeConfig(cfg: CliConfig, path = configPath()): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, loadYaml().stringify(cfg), { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/**
 * The option-parser kit: one parser per kind of flag value (durations, milliseconds, seconds, counts,
 * ports, HOST:PORT, shares, URLs), each refusing a bad value with the fix. Commander then prints
 *   error: option '--bake <duration>' argument '10parsecs' is invalid. use a duration such as 30s, 5m, 1h or 500ms
 * and exits 1 before the command runs — never a stack of zod JSON from deep inside.
 *
 * `applyOptionKit(program)` attaches them to every command's options, by long flag name first (a few
 * flags have a meaning of their own) and then by the value placeholder, which states the type
 * (`<duration>`, `<ms>`, `<seconds>`, `<n>`, `<port>`, `<host:port>`…). Flags of one meaning have one name
 * and one placeholder across commands (a rule of the CLI), so this table is where that meaning is enforced, and a
 * new command's `--timeout <ms>` is checked without its author doing anything. Parsers return the type
 * the commands already use (numbers for counts and times, the string for durations and addresses).
 */
import { InvalidArgumentError, type Command, type Option } from 'commander';
import { parseHostPort } from '../runtime/http-io.js';

type Parser = (value: string) => unknown;

const DURATION = /^\d+(\.\d+)?(ms|s|m|h)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `30s`, `5m`, `1h`, `500ms` (as Release.spec.bake and every duration field take them). */
export function duration(v: string): string {
  const s = v.trim();
  if (!DURATION.test(s)) throw new InvalidArgumentError(`"${v}" is not a duration; use e.g. 30s, 5m, 1h or 500ms`);
  return s;
}

/** Milliseconds: a whole number (`20000`) or a duration (`20s`). */
export function millis(v: string): number {
  const s = v.trim();
  if (/^\d+$/.test(s) && Number.isSafeInteger(Number(s))) return Number(s);
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s);
  if (m) return Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
  throw new InvalidArgumentError(`"${v}" is not a time in milliseconds; use e.g. 20000 or 20s`);
}

/** Whole seconds (`120`), or a duration rounded up to seconds (`2m`). */
export function seconds(v: string): number {
  const s = v.trim();
  if (/^\d+$/.test(s) && Number.isSafeInteger(Number(s))) return Number(s);
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s);
  if (m) return Math.ceil((Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]) / 1000);
  throw new InvalidArgumentError(`"${v}" is not a number of seconds; use e.g. 120 or 2m`);
}

/** A whole number ≥ 0. */
export function count(v: string): number {
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`"${v}" is not a whole number; use e.g. 4`);
  return n;
}

/** A whole number ≥ 1. */
export function positive(v: string): number {
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`"${v}" is not a whole number of at least 1; use e.g. 2`);
  return n;
}

/** Any finite number ≥ 0 (thresholds, slack). */
export function nonNegative(v: string): number {
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${v}" is not a number ≥ 0; use e.g. 0.1`);
  return n;
}

/** A share between 0 and 1. */
export function share(v: string): number {
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`"${v}" is not a share between 0 and 1; use e.g. 0.01 for 1%`);
  return n;
}

/** A TCP port, 0–65535 (0 picks a free one). */
export function port(v: string): number {
  const n = Number(v.trim());
  if (!/^\d+$/.test(v.trim()) || n > 65535) throw new InvalidArgumentError(`"${v}" is not a port; use 0-65535, e.g. 8080 (0 picks a free one)`);
  return n;
}

/** `HOST:PORT`, `[v6]:PORT`, `:PORT` or a bare port (on 127.0.0.1), read by the one listen-address parser; returned as written. */
export function hostPort(v: string): string {
  try {
    parseHostPort(v, 'HOST:PORT');
  } catch {
    throw new InvalidArgumentError(`"${v}" is not HOST:PORT; use e.g. 127.0.0.1:7400 (port 0 picks a free one)`);
  }
  return v.trim();
}

/** An http(s) URL; a bare `host:port` means http. */
export function url(v: string): string {
  const s = /^https?:\/\//.test(v.trim()) ? v.trim() : `http://${v.trim()}`;
  try {
    const u = new URL(s);
    if (u.hostname) return v.trim();
  } catch {
    // fall through
  }
  throw new InvalidArgumentError(`"${v}" is not a URL; use e.g. http://127.0.0.1:9090`);
}

/** One URL or several, comma-separated (the replicas of a control plane: `--server a,b,c`). */
export function urls(v: string): string {
  const parts = v.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new InvalidArgumentError(`"${v}" has an empty entry; use e.g. http://10.0.0.1:7400,http://10.0.0.2:7400`);
  for (const p of parts) url(p);
  return parts.join(',');
}

/** Synthetic probe requests per second per Prod: 0 (none) to 100. */
export function probeRate(v: string): number {
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100) {
    throw new InvalidArgumentError(`"${v}" is not a rate between 0 and 100; use e.g. 5 (requests/s per new Prod), or 0 to send no probes`);
  }
  return n;
}

/** Flags whose meaning is their own, whatever their placeholder. */
const byFlag: Record<string, Parser> = {
  '--max-parallel': positive,
  '--max-error-rate': share,
  '--promql-max': nonNegative,
  '--epsilon': nonNegative,
  '--probe-rate': probeRate,
};

/** The type a placeholder states. */
const byPlaceholder: Record<string, Parser> = {
  '<duration>': duration,
  '<ms>': millis,
  '<seconds>': seconds,
  '<n>': count,
  '<bytes>': positive,
  '<pid>': positive,
  '<port>': port,
  '<host:port>': hostPort,
  '<share>': share,
  '<url>': url,
  '<urls>': urls,
};

/** The kit's parser for an option, if the kit knows its kind of value. */
export function parserFor(opt: Pick<Option, 'long' | 'flags'>): Parser | undefined {
  if (opt.long && byFlag[opt.long]) return byFlag[opt.long];
  const placeholder = /<[^>]+>/.exec(opt.flags)?.[0];
  return placeholder ? byPlaceholder[placeholder] : undefined;
}

/** Attaches the kit's parsers to the options of `program` and all its subcommands. */
export function applyOptionKit(program: Command): void {
  for (const opt of program.options) {
    const p = parserFor(opt);
    if (p && !opt.variadic) opt.argParser((v: string) => p(v));
  }
  for (const c of program.commands) applyOptionKit(c);
}

/**
 * `-o json|yaml|name` for every command that prints a result, kubectl's way: the default is text for
 * people; json and yaml print the result as data (an object, or a `List` of them); name prints one
 * `kind/name` line per object the result is about. Piped `-w` output is one event per line (see
 * `watchLine`), so that a file or `grep` gets lines, not redrawn screens.
 */
import { Option } from 'commander';
import { loadYaml } from '../lazy-yaml.js';

const stringify = (v: unknown): string => loadYaml().stringify(v);

export const resultFormats = ['json', 'yaml', 'name'] as const;
export type ResultFormat = (typeof resultFormats)[number];

/** The `-o` option of a command whose default output is text. */
export function outputOption(formats: readonly ResultFormat[] = resultFormats): Option {
  return new Option('-o, --output <format>', `${formats.join(', ')} (default: text)`).choices(formats);
}

export interface Result {
  /** What json and yaml print. */
  data: unknown;
  /** What name prints: `kind/name` of each object the result is about. */
  names?: () => readonly string[];
  /** What the default (text) prints. */
  text: () => string;
}

export function renderResult(format: string | undefined, r: Result): string {
  const nl = (s: string) => (s === '' || s.endsWith('\n') ? s : `${s}\n`);
  switch (format) {
    case 'json':
      return `${JSON.stringify(r.data, null, 2)}\n`;
    case 'yaml':
      return stringify(r.data);
    case 'name':
      return (r.names?.() ?? []).map((n) => `${n}\n`).join('');
    default:
      return nl(r.text());
  }
}

/**
 * One watch event as printed with `-w`: json as one compact line, yaml as one document, name as one
 * line; text as `line()` (one line) when stdout is not a terminal, else `block()` (redrawn for people).
 */
export function watchLine(format: string | undefined, r: Result & { line: () => string }, tty: boolean): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(r.data)}\n`;
    case 'yaml':
      return `---\n${stringify(r.data)}`;
    case 'name':
      return (r.names?.() ?? []).map((n) => `${n}\n`).join('');
    default:
      return tty ? r.text() : `${r.line()}\n`;
  }
}

/** A list of results that are not API objects (plans, explanations), as `plan -o json` has printed them. */
export function listOf(items: readonly unknown[]): { kind: 'List'; items: readonly unknown[] } {
  return { kind: 'List', items };
}

/**
 * What of a failed workload's stderr goes into its Prod's status message. The last line is often noise
 * (`Node.js v20.20.2` after every uncaught error, a closing `}`, a stack frame), so the tail is read from
 * the end with that noise dropped, and the last line that says what went wrong — "error", "cannot",
 * "failed"… — is kept with up to two lines after it.
 */

const NOISE: readonly RegExp[] = [
  /^at\s/, // stack frames
  /^Node\.js v\d/, // Node's version footer
  /^\^+$/, // the caret under a source excerpt
  /^[{}[\]()]+$/, // closing braces of an error's printed properties
  /^[\w$]+: ('.*'|".*"|\[.*\]|-?\d+|true|false|null|undefined|\{),?$/, // printed error properties (`code: 'MODULE_NOT_FOUND',`)
  /^node:internal\//, // where Node itself threw
  /^\(Use `node --trace-/, // Node's hint lines
];
const TELLING = /error|exception|fatal|panic|cannot|can't|could not|failed|denied|refused|not found|no such|EADDRINUSE|EACCES|ENOENT/i;
const MAX = 300;

export function stderrTail(text: string): string | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  // A source excerpt is the line just above a caret line.
  const excerpt = new Set<number>();
  lines.forEach((l, i) => /^\^+$/.test(l) && excerpt.add(i - 1));
  const kept = lines.filter((l, i) => !excerpt.has(i) && !NOISE.some((re) => re.test(l)));
  if (kept.length === 0) return lines.at(-1) && shorten(lines.at(-1)!);
  let at = -1;
  for (let i = kept.length - 1; i >= 0 && at < 0; i--) if (TELLING.test(kept[i]!)) at = i;
  const tail = at >= 0 ? kept.slice(at, at + 3) : kept.slice(-3);
  return shorten(tail.join(' | '));
}

function shorten(s: string): string {
  return s.length > MAX ? `${s.slice(0, MAX - 3)}...` : s;
}

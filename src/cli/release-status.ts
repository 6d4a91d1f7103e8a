/**
 * `drover release status NAME [-w]`: the status once, or followed until the release ends. For people at
 * a terminal `-w` redraws the block on every change; piped (a file, `grep`) it prints one line per change,
 * and with `-o json` one compact object per line, so scripts read events instead of screens.
 */
import type { Release } from '../api/kinds/release.js';
import { isReleaseFinished, waveProgress } from '../api/release-progress.js';
import { errors } from '../errors.js';
import type { Store } from '../store/store.js';
import { renderResult, watchLine, type Result } from './format/output.js';
import { formatStatus, statusLine } from './format/release.js';

export interface WatchStatusOptions {
  /** `-o` value: json, yaml, name, or undefined for text. */
  format?: string;
  /** Whether stdout is a terminal (text `-w`: block when true, one line per change when false). Default true. */
  tty?: boolean;
}

function releaseResult(r: Release): Result & { line: () => string } {
  return {
    data: r,
    names: () => [`release/${r.metadata.name}`],
    text: () => formatStatus(r),
    line: () => `${new Date().toISOString()} ${statusLine(r)}`,
  };
}

/** What identifies a change worth printing: the status and the paused flag, not the resourceVersion alone. */
function changeKey(r: Release): string {
  const p = waveProgress(r);
  return JSON.stringify([r.spec.paused, r.spec.action, r.status?.phase, p, r.status?.message, r.status?.waves, r.status?.decisions?.length]);
}

/**
 * Prints the status (and with `watch`, again on every change until the release ends). Exit code: 0
 * unless a watched release ended other than Succeeded.
 */
export async function watchStatus(store: Store, name: string, watch: boolean, write: (s: string) => void, pollMs = 1000, opts: WatchStatusOptions = {}): Promise<number> {
  const tty = opts.tty ?? true;
  let last: string | undefined;
  for (;;) {
    const r = await store.get('Release', name);
    if (!r) throw errors.notFound('Release', name);
    const key = changeKey(r);
    if (!watch) write(renderResult(opts.format, releaseResult(r)));
    else if (key !== last) {
      const text = watchLine(opts.format, releaseResult(r), tty);
      write(tty && opts.format === undefined && last !== undefined ? `\n${text}` : text);
    }
    last = key;
    if (!watch || isReleaseFinished(r)) return r.status?.phase === 'Succeeded' || !watch ? 0 : 1;
    await new Promise((res) => setTimeout(res, pollMs));
  }
}

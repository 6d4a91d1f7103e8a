/**
 * `drover migration status NAME [-w]`: the status once, or followed until the migration ends (a block
 * redrawn at a terminal; one line per change when piped; one JSON object per line with `-o json`).
 */
import type { Migration } from '../api/kinds/migration.js';
import { isMigrationFinished } from '../api/migration-progress.js';
import { errors } from '../errors.js';
import type { Store } from '../store/store.js';
import { renderResult, watchLine, type Result } from './format/output.js';
import { formatMigrationStatus, migrationStatusLine } from './format/migration.js';

function result(m: Migration): Result & { line: () => string } {
  return {
    data: m,
    names: () => [`migration/${m.metadata.name}`],
    text: () => formatMigrationStatus(m),
    line: () => `${new Date().toISOString()} ${migrationStatusLine(m)}`,
  };
}

const changeKey = (m: Migration) => JSON.stringify([m.spec.paused, m.spec.action, m.status?.phase, m.status?.step, m.status?.weight, m.status?.bakeStartedAt !== undefined, m.status?.message, m.status?.decisions?.length]);

/** Exit code: 0 unless a watched migration ended other than Succeeded. */
export async function watchMigrationStatus(store: Store, name: string, watch: boolean, write: (s: string) => void, opts: { format?: string; tty?: boolean; pollMs?: number } = {}): Promise<number> {
  const tty = opts.tty ?? true;
  let last: string | undefined;
  for (;;) {
    const m = await store.get('Migration', name);
    if (!m) throw errors.notFound('Migration', name);
    const key = changeKey(m);
    if (!watch) write(renderResult(opts.format, result(m)));
    else if (key !== last) {
      const text = watchLine(opts.format, result(m), tty);
      write(tty && opts.format === undefined && last !== undefined ? `\n${text}` : text);
    }
    last = key;
    if (!watch || isMigrationFinished(m)) return m.status?.phase === 'Succeeded' || !watch ? 0 : 1;
    await new Promise((res) => setTimeout(res, opts.pollMs ?? 1000));
  }
}

/** How the CLI shows an error: `error: <message>`, then `  field: …` and `  fix: …` when known. */
import { DroverError } from '../errors.js';

export function formatError(e: unknown, context?: string): string {
  const prefix = context ? `${context}: ` : '';
  if (e instanceof DroverError) {
    let out = `error: ${prefix}${e.message}\n`;
    if (e.field) out += `  field: ${e.field}\n`;
    if (e.fix) out += `  fix: ${e.fix}\n`;
    return out;
  }
  return `error: ${prefix}${e instanceof Error ? e.message : String(e)}\n`;
}

/** How the CLI shows an error: `error: <message>`, then `  field: …` and `  fix: …` when known. */
import { ZodError } from 'zod';
import { fromZodError } from '../api/validate.js';
import { DroverError } from '../errors.js';

export function formatError(err: unknown, context?: string): string {
  const prefix = context ? `${context}: ` : '';
  // A schema parse that escaped a command: the field and the fix rather than zod's issue JSON.
  const e = err instanceof ZodError ? fromZodError(err) : err;
  if (e instanceof DroverError) {
    let out = `error: ${prefix}${e.message}\n`;
    if (e.field) out += `  field: ${e.field}\n`;
    if (e.fix) out += `  fix: ${e.fix}\n`;
    return out;
  }
  return `error: ${prefix}${e instanceof Error ? e.message : String(e)}\n`;
}

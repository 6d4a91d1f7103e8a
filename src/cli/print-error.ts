/** How the CLI shows an error: `error: <message>`, then `  field: …` and `  fix: …` when known. */
import type { ZodError } from 'zod';
import { DroverError } from '../errors.js';

/**
 * The text for `err`. A ZodError (a schema parse that escaped a command) shows as the DroverError
 * `parseWith` gives: the field and the fix rather than zod's issue JSON. The converter (and so zod) loads
 * only for such an error: printing "cannot reach the server" after `drover get` loads no schemas.
 */
export async function formatError(err: unknown, context?: string): Promise<string> {
  const prefix = context ? `${context}: ` : '';
  const e = isZodError(err) ? (await import('../api/validate.js')).fromZodError(err) : err;
  if (e instanceof DroverError) {
    let out = `error: ${prefix}${e.message}\n`;
    if (e.field) out += `  field: ${e.field}\n`;
    if (e.fix) out += `  fix: ${e.fix}\n`;
    return out;
  }
  return `error: ${prefix}${e instanceof Error ? e.message : String(e)}\n`;
}

// By shape, not `instanceof ZodError`: that would load zod to print any error.
function isZodError(e: unknown): e is ZodError {
  return e instanceof Error && e.name === 'ZodError' && Array.isArray((e as { issues?: unknown }).issues);
}

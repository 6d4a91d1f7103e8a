/** Words of haproxy.cfg: names it accepts, quoting, comments, and the render-time error. */
import { DroverError } from '../../errors.js';

/** The resolvers section servers with DNS names use. */
export const RESOLVERS = 'drover_dns';
const NAME = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;

export function checkName(n: string, what: string): void {
  if (!NAME.test(n)) throw invalid(`${what} name ${JSON.stringify(n)} is not usable as an HAProxy ${what === 'fleet' ? 'backend' : 'server'} name`, 'use a DNS label (lower-case letters, digits, -)');
}

/** The edge's error body, for HAProxy's own answers. */
export function errorJson(code: string, message: string, fix: string): string {
  return JSON.stringify({ code, message, fix });
}

/** A double-quoted HAProxy word: backslash, double quote and `$` (environment expansion) escaped. */
export function quote(s: string): string {
  if (/[\r\n\0]/.test(s)) throw invalid(`a value for the HAProxy config holds a line break: ${JSON.stringify(s)}`, 'remove line breaks');
  return `"${s.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
}

export function comment(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

export function invalid(message: string, fix: string): DroverError {
  return new DroverError('DROVER_E_INVALID', `cannot render the HAProxy config: ${message}`, { fix });
}

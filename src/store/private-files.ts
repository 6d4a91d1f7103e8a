/**
 * Data directories are private to their user: the database holds every object and the tokens file the
 * admin token. Directories are 0700 and files 0600 — also when they exist already with wider modes (an
 * earlier version, a umask of 022, a copy), which are tightened at start rather than trusted.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `dir` (and missing parents) 0700, and tightens it to 0700 if it existed. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(dir, PRIVATE_DIR_MODE);
}

/** Creates `file` empty with mode 0600 if missing, and tightens it to 0600 if it existed. */
export function ensurePrivateFile(file: string): void {
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  chmodSync(file, PRIVATE_FILE_MODE);
}

/** Tightens `file` to 0600 when it exists; a missing file is not an error. */
export function tightenFile(file: string): void {
  try {
    chmodSync(file, PRIVATE_FILE_MODE);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

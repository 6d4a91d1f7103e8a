/**
 * Reading back what a child process wrote to its log file: its size now (to remember where a start began)
 * and what it wrote since, bounded, for an error or status message. Workloads and the edge of `drover up`
 * both log to files rather than pipes, so that they outlive the process that started them.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The last `maxBytes` (at most) written to `path` after offset `from`, or undefined if nothing was. */
export function readSince(path: string, from: number, maxBytes: number): string | undefined {
  const size = fileSize(path);
  if (size <= from) return undefined;
  const start = Math.max(from, size - maxBytes);
  const buf = Buffer.alloc(size - start);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, buf.length, start);
  } finally {
    closeSync(fd);
  }
  return buf.toString('utf8');
}

/** The control plane's log: one line per entry on stderr, fields as JSON. Tests pass their own. */
export const logLevels = ['info', 'warn', 'error'] as const;
export type LogLevel = (typeof logLevels)[number];
export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
}

export const stderrLogger: Logger = {
  log(level, msg, fields) {
    const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    process.stderr.write(`${new Date().toISOString()} ${level} ${msg}${extra}\n`);
  },
};

export const silentLogger: Logger = { log() {} };

/** Describes an unknown thrown value for a log line. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

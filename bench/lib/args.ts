/** Command-line options of the benchmarks: `--name N`, numbers only. */
const argv = process.argv.slice(2);

/** The number after `--name` on the command line, or `def`. */
export function numberArg(name: string, def: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
}

/** The word after `--name` on the command line, or `def`. */
export function stringArg(name: string, def: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? (argv[i + 1] ?? def) : def;
}

/**
 * `drover __complete WORDS…`, what the completion scripts (completion-scripts.ts) call: the words after
 * `drover`, the last being the one to complete (empty right after a space). Answers one candidate per
 * line: subcommands, flags, `-o` formats, kinds, and names of objects read from the server for the
 * arguments and flags that name them. A server that does not answer gives no names, never an error.
 */
import type { Command, Option } from 'commander';

/** Which kind an argument or flag names, by the command it belongs to. */
function kindOfArgument(path: readonly string[], argName: string, kindArg: string | undefined): string | undefined {
  const [group, sub] = path;
  if (argName === 'kind') return 'kind';
  if (argName === 'name' || argName === 'names') {
    if (group === 'get' || group === 'describe' || group === 'delete') return kindArg;
    if (group === 'release') return 'Release';
    if (group === 'explain' && sub === 'tenant') return 'Tenant';
    if (group === 'chaos' || group === 'cluster') return 'Cluster';
  }
  if (argName === 'fleet') return 'Fleet';
  if (argName === 'old') return 'Cluster';
  return undefined;
}

const kindOfFlag: Record<string, string> = { '--fail-cluster': 'Cluster', '--with': 'Cluster', '--fleet': 'Fleet', '--cluster': 'Cluster' };

function takesValue(o: Option): boolean {
  return o.required || o.optional;
}

function findOption(cmds: readonly Command[], word: string): Option | undefined {
  for (const c of cmds) {
    const o = c.options.find((x) => x.long === word || x.short === word);
    if (o) return o;
  }
  return undefined;
}

/** `buildProgram` comes from main.ts, which loads this module: passed in, so the two do not import each other. */
export async function complete(words: readonly string[], buildProgram: () => Promise<Command>): Promise<string[]> {
  const program = await buildProgram();
  const cur = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  let cmd = program;
  const chain: Command[] = [program];
  const path: string[] = [];
  const operands: string[] = [];
  const conn: { server?: string; token?: string } = {};
  let pendingFlag: Option | undefined;
  for (let i = 0; i < before.length; i++) {
    const w = before[i]!;
    if (w.startsWith('-')) {
      const [flag, inline] = w.split('=', 2) as [string, string | undefined];
      const o = findOption(chain, flag);
      if (o && takesValue(o) && inline === undefined) {
        const v = before[i + 1];
        if (v === undefined) pendingFlag = o;
        else if (o.long === '--server') conn.server = v;
        else if (o.long === '--token') conn.token = v;
        i++;
      } else if (inline !== undefined && (flag === '--server' || flag === '--token')) conn[flag === '--server' ? 'server' : 'token'] = inline;
      continue;
    }
    const sub = operands.length === 0 ? cmd.commands.find((c) => c.name() === w || c.aliases().includes(w)) : undefined;
    if (sub) {
      cmd = sub;
      chain.push(sub);
      path.push(sub.name());
    } else operands.push(w);
  }
  const match = (xs: readonly string[]) => xs.filter((x) => x.startsWith(cur));

  // A flag's value.
  if (pendingFlag) {
    const long = pendingFlag.long ?? '';
    if (long === '--output') return match(pendingFlag.argChoices ?? ['wide', 'json', 'yaml', 'name']);
    if (pendingFlag.argChoices) return match(pendingFlag.argChoices);
    const kind = kindOfFlag[long];
    return kind ? match(await namesOf(kind, conn)) : [];
  }
  if (cur.startsWith('-')) {
    const flags = chain.flatMap((c) => c.options.filter((o) => !o.hidden).flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)));
    return match([...new Set([...flags, '--help'])]);
  }
  const subs = cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden).map((c) => c.name());
  if (subs.length > 0 && operands.length === 0) return match(subs);
  const args = cmd.registeredArguments;
  const arg = args[Math.min(operands.length, args.length - 1)];
  if (!arg || (operands.length >= args.length && !arg.variadic)) return [];
  if (arg.argChoices) return match(arg.argChoices);
  const kind = kindOfArgument(path, arg.name(), operands[0]);
  if (kind === 'kind') {
    const { kindNames } = await import('../api/kind-names.js');
    return match(kindNames.map((k) => k.plural));
  }
  return kind ? match(await namesOf(kind, conn)) : [];
}

/** Names of the objects of `kind` (any name of a kind), or none when the kind is unknown or the server silent. */
async function namesOf(kindName: string, conn: { server?: string; token?: string }): Promise<string[]> {
  try {
    const [{ findKind }, { withStore }] = await Promise.all([import('../api/kind-names.js'), import('./kit.js')]);
    const info = findKind(kindName);
    if (!info) return [];
    let names: string[] = [];
    // A shell waits on this: a server that does not answer within a moment gives no names.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((r) => (timer = setTimeout(r, 2000)));
    await Promise.race([
      withStore(conn, async (store) => {
        names = (await store.list(info.kind)).items.map((o) => o.metadata.name);
      }),
      late,
    ]);
    clearTimeout(timer);
    return names;
  } catch {
    return [];
  }
}

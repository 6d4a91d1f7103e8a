/** Pure pieces of the GitSource controller: parse `git ls-remote`, match tag globs, pick the newest. */

export interface RemoteRef {
  ref: string;
  sha: string;
}

/** `<sha>\t<ref>` lines; for annotated tags the peeled `^{}` line's sha (the commit) wins. */
export function parseLsRemote(out: string): RemoteRef[] {
  const byRef = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [sha, ref] = line.trim().split(/\s+/);
    if (!sha || !ref) continue;
    if (ref.endsWith('^{}')) byRef.set(ref.slice(0, -3), sha);
    else if (!byRef.has(ref)) byRef.set(ref, sha);
  }
  return [...byRef].map(([ref, sha]) => ({ ref, sha }));
}

export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

interface SemVer {
  nums: [number, number, number];
  pre: string | undefined;
}

export function parseSemver(tag: string): SemVer | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(tag);
  if (!m) return undefined;
  return { nums: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] };
}

export function compareSemver(a: SemVer, b: SemVer): number {
  for (let i = 0; i < 3; i++) {
    const d = a.nums[i]! - b.nums[i]!;
    if (d !== 0) return d;
  }
  if (a.pre === b.pre) return 0;
  if (a.pre === undefined) return 1;
  if (b.pre === undefined) return -1;
  return a.pre.localeCompare(b.pre, 'en', { numeric: true });
}

export interface Pick {
  ref: string;
  sha: string;
  version: string;
}

/** Newest tag matching the glob: by semver when any matching tag is one, else by name. */
export function pickTag(refs: readonly RemoteRef[], glob: string): Pick | undefined {
  const re = globToRegExp(glob);
  const tags = refs
    .filter((r) => r.ref.startsWith('refs/tags/'))
    .map((r) => ({ ...r, version: r.ref.slice('refs/tags/'.length) }))
    .filter((t) => re.test(t.version));
  const semver = tags.map((t) => ({ t, v: parseSemver(t.version) })).filter((x): x is { t: (typeof tags)[number]; v: SemVer } => x.v !== undefined);
  if (semver.length > 0) return semver.sort((a, b) => compareSemver(b.v, a.v))[0]?.t;
  return tags.sort((a, b) => b.version.localeCompare(a.version, 'en', { numeric: true }))[0];
}

export function pickBranch(refs: readonly RemoteRef[], branch: string): Pick | undefined {
  const r = refs.find((x) => x.ref === `refs/heads/${branch}`);
  return r && { ...r, version: r.sha.slice(0, 7) };
}

/**
 * Bearer-token authentication with two roles: `admin` (read and write) and `readonly`. Tokens come from
 * DROVER_TOKEN (admin), a token file, or are generated on first start into `<data>/tokens.yaml`.
 * Token file format (YAML): `admin: TOKEN | [TOKEN…]`, `readonly: TOKEN | [TOKEN…]`.
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { DroverError } from '../errors.js';
import { ensurePrivateDir, tightenFile } from '../store/private-files.js';

export const roles = ['admin', 'readonly'] as const;
export type Role = (typeof roles)[number];

export interface TokenGrant {
  token: string;
  role: Role;
}

/** Looks tokens up by their SHA-256, so a lookup does not compare secrets byte by byte. */
export class TokenSet {
  private readonly byHash = new Map<string, { digest: Buffer; role: Role }>();

  constructor(grants: readonly TokenGrant[]) {
    for (const g of grants) {
      if (g.token.length < 8) throw new DroverError('DROVER_E_INVALID', 'a token must have at least 8 characters', { field: 'token', fix: 'use a longer random token' });
      const digest = sha256(g.token);
      this.byHash.set(digest.toString('hex'), { digest, role: g.role });
    }
  }

  get size(): number {
    return this.byHash.size;
  }

  /** Tokens already verified, so that the hot path skips hashing (only valid tokens enter). */
  private readonly verified = new Map<string, Role>();

  roleOf(token: string): Role | undefined {
    const known = this.verified.get(token);
    if (known) return known;
    const digest = sha256(token);
    const hit = this.byHash.get(digest.toString('hex'));
    if (!hit || !timingSafeEqual(hit.digest, digest)) return undefined;
    this.verified.set(token, hit.role);
    return hit.role;
  }

  /** The role of the request's bearer token; throws 401 when there is none or it is unknown. */
  authenticate(req: IncomingMessage): Role {
    const h = req.headers.authorization;
    const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    if (!m) {
      throw new DroverError('DROVER_E_UNAUTHORIZED', 'missing bearer token', {
        fix: 'pass --token (or set DROVER_TOKEN); `drover server` prints where its tokens are',
      });
    }
    const role = this.roleOf(m[1]!);
    if (!role) throw new DroverError('DROVER_E_UNAUTHORIZED', 'invalid bearer token', { fix: 'use a token from the server\'s tokens file or DROVER_TOKEN' });
    return role;
  }
}

export function requireAdmin(role: Role, what: string): void {
  if (role !== 'admin') {
    throw new DroverError('DROVER_E_FORBIDDEN', `a read-only token cannot ${what}`, { fix: 'use an admin token' });
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

export function readTokenFile(path: string): TokenGrant[] {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new DroverError('DROVER_E_INVALID', `cannot read token file ${path}: ${(e as Error).message}`, { fix: 'write it as YAML `admin: TOKEN` and `readonly: TOKEN`' });
  }
  const grants: TokenGrant[] = [];
  const d = (doc && typeof doc === 'object' ? doc : {}) as Record<string, unknown>;
  for (const role of roles) {
    const v = d[role];
    const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : [];
    for (const t of list) if (typeof t === 'string' && t !== '') grants.push({ token: t, role });
  }
  if (grants.length === 0) {
    throw new DroverError('DROVER_E_INVALID', `token file ${path} holds no tokens`, { fix: 'write it as YAML `admin: TOKEN` and `readonly: TOKEN`' });
  }
  return grants;
}

export interface ResolvedTokens {
  grants: TokenGrant[];
  /** An admin token the server's own CLI config can use. */
  adminToken: string | undefined;
  /** Set when tokens were generated on this start. */
  generatedFile?: string;
  /** The file tokens were read from or written to, if any. */
  file?: string;
}

/**
 * DROVER_TOKEN (admin) and/or --token-file; else `<dataDir>/tokens.yaml`, generated (admin + readonly)
 * when it does not exist yet.
 */
export function resolveTokens(opts: { dataDir: string; tokenFile?: string; envToken?: string }): ResolvedTokens {
  const grants: TokenGrant[] = [];
  if (opts.envToken) grants.push({ token: opts.envToken, role: 'admin' });
  let file: string | undefined;
  let generatedFile: string | undefined;
  if (opts.tokenFile) {
    file = opts.tokenFile;
    grants.push(...readTokenFile(opts.tokenFile));
  } else if (!opts.envToken) {
    file = join(opts.dataDir, 'tokens.yaml');
    if (!existsSync(file)) {
      ensurePrivateDir(dirname(file));
      writeFileSync(file, stringify({ admin: generateToken(), readonly: generateToken() }), { mode: 0o600 });
      generatedFile = file;
    }
    // It holds the admin token: private to its user, also when an earlier run left it wider.
    tightenFile(file);
    grants.push(...readTokenFile(file));
  }
  const adminToken = grants.find((g) => g.role === 'admin')?.token;
  return { grants, adminToken, ...(file ? { file } : {}), ...(generatedFile ? { generatedFile } : {}) };
}

/** Maps a request path to what it addresses: a probe, discovery, or a kind's collection / object / status. */
import { kinds, type KindInfo } from '../api/registry.js';
import { DroverError } from '../errors.js';

export type Route =
  | { type: 'healthz' }
  | { type: 'readyz' }
  | { type: 'metrics' }
  | { type: 'discovery' }
  | { type: 'watchAll' }
  | { type: 'collection'; info: KindInfo }
  | { type: 'object'; info: KindInfo; name: string }
  | { type: 'status'; info: KindInfo; name: string };

const byPlural = new Map(kinds.map((k) => [k.plural, k]));

export function matchRoute(pathname: string): Route {
  switch (pathname) {
    case '/healthz':
      return { type: 'healthz' };
    case '/readyz':
      return { type: 'readyz' };
    case '/metrics':
      return { type: 'metrics' };
    case '/api/v1':
    case '/api/v1/':
      return { type: 'discovery' };
    case '/api/v1/watch':
      return { type: 'watchAll' };
  }
  const parts = pathname.split('/').filter((p) => p !== '');
  if (parts[0] !== 'api' || parts[1] !== 'v1' || parts.length < 3 || parts.length > 5) throw notFound(pathname);
  const plural = decodeSegment(parts[2]!);
  const info = byPlural.get(plural);
  if (!info) {
    throw new DroverError('DROVER_E_NOT_FOUND', `no resource type "${plural}" at ${pathname}`, {
      fix: `use /api/v1/<plural> with one of: ${kinds.map((k) => k.plural).join(', ')}`,
    });
  }
  if (parts.length === 3) return { type: 'collection', info };
  const name = decodeSegment(parts[3]!);
  if (parts.length === 4) return { type: 'object', info, name };
  if (parts[4] === 'status') return { type: 'status', info, name };
  throw notFound(pathname);
}

/** The route as a metric label (no object names, bounded cardinality). */
export function routeLabel(r: Route | undefined): string {
  if (!r) return 'unknown';
  switch (r.type) {
    case 'collection':
      return `/api/v1/${r.info.plural}`;
    case 'object':
      return `/api/v1/${r.info.plural}/:name`;
    case 'status':
      return `/api/v1/${r.info.plural}/:name/status`;
    case 'discovery':
      return '/api/v1';
    case 'watchAll':
      return '/api/v1/watch';
    default:
      return `/${r.type}`;
  }
}

/** A path segment's percent-decoding; bad encoding (`%`, `%zz`, a lone surrogate) is the client's mistake. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new DroverError('DROVER_E_BAD_REQUEST', `path segment "${segment.slice(0, 64)}" is not valid percent-encoding`, {
      fix: 'percent-encode names as RFC 3986 says (e.g. encodeURIComponent), or use plain DNS names',
    });
  }
}

function notFound(pathname: string): DroverError {
  return new DroverError('DROVER_E_NOT_FOUND', `no such path ${pathname}`, { fix: 'the API lives under /api/v1/<plural>[/<name>[/status]]' });
}

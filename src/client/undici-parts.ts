/**
 * The two parts of undici that RemoteStore uses, the connection-pooling Agent and `request`, loaded on
 * first use from their own modules. undici's index also loads fetch, WebSocket, EventSource, the caches
 * and the mocks (about 110 files against these parts' 45): for a CLI command that makes one request,
 * that was most of its start-up (issue 19).
 *
 * `request` here does what undici's exported `request(url, opts)` does for an absolute URL string: split
 * it into origin and path, and call the request API with the dispatcher as `this`.
 */
import { createRequire } from 'node:module';
import type { Agent, Dispatcher } from 'undici';

export type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & { method: Dispatcher.HttpMethod };

export interface UndiciParts {
  Agent: typeof Agent;
  request(dispatcher: Dispatcher, url: string, opts: RequestOptions): Promise<Dispatcher.ResponseData>;
}

type RequestApi = (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

let parts: UndiciParts | undefined;

export function undiciParts(): UndiciParts {
  if (parts) return parts;
  // CommonJS files of the undici package (it has no "exports" map, so these paths are public to require).
  const require = createRequire(import.meta.url);
  const AgentClass = require('undici/lib/dispatcher/agent.js') as typeof Agent;
  const requestApi = require('undici/lib/api/api-request.js') as RequestApi;
  parts = {
    Agent: AgentClass,
    request(dispatcher, url, opts) {
      const u = new URL(url);
      return requestApi.call(dispatcher, { ...opts, origin: u.origin, path: `${u.pathname}${u.search}` });
    },
  };
  return parts;
}

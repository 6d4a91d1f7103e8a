/**
 * How a CLI command reaches the control plane: flags (--server, --token), then DROVER_SERVER /
 * DROVER_TOKEN, then the config file `drover server`/`drover up` write. The returned Store speaks the
 * REST API (src/client/remote-store.ts).
 */
import type { Store } from '../store/store.js';

export interface ConnectOptions {
  server?: string;
  token?: string;
}

/** Implemented by the API client work; commands call it with `cmd.optsWithGlobals()`. */
export async function connect(_opts: ConnectOptions): Promise<Store> {
  throw new Error('connect: the API client is not built yet');
}

/**
 * What an edge reports about each Prod over a recent window, at `GET <admin>/stats?windowMs=N`.
 * Release gates compare the new version's Prods with the known-good ones from this.
 */
export interface ProdWindowStats {
  prod: string;
  requests: number;
  /** 5xx answers from the Prod plus requests that failed to reach it (after retries). */
  errors: number;
  latencyMs: { p50: number; p90: number; p99: number };
}

export interface EdgeStats {
  /** Edge instance id. */
  edge: string;
  windowMs: number;
  /** ISO time the window ends (now, at the edge). */
  at: string;
  prods: ProdWindowStats[];
}

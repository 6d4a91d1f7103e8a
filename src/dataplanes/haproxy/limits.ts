/**
 * What the HAProxy data plane cannot express of the traffic rules, and why: the adapter's declared
 * capabilities. The conformance suite skips tests that need one of these with the reason;
 * docs/architecture.md repeats them.
 */
export const HAPROXY_LIMITS = {
  'update-on-open-connections':
    'a plan update is a reload: a new worker takes new connections, while a client connection that is already open stays with the old worker and its old plan for one more request (answered with Connection: close; option idle-close-on-response, so that no request is dropped)',
  'passive-thresholds':
    'HAProxy keeps one consecutive-error counter per server (observe layer7 counts refused connections and 5xx alike), so passive.connectErrors cannot differ from passive.consecutive5xx; the rendered error-limit is passive.consecutive5xx',
  'retry-target':
    'a retry is redispatched by the backend load balancing, i.e. over the failover pool minus the Prod that failed, not over the same tenant or group first, and without preferring another cluster',
  'start-optimism':
    'at start (not after a reload, which restores the saved state) HAProxy holds every server one failed check away from down (its check health starts at `rise`), so the first failed check marks a Prod down whatever healthCheck.unhealthyThreshold says',
  'endpoint-path': 'a server is an address: endpoint URLs with a path prefix are refused at render time',
  'connection-named-headers':
    'HAProxy drops the standard hop-by-hop headers (rendered del-header rules) but not the ones a Connection header names: that needs the header\'s value as a list of names, which its rules cannot iterate',
  'edge-metrics': 'per-Prod metrics are HAProxy\'s own (stats socket, Prometheus exporter), not drover_edge_*; release gates read the edge\'s',
} as const;
export type HaproxyLimit = keyof typeof HAPROXY_LIMITS;

/** HAProxy as a Drover data plane: a pure traffic plan → haproxy.cfg renderer and a process wrapper. */
export { AFFINITY_COOKIE, DEFAULT_TIMEOUTS, HAPROXY_LIMITS, renderHaproxyConfig, type HaproxyLimit, type HaproxyRenderOptions, type HaproxyTimeouts } from './render.js';
export { findHaproxy, HaproxyProcess, type HaproxyProcessOptions, type ServerEvent, type ServerState } from './process.js';
export { HaproxyEdge, type HaproxyEdgeOptions } from './follow-plans.js';

export { Agent, type AgentOptions, type AgentStopOptions } from './agent.js';
export { registerCluster, writeHeartbeat, type ClusterIdentity } from './cluster-registration.js';

/**
 * Every label and annotation key Drover writes, in one place: they are an API (users select on them,
 * `kubectl get -l` reads them on real clusters), so a key is never spelled twice.
 */

/** The Fleet an object belongs to (Prods, TrafficRoutes, and the Kubernetes objects of a Prod). */
export const LABEL_FLEET = 'drover.dev/fleet';
/** The Prod a Kubernetes object was rendered for. */
export const LABEL_PROD = 'drover.dev/prod';
/** The Drover Cluster a Kubernetes object runs on. */
export const LABEL_CLUSTER = 'drover.dev/cluster';
/** The version a Prod's Kubernetes objects run (label, and annotation for versions that are not label-safe). */
export const LABEL_VERSION = 'drover.dev/version';
export const ANNOTATION_VERSION = 'drover.dev/version';
/** The Release that created a successor Prod. */
export const LABEL_RELEASE = 'drover.dev/release';
/** The cluster replace that created a successor Prod. */
export const LABEL_REPLACE = 'drover.dev/replace';
/** The name a chain of successors is derived from, so names do not grow with every release. */
export const LABEL_BASE = 'drover.dev/prod-base';
/** The GitSource that applied an object, and the commit it applied. */
export const LABEL_GITSOURCE = 'drover.dev/gitsource';
export const ANNOTATION_GIT_REF = 'drover.dev/git-ref';
/** Events: the object an Event is about, as labels so that `?involvedObject=` is a label selection. */
export const LABEL_INVOLVED_KIND = 'drover.dev/involved-kind';
export const LABEL_INVOLVED_NAME = 'drover.dev/involved-name';
/** When and why a Prod was asked to retire (the fleet controller's patience clock). */
export const ANNOTATION_RETIRE_REQUESTED_AT = 'drover.dev/retire-requested-at';
export const ANNOTATION_RETIRE_REASON = 'drover.dev/retire-reason';
/** Set on a Prod the scheduler could not evacuate, with the reason. */
export const ANNOTATION_EVACUATION_BLOCKED = 'drover.dev/evacuation-blocked';
/** Where a Cluster's agent keeps its state (local clusters under `drover up`). */
export const ANNOTATION_AGENT_STATE_DIR = 'drover.dev/agent-state-dir';
/** `drover chaos`: when a cluster was killed, and when its restore was asked for. */
export const ANNOTATION_CHAOS_KILLED_AT = 'drover.dev/chaos-killed-at';
export const ANNOTATION_RESTORE_REQUESTED_AT = 'drover.dev/restore-requested-at';
/** The configuration `drover apply` last applied (for its three-way merge), as kubectl's. */
export const ANNOTATION_LAST_APPLIED = 'drover.dev/last-applied-configuration';
/** `drover cloud sync`: a CloudTraffic syncs now when this changes (as `flux reconcile` asks). */
export const ANNOTATION_SYNC_REQUESTED_AT = 'drover.dev/sync-requested-at';

/**
 * Amazon EKS Kubernetes version calendar: end of standard support and end of extended support per
 * minor version. Source: AWS, "Understand the Kubernetes version lifecycle on EKS — Amazon EKS release
 * calendar", https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html (standard support
 * is 14 months from the EKS release, extended support 12 more), cross-checked against
 * https://endoflife.date/amazon-eks. Update this table when AWS publishes a new version.
 */
import type { Condition } from '../api/meta.js';
import type { Cluster } from '../api/kinds/cluster.js';

export interface EksVersionSupport {
  /** Amazon EKS release date. */
  released: string;
  endOfStandardSupport: string;
  endOfExtendedSupport: string;
}

export const eksCalendar: Readonly<Record<string, EksVersionSupport>> = {
  '1.28': { released: '2023-09-26', endOfStandardSupport: '2024-11-26', endOfExtendedSupport: '2025-11-26' },
  '1.29': { released: '2024-01-23', endOfStandardSupport: '2025-03-23', endOfExtendedSupport: '2026-03-23' },
  '1.30': { released: '2024-05-23', endOfStandardSupport: '2025-07-23', endOfExtendedSupport: '2026-07-23' },
  '1.31': { released: '2024-09-26', endOfStandardSupport: '2025-11-26', endOfExtendedSupport: '2026-11-26' },
  '1.32': { released: '2025-01-23', endOfStandardSupport: '2026-03-23', endOfExtendedSupport: '2027-03-23' },
  '1.33': { released: '2025-05-29', endOfStandardSupport: '2026-07-29', endOfExtendedSupport: '2027-07-29' },
  '1.34': { released: '2025-10-02', endOfStandardSupport: '2026-12-02', endOfExtendedSupport: '2027-12-02' },
  '1.35': { released: '2026-01-27', endOfStandardSupport: '2027-03-27', endOfExtendedSupport: '2028-03-27' },
};

/** Warn this many days before either end date. */
export const EKS_WARN_DAYS = 60;

export const SupportLevel = ['ok', 'warning', 'error', 'unknown'] as const;
export type SupportLevel = (typeof SupportLevel)[number];

export interface SupportWarning {
  level: SupportLevel;
  /** Short reason, for a condition. */
  reason: 'StandardSupport' | 'StandardSupportEnding' | 'ExtendedSupport' | 'ExtendedSupportEnding' | 'Unsupported' | 'NotInCalendar';
  message: string;
  /** Days until the next end date (negative when past the last one). */
  days?: number;
}

const DAY = 86_400_000;
const minorOf = (v: string) => {
  const m = /^v?(\d+)\.(\d+)/.exec(v);
  return m ? { major: Number(m[1]), minor: Number(m[2]), key: `${m[1]}.${m[2]}` } : undefined;
};

/**
 * Levels: within 60 days of the end of standard support → warning; past it (paid extended support,
 * the cluster should be replaced) → error; within 60 days of the end of extended support → error with
 * the countdown; past it → error (EKS upgrades the cluster by itself).
 */
export function eksSupportWarning(version: string, today: Date = new Date()): SupportWarning {
  const v = minorOf(version);
  const entry = v ? eksCalendar[v.key] : undefined;
  if (!v || !entry) {
    const known = Object.keys(eksCalendar).map((k) => minorOf(k)!);
    const newest = known.reduce((a, b) => (b.major * 1000 + b.minor > a.major * 1000 + a.minor ? b : a));
    if (v && v.major * 1000 + v.minor > newest.major * 1000 + newest.minor) {
      return { level: 'unknown', reason: 'NotInCalendar', message: `${v.key} is newer than the shipped EKS calendar (up to ${newest.key})` };
    }
    return { level: 'error', reason: 'Unsupported', message: `${version} is not a supported EKS version (calendar: ${Object.keys(eksCalendar).join(', ')})` };
  }
  const t = today.getTime();
  const std = Date.parse(`${entry.endOfStandardSupport}T00:00:00Z`);
  const ext = Date.parse(`${entry.endOfExtendedSupport}T00:00:00Z`);
  const days = (d: number) => Math.ceil((d - t) / DAY);
  if (t >= ext) return { level: 'error', reason: 'Unsupported', message: `${v.key}: extended support ended ${entry.endOfExtendedSupport}; EKS auto-upgrades such clusters — replace it`, days: days(ext) };
  if (t >= std) {
    const d = days(ext);
    return {
      level: 'error',
      reason: d <= EKS_WARN_DAYS ? 'ExtendedSupportEnding' : 'ExtendedSupport',
      message: `${v.key}: standard support ended ${entry.endOfStandardSupport}; extended support (extra cost) ends ${entry.endOfExtendedSupport} (${d}d)`,
      days: d,
    };
  }
  const d = days(std);
  if (d <= EKS_WARN_DAYS) return { level: 'warning', reason: 'StandardSupportEnding', message: `${v.key}: standard support ends ${entry.endOfStandardSupport} (${d}d)`, days: d };
  return { level: 'ok', reason: 'StandardSupport', message: `${v.key}: standard support until ${entry.endOfStandardSupport}`, days: d };
}

type ClusterLike = Pick<Cluster, 'spec'>;

/** The SUPPORT column of `drover get clusters`: empty unless provider eks with a version. */
export function clusterSupportColumn(c: ClusterLike, today: Date = new Date()): string {
  if (c.spec.provider !== 'eks' || !c.spec.version) return '';
  const w = eksSupportWarning(c.spec.version, today);
  const entry = eksCalendar[c.spec.version];
  switch (w.level) {
    case 'ok':
      return `until ${entry?.endOfStandardSupport ?? '?'}`;
    case 'warning':
      return `WARN std ends ${entry?.endOfStandardSupport ?? '?'} (${w.days ?? '?'}d)`;
    case 'error':
      return w.reason === 'Unsupported' ? 'ERROR unsupported' : `ERROR extended until ${entry?.endOfExtendedSupport ?? '?'} (${w.days ?? '?'}d)`;
    case 'unknown':
      return 'not in calendar';
  }
}

/** A `SupportedVersion` condition for Cluster.status.conditions (the cluster controller may set it). */
export function clusterSupportCondition(c: ClusterLike, today: Date = new Date()): Condition | undefined {
  if (c.spec.provider !== 'eks' || !c.spec.version) return undefined;
  const w = eksSupportWarning(c.spec.version, today);
  return {
    type: 'SupportedVersion',
    status: w.level === 'error' ? 'False' : 'True',
    reason: w.reason,
    message: w.message,
    lastTransitionTime: today.toISOString(),
  };
}

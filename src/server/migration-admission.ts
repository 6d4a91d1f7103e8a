/**
 * Admission of Migrations, and of Releases against them (called by admission.ts for these kinds). Refused,
 * with nothing stored:
 *   - a Migration of a fleet that does not exist (`spec.fleet`): unlike a Tenant, a Migration acts at once
 *     (it routes the tenants it covers to the legacy side), so it must name a real fleet;
 *   - a Migration covering a tenant that another active Migration covers (`spec.tenants`): both would
 *     steer one tenant's users and the edge would silently follow one;
 *   - a new Migration while a Release moves its fleet, and a new Release while an active Migration moves
 *     the fleet's tenants (`spec.fleet`): the gates would judge two changes at once and speak for neither;
 *     the fix says which to finish, abort or wait for. Releases created by a GitSource go straight to the
 *     store; for them the migration controller holds its next step until the Release ends.
 * Only creations are checked against other objects (a pause or an abort of an existing one always passes).
 * Migrations and Releases are few: these checks read the store directly.
 */
import { isMigrationActive, type Migration } from '../api/kinds/migration.js';
import { isReleaseActive, type Release } from '../api/kinds/release.js';
import type { Tenant } from '../api/kinds/tenant.js';
import type { AnyResource } from '../api/resource.js';
import { selectTenants } from '../controllers/migration-plan.js';
import { DroverError } from '../errors.js';
import type { Store } from '../store/store.js';

export class MigrationAdmission {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: Store) {}

  /** One check-and-write at a time, so two racing creations cannot both pass. */
  admit<T extends AnyResource>(o: AnyResource, write: () => Promise<T>): Promise<T> {
    const run = this.queue.catch(() => undefined).then(async () => {
      const existing = await this.store.get(o.kind, o.metadata.name);
      if (o.kind === 'Migration') await this.checkMigration(o as Migration, existing !== undefined);
      else if (!existing) await this.checkRelease(o as Release);
      return write();
    });
    this.queue = run;
    return run;
  }

  private async checkMigration(m: Migration, exists: boolean): Promise<void> {
    const fleet = m.spec.fleet;
    if (!(await this.store.get('Fleet', fleet))) {
      throw new DroverError('DROVER_E_INVALID', `fleet "${fleet}" does not exist`, {
        field: 'spec.fleet',
        fix: 'name an existing fleet (drover get fleets), or apply the Fleet first',
      });
    }
    if (exists) return;
    const releases = (await this.store.list('Release')).items.filter((r) => r.spec.fleet === fleet && isReleaseActive(r));
    if (releases.length > 0) {
      const r = releases[0]!.metadata.name;
      throw new DroverError('DROVER_E_MIGRATION_CONFLICT', `release "${r}" is moving fleet "${fleet}": a migration now would be judged by gates that also see the release`, {
        field: 'spec.fleet',
        fix: `wait for it to end (drover release status ${r} -w), or abort it (drover release abort ${r}), then start the migration`,
      });
    }
    // A finished Migration still holds its tenants until it is deleted: a RolledBack or Aborted one keeps
    // their users on legacy (weight 0 in the plan), and a new one over a Succeeded one would start its
    // users from legacy again — both would put two splits on one tenant, or move users back.
    const others = (await this.store.list('Migration')).items.filter((x) => x.spec.fleet === fleet && x.metadata.name !== m.metadata.name && !x.metadata.deletionTimestamp);
    if (others.length === 0) return;
    const tenants = (await this.store.list('Tenant')).items.filter((t) => t.spec.fleet === fleet);
    const mine = covered(m, tenants);
    for (const x of others) {
      const theirs = covered(x, tenants);
      const shared = mine === 'all' || theirs === 'all' ? 'all' : [...mine].filter((t) => theirs.has(t));
      if (shared === 'all' || shared.length > 0) {
        const what = shared === 'all' ? `every tenant of fleet "${fleet}"` : `tenant(s) ${shared.slice(0, 5).join(', ')}`;
        const name = x.metadata.name;
        if (isMigrationActive(x)) {
          throw new DroverError('DROVER_E_MIGRATION_CONFLICT', `migration "${name}" is already moving ${what}`, {
            field: 'spec.tenants',
            fix: `select other tenants (spec.tenants.names or a selector that excludes them), or finish or abort "${name}" first (drover migration abort ${name})`,
          });
        }
        const where = x.status?.phase === 'Succeeded' ? 'on the fleet: a new migration would start them from legacy again' : 'on legacy';
        throw new DroverError('DROVER_E_MIGRATION_CONFLICT', `migration "${name}" (${x.status?.phase}) still holds ${what}, whose users it keeps ${where}`, {
          field: 'spec.tenants',
          fix: `select other tenants, or delete "${name}" first (drover delete migration ${name}) if you mean to move these users again`,
        });
      }
    }
  }

  private async checkRelease(r: Release): Promise<void> {
    const fleet = r.spec.fleet;
    const active = (await this.store.list('Migration')).items.filter((m) => m.spec.fleet === fleet && isMigrationActive(m));
    if (active.length === 0) return;
    const m = active[0]!.metadata.name;
    throw new DroverError('DROVER_E_MIGRATION_CONFLICT', `migration "${m}" is moving the users of fleet "${fleet}": a release now would be judged by gates that also see the migration`, {
      field: 'spec.fleet',
      fix: `wait for the migration to end (drover migration status ${m} -w), promote or abort it (drover migration abort ${m}), then release`,
    });
  }
}

/** The tenants a migration covers: its recorded selection once started, else what its spec selects now. */
function covered(m: Migration, tenants: readonly Tenant[]): Set<string> | 'all' {
  if (m.status?.allTenants || (m.status?.tenants === undefined && m.spec.tenants === undefined)) return 'all';
  if (m.status?.tenants) return new Set(m.status.tenants.map((t) => t.name));
  if (m.spec.tenants?.names) return new Set(m.spec.tenants.names);
  return new Set(selectTenants(m.spec, tenants).tenants.map((t) => t.name));
}

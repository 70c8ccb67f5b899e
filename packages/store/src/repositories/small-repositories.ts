import type { AuditRepository, ClusterRepository, SyncRepository, SyncStateRecord } from '@lab/proxmox-sdk/store';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../database.js';
import { mappers } from '../row-mappers.js';

/** Clusters over kysely. */
export function clusterRepository(db: Kysely<Database>): ClusterRepository {
  return {
    async upsert(c) {
      await db
        .insertInto('clusters')
        .values(c)
        .onConflict((oc) => oc.column('id').doUpdateSet({ name: c.name, url: c.url }))
        .execute();
    },
    async get(id) {
      return db.selectFrom('clusters').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async list() {
      return db.selectFrom('clusters').selectAll().orderBy('id').execute();
    },
  };
}

/** Every cluster's sync state, by cluster. */
export async function listSyncStates(db: Kysely<Database>): Promise<SyncStateRecord[]> {
  return (await db.selectFrom('sync_state').selectAll().orderBy('cluster_id').execute()).map(mappers.syncState);
}

/** Sync state and leases over kysely. */
export function syncRepository(db: Kysely<Database>): SyncRepository {
  return {
    async getState(clusterId) {
      const row = await db.selectFrom('sync_state').selectAll().where('cluster_id', '=', clusterId).executeTakeFirst();
      return row && mappers.syncState(row);
    },
    listStates: () => listSyncStates(db),
    async saveState(s) {
      const row = {
        cluster_id: s.clusterId,
        last_full_sync_at: s.lastFullSyncAt,
        last_quick_sync_at: s.lastQuickSyncAt,
        last_success_at: s.lastSuccessAt,
        consecutive_errors: s.consecutiveErrors,
        last_error: s.lastError,
        next_attempt_at: s.nextAttemptAt,
      };
      const { cluster_id: _c, ...update } = row;
      await db
        .insertInto('sync_state')
        .values(row)
        .onConflict((oc) => oc.column('cluster_id').doUpdateSet(update))
        .execute();
    },
    async acquireLease(name, holder, ttlMs, now) {
      // One atomic statement: insert, or take over only when expired or already ours.
      const rows = await db
        .insertInto('leases')
        .values({ name, holder, expires_at: now + ttlMs })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet((eb) => ({ holder: eb.ref('excluded.holder'), expires_at: eb.ref('excluded.expires_at') }))
            .where((eb) => eb.or([eb('leases.expires_at', '<', now), eb('leases.holder', '=', holder)])),
        )
        .returning('holder')
        .execute();
      return rows.length === 1 && rows[0]!.holder === holder;
    },
    async releaseLease(name, holder) {
      await db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
    },
    async liveLeases(prefix, now) {
      const rows = await db
        .selectFrom('leases')
        .selectAll()
        .where(sql<boolean>`name like ${`${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`} escape '\\'`)
        .where('expires_at', '>=', now)
        .orderBy('name')
        .execute();
      return rows
        .filter((r) => r.name.startsWith(prefix))
        .map((r) => ({ name: r.name, holder: r.holder, expiresAt: Number(r.expires_at) }));
    },
    async getLease(name) {
      const row = await db.selectFrom('leases').selectAll().where('name', '=', name).executeTakeFirst();
      return row && { name: row.name, holder: row.holder, expiresAt: row.expires_at };
    },
  };
}

/** The audit log over kysely. */
export function auditRepository(db: Kysely<Database>): AuditRepository {
  return {
    async record(e) {
      await db
        .insertInto('audit_log')
        .values({
          at: e.at,
          actor: e.actor,
          action: e.action,
          target: e.target,
          outcome: e.outcome,
          details: JSON.stringify(e.details ?? {}),
        })
        .execute();
    },
    async list(filter = {}) {
      let q = db.selectFrom('audit_log').selectAll();
      if (filter.actor !== undefined) q = q.where('actor', '=', filter.actor);
      if (filter.action !== undefined) q = q.where('action', '=', filter.action);
      if (filter.targets !== undefined) {
        if (filter.targets.length === 0) return [];
        q = q.where('target', 'in', filter.targets);
      }
      if (filter.since !== undefined) q = q.where('at', '>=', filter.since);
      q = q.orderBy('at', 'desc').orderBy('id', 'desc');
      if (filter.limit !== undefined) q = q.limit(filter.limit);
      return (await q.execute()).map(mappers.audit);
    },
    async latestByTarget(targets, filter) {
      if (targets.length === 0) return [];
      const ranked = db
        .selectFrom('audit_log')
        .selectAll()
        .select(sql<number>`row_number() over (partition by target order by at desc, id desc)`.as('rank'))
        .where('target', 'in', targets)
        .where(sql<string>`substr(action, 1, ${filter.actionPrefix.length})`, '=', filter.actionPrefix)
        .where('outcome', '=', filter.outcome);
      const rows = await db.selectFrom(ranked.as('ranked')).selectAll().where('rank', '=', 1).execute();
      return rows.map(({ rank: _rank, ...row }) => mappers.audit(row));
    },
    async prune(before) {
      const result = await db.deleteFrom('audit_log').where('at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

import { DEFAULT_MAX_SNAPSHOTS } from '@lab/proxmox-sdk';
import { UnknownReferenceError } from '@lab/proxmox-sdk/errors';
import type { QuotaTopUpRecord, UsageRepository, VmIdleRecord } from '@lab/proxmox-sdk/store';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../database.js';

/** Class time policies and VM running intervals over kysely. */
export function usageRepository(db: Kysely<Database>): UsageRepository {
  return {
    async policy(classId) {
      const r = await db
        .selectFrom('class_time_policies')
        .selectAll()
        .where('class_id', '=', classId)
        .executeTakeFirst();
      return (
        r && {
          classId: r.class_id,
          quotaHours: r.quota_hours === null ? null : Number(r.quota_hours),
          maxRunning: r.max_running,
          maxRunningInClass: r.max_running_in_class,
          idleCpuBelowPercent: r.idle_cpu_below_percent === null ? null : Number(r.idle_cpu_below_percent),
          idleForMinutes: r.idle_for_minutes,
          keepsPerSession: r.keeps_per_session,
          idleWarnMinutes: r.idle_warn_minutes,
          ...(Number(r.idle_in_sessions) === 1 ? { idleInSessions: true } : {}),
          ...(Number(r.max_snapshots) !== DEFAULT_MAX_SNAPSHOTS ? { maxSnapshots: Number(r.max_snapshots) } : {}),
          ...(Number(r.idle_users) === 1 ? { idleUsers: true } : {}),
          ...(Number(r.console_never_idle) === 0 ? { consoleNeverIdle: false } : {}),
          ...(r.never_connected_minutes !== null ? { neverConnectedMinutes: Number(r.never_connected_minutes) } : {}),
        }
      );
    },
    async savePolicy(record) {
      if (!(await db.selectFrom('classes').select('id').where('id', '=', record.classId).executeTakeFirst()))
        throw new UnknownReferenceError('class', record.classId);
      const values = {
        quota_hours: record.quotaHours,
        max_running: record.maxRunning,
        max_running_in_class: record.maxRunningInClass,
        idle_cpu_below_percent: record.idleCpuBelowPercent,
        idle_for_minutes: record.idleForMinutes,
        keeps_per_session: record.keepsPerSession,
        idle_warn_minutes: record.idleWarnMinutes,
        idle_in_sessions: record.idleInSessions ? 1 : 0,
        max_snapshots: record.maxSnapshots ?? DEFAULT_MAX_SNAPSHOTS,
        idle_users: record.idleUsers ? 1 : 0,
        console_never_idle: record.consoleNeverIdle === false ? 0 : 1,
        never_connected_minutes: record.neverConnectedMinutes ?? null,
      };
      await db
        .insertInto('class_time_policies')
        .values({ class_id: record.classId, ...values })
        .onConflict((oc) => oc.column('class_id').doUpdateSet(values))
        .execute();
    },
    async openInterval(clusterId, vmid, at) {
      // ON CONFLICT … DO NOTHING rather than catching the violation: inside a PostgreSQL transaction
      // (the sync's) a failed insert would abort the whole transaction.
      const result = await db
        .insertInto('vm_usage_intervals')
        .values({ cluster_id: clusterId, vmid, started_at: at, ended_at: null })
        .onConflict((oc) => oc.columns(['cluster_id', 'vmid']).where('ended_at', 'is', null).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },
    async closeInterval(clusterId, vmid, at) {
      const open = await db
        .selectFrom('vm_usage_intervals')
        .select('started_at')
        .where('cluster_id', '=', clusterId)
        .where('vmid', '=', vmid)
        .where('ended_at', 'is', null)
        .executeTakeFirst();
      if (!open) return false;
      const result = await db
        .updateTable('vm_usage_intervals')
        .set({ ended_at: Math.max(at, Number(open.started_at)) })
        .where('cluster_id', '=', clusterId)
        .where('vmid', '=', vmid)
        .where('ended_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async intervals(vms, since) {
      if (vms.length === 0) return [];
      let query = db
        .selectFrom('vm_usage_intervals')
        .selectAll()
        .where((eb) =>
          eb.or(vmsByCluster(vms).map(([c, ids]) => eb.and([eb('cluster_id', '=', c), eb('vmid', 'in', ids)]))),
        );
      if (since !== undefined)
        query = query.where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>=', since)]));
      const rows = await query.orderBy('started_at').orderBy('vmid').execute();
      return rows.map((r) => ({
        clusterId: r.cluster_id,
        vmid: r.vmid,
        startedAt: Number(r.started_at),
        endedAt: r.ended_at === null ? null : Number(r.ended_at),
      }));
    },
    async idleOf(vms) {
      if (vms.length === 0) return [];
      const rows = await db
        .selectFrom('vm_idle')
        .selectAll()
        .where((eb) =>
          eb.or(vmsByCluster(vms).map(([c, ids]) => eb.and([eb('cluster_id', '=', c), eb('vmid', 'in', ids)]))),
        )
        .execute();
      return rows.map(idleOf);
    },
    async idle(clusterId, vmid) {
      const r = await db
        .selectFrom('vm_idle')
        .selectAll()
        .where('cluster_id', '=', clusterId)
        .where('vmid', '=', vmid)
        .executeTakeFirst();
      return r && idleOf(r);
    },
    async saveIdle(record) {
      const values = {
        idle_since: record.idleSince,
        warned_at: record.warnedAt,
        kept_at: record.keptAt,
        keeps_used: record.keepsUsed,
      };
      await db
        .insertInto('vm_idle')
        .values({ cluster_id: record.clusterId, vmid: record.vmid, ...values })
        .onConflict((oc) => oc.columns(['cluster_id', 'vmid']).doUpdateSet(values))
        .execute();
    },
    async clearIdle(clusterId, vmid) {
      const result = await db
        .deleteFrom('vm_idle')
        .where('cluster_id', '=', clusterId)
        .where('vmid', '=', vmid)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async addTopUp(record) {
      const first = await topUpByKey(db, record.idempotencyKey);
      if (first) return { applied: false, topUp: first };
      if (!(await db.selectFrom('classes').select('id').where('id', '=', record.classId).executeTakeFirst()))
        throw new UnknownReferenceError('class', record.classId);
      if (!(await db.selectFrom('people').select('id').where('id', '=', record.personId).executeTakeFirst()))
        throw new UnknownReferenceError('person', record.personId);
      // ON CONFLICT … DO NOTHING: a second process with the same key waits for the first and inserts nothing.
      const result = await db
        .insertInto('quota_top_ups')
        .values({
          class_id: record.classId,
          person_id: record.personId,
          hours: record.hours,
          idempotency_key: record.idempotencyKey,
          actor: record.actor,
          at: record.at,
        })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .executeTakeFirst();
      const applied = Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
      return { applied, topUp: (await topUpByKey(db, record.idempotencyKey))! };
    },
    async topUps(classId, personId) {
      let query = db.selectFrom('quota_top_ups').selectAll().where('class_id', '=', classId);
      if (personId !== undefined) query = query.where('person_id', '=', personId);
      return (await query.orderBy('at').orderBy('id').execute()).map(topUpOf);
    },
  };
}

async function topUpByKey(db: Kysely<Database>, key: string): Promise<QuotaTopUpRecord | undefined> {
  const r = await db.selectFrom('quota_top_ups').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
  return r && topUpOf(r);
}

function topUpOf(r: Selectable<Database['quota_top_ups']>): QuotaTopUpRecord {
  return {
    id: Number(r.id),
    classId: r.class_id,
    personId: r.person_id,
    hours: Number(r.hours),
    idempotencyKey: r.idempotency_key,
    actor: r.actor,
    at: Number(r.at),
  };
}

function idleOf(r: Selectable<Database['vm_idle']>): VmIdleRecord {
  return {
    clusterId: r.cluster_id,
    vmid: r.vmid,
    idleSince: r.idle_since === null ? null : Number(r.idle_since),
    warnedAt: r.warned_at === null ? null : Number(r.warned_at),
    keptAt: r.kept_at === null ? null : Number(r.kept_at),
    keepsUsed: r.keeps_used,
  };
}

/** The VMs' ids by cluster: `cluster_id = ? and vmid in (…)` uses the primary key where an OR of pairs scans the cluster. */
function vmsByCluster(vms: ReadonlyArray<{ clusterId: string; vmid: number }>): Array<[string, number[]]> {
  const byCluster = new Map<string, number[]>();
  for (const v of vms) {
    const ids = byCluster.get(v.clusterId);
    if (ids) ids.push(v.vmid);
    else byCluster.set(v.clusterId, [v.vmid]);
  }
  return [...byCluster];
}

import type { VmInventoryRecord } from '@lab/proxmox-sdk';
import { VM_SYNC_FLAGS, type VmInventoryFilter, type VmInventoryRepository } from '@lab/proxmox-sdk/store';
import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { Database, Engine } from '../database.js';
import { mappers } from '../row-mappers.js';
import type { InTransaction } from './in-transaction.js';
import { listSyncStates } from './small-repositories.js';

/** Rows per INSERT: 22 columns × 400 stays far below SQLite's and PostgreSQL's parameter limits. */
const UPSERT_CHUNK = 400;
/** Usage readings per UPDATE (in one parameter). */
const READING_CHUNK = 10_000;

/** A row of `listSyncKeys` as the query packs it: VMID, sync key, address, flags. */
type SyncKeyTuple = [number, number | null, string | null, number];

/** `column` is one of `vmids`, the VMIDs in one parameter (a JSON text on SQLite, an array on PostgreSQL). */
function vmidIn(engine: Engine, vmids: readonly number[], column: string): RawBuilder<boolean> {
  return engine === 'sqlite'
    ? sql<boolean>`${sql.ref(column)} in (select value from json_each(${JSON.stringify(vmids)}))`
    : sql<boolean>`${sql.ref(column)} = any(${[...vmids]}::integer[])`;
}

/**
 * The statement of `list(filter)`, or undefined when nothing can match (no classes). By owner: a
 * join that the ownership filters make an inner one, so both engines start from vm_assignments'
 * person/class index instead of scanning the inventory. Without those filters (the sync reading a
 * cluster's rows) no join: one lookup fewer per row. Written as SQL fragments, not with the query
 * builder: a student's `listVms` builds it at every call, and the builder cost several times more.
 */
function listQuery(engine: Engine, filter: VmInventoryFilter): RawBuilder<VmRow> | undefined {
  if (filter.classIds !== undefined && filter.classIds.length === 0) return undefined;
  const owned = filter.personId !== undefined || filter.classIds !== undefined;
  const where: RawBuilder<unknown>[] = [];
  if (filter.personId !== undefined) where.push(sql`a.person_id = ${filter.personId}`);
  if (filter.classIds !== undefined) where.push(sql`a.class_id in (${sql.join(filter.classIds)})`);
  if (filter.clusterId !== undefined) where.push(sql`v.cluster_id = ${filter.clusterId}`);
  if (filter.vmids !== undefined) where.push(vmidIn(engine, filter.vmids, 'v.vmid'));
  if (filter.status !== undefined) where.push(sql`v.status = ${filter.status}`);
  if (!filter.includeTemplates) where.push(sql`v.is_template = ${0}`);
  if (!filter.includeGone) where.push(sql`v.gone_at is null`);
  if (filter.search !== undefined && filter.search !== '') {
    const pattern = `%${filter.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const vmid = /^\d+$/.test(filter.search) ? Number(filter.search) : -1;
    where.push(sql`(lower(v.name) like ${pattern} escape '\\' or v.vmid = ${vmid})`);
  }
  return sql<VmRow>`select v.* from vm_inventory as v${
    owned ? sql` inner join vm_assignments as a on a.cluster_id = v.cluster_id and a.vmid = v.vmid` : sql``
  }${where.length ? sql` where ${sql.join(where, sql` and `)}` : sql``} order by v.cluster_id, v.vmid${
    filter.limit !== undefined ? sql` limit ${filter.limit}` : sql``
  }`;
}

type VmRow = Selectable<Database['vm_inventory']>;

/** A VM row as `json_agg` writes it: a double that is not finite (NaN, Infinity) is a string. */
type VmJsonRow = Omit<VmRow, 'cpu_usage' | 'memory_usage'> & {
  cpu_usage: number | string;
  memory_usage: number | string;
};

/** The record of a VM row read as JSON: the same values as the row read as columns. */
function vmFromJson(r: VmJsonRow): VmInventoryRecord {
  if (typeof r.cpu_usage === 'number' && typeof r.memory_usage === 'number') return mappers.vm(r as VmRow);
  return mappers.vm({ ...r, cpu_usage: Number(r.cpu_usage), memory_usage: Number(r.memory_usage) });
}

/** The VM inventory over kysely. */
export function inventoryRepository(
  db: Kysely<Database>,
  inTransaction: InTransaction,
  engine: Engine,
): VmInventoryRepository {
  return {
    upsertMany: (rows) =>
      inTransaction(async (tx) => {
        for (let i = 0; i < rows.length; i += UPSERT_CHUNK) {
          const chunk = rows.slice(i, i + UPSERT_CHUNK).map(mappers.vmRow);
          await tx
            .insertInto('vm_inventory')
            .values(chunk)
            .onConflict((oc) =>
              oc.columns(['cluster_id', 'vmid']).doUpdateSet((eb) => ({
                name: eb.ref('excluded.name'),
                node: eb.ref('excluded.node'),
                status: eb.ref('excluded.status'),
                ip: eb.ref('excluded.ip'),
                type: eb.ref('excluded.type'),
                category: eb.ref('excluded.category'),
                memory: eb.ref('excluded.memory'),
                cores: eb.ref('excluded.cores'),
                disk_size: eb.ref('excluded.disk_size'),
                uptime: eb.ref('excluded.uptime'),
                cpu_usage: eb.ref('excluded.cpu_usage'),
                memory_usage: eb.ref('excluded.memory_usage'),
                is_template: eb.ref('excluded.is_template'),
                tags: eb.ref('excluded.tags'),
                rdp_available: eb.ref('excluded.rdp_available'),
                ssh_available: eb.ref('excluded.ssh_available'),
                last_updated: eb.ref('excluded.last_updated'),
                last_status_check: eb.ref('excluded.last_status_check'),
                sync_error: eb.ref('excluded.sync_error'),
                gone_at: eb.ref('excluded.gone_at'),
                // A row without a count (the sync's) keeps the one the lab last saw.
                snapshots: eb.fn.coalesce('excluded.snapshots', 'vm_inventory.snapshots'),
                sync_key: eb.ref('excluded.sync_key'),
              })),
            )
            .execute();
        }
      }),
    async get(clusterId, vmid) {
      const row = await db
        .selectFrom('vm_inventory')
        .selectAll()
        .where('cluster_id', '=', clusterId)
        .where('vmid', '=', vmid)
        .executeTakeFirst();
      return row && mappers.vm(row);
    },
    async list(filter = {}) {
      const q = listQuery(engine, filter);
      return q ? (await q.execute(db)).rows.map(mappers.vm) : [];
    },
    async listWithSyncStates(filter = {}) {
      const q = listQuery(engine, filter);
      const ownerBound = filter.personId !== undefined || filter.classIds !== undefined;
      // SQLite answers in this process, so its two reads cost no round trip; a listing not bound
      // to an owner (an admin's, the sync's) is too large to send as one JSON value.
      if (engine === 'sqlite' || !q || !ownerBound) {
        const [vms, syncStates] = await Promise.all([q ? q.execute(db).then((r) => r.rows) : [], listSyncStates(db)]);
        return { vms: vms.map(mappers.vm), syncStates };
      }
      // PostgreSQL, a person's or classes' VMs: one statement, one row of two JSON arrays.
      const row = await sql<{ vms: VmJsonRow[]; sync_states: Selectable<Database['sync_state']>[] }>`select
          (select coalesce(json_agg(l order by l.cluster_id, l.vmid), '[]') from (${q}) as l) as vms,
          (select coalesce(json_agg(s order by s.cluster_id), '[]') from sync_state as s) as sync_states`
        .execute(db)
        .then((r) => r.rows[0]!);
      return { vms: row.vms.map(vmFromJson), syncStates: row.sync_states.map(mappers.syncState) };
    },
    async listSyncKeys(clusterId) {
      // All from the `vm_inventory_sync` index (no row is read), packed into one JSON array: at
      // 10,000 rows a cluster, the drivers' building an object a row cost more than the read.
      const flags = sql`(case when gone_at is null then 0 else ${sql.lit(VM_SYNC_FLAGS.gone)} end)
        + (case when status = 'running' then ${sql.lit(VM_SYNC_FLAGS.running)} else 0 end)
        + (case when ip is null then 0 else ${sql.lit(VM_SYNC_FLAGS.ip)} end)
        + rdp_available * ${sql.lit(VM_SYNC_FLAGS.rdp)} + ssh_available * ${sql.lit(VM_SYNC_FLAGS.ssh)}`;
      // SQLite answers the JSON as text, PostgreSQL's driver parses it.
      const packed: RawBuilder<string | SyncKeyTuple[]> =
        engine === 'sqlite'
          ? sql`json_group_array(json_array(vmid, sync_key, ip, ${flags}))`
          : sql`coalesce(json_agg(json_build_array(vmid, sync_key, ip, ${flags})), '[]'::json)`;
      const { keys } = await db
        .selectFrom('vm_inventory')
        .select(packed.as('keys'))
        .where('cluster_id', '=', clusterId)
        .executeTakeFirstOrThrow();
      const tuples = typeof keys === 'string' ? (JSON.parse(keys) as SyncKeyTuple[]) : keys;
      return tuples.map(([vmid, syncKey, ip, flagBits]) => ({ vmid, syncKey, ip, flags: flagBits }));
    },
    async update(clusterId, vmid, patch) {
      const set = mappers.vmPatch(patch);
      if (Object.keys(set).length === 0) return (await this.get(clusterId, vmid)) !== undefined;
      const result = await db
        .updateTable('vm_inventory')
        .set(set)
        .where('cluster_id', '=', clusterId)
        .where('vmid', '=', vmid)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async markGone(clusterId, presentVmids, at) {
      // One statement, the listed VMIDs in one parameter: no read of the cluster's rows into JS.
      const present = sql<boolean>`not ${vmidIn(engine, presentVmids, 'vmid')}`;
      const result = await db
        .updateTable('vm_inventory')
        .set({ gone_at: at })
        .where('cluster_id', '=', clusterId)
        .where('gone_at', 'is', null)
        .where(present)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    refreshListed: (clusterId, readings, at) =>
      inTransaction(async (tx) => {
        // One short statement per 10,000 readings, the readings in one parameter (a JSON text on
        // SQLite, arrays on PostgreSQL): a statement with four parameters per VM cost more to
        // build and prepare than to run. The VMs read get their `last_updated` in the same write.
        for (let i = 0; i < readings.length; i += READING_CHUNK) {
          const chunk = readings.slice(i, i + READING_CHUNK);
          if (engine === 'sqlite') {
            const json = JSON.stringify(chunk.map((r) => [r.vmid, r.uptime, r.cpuUsage, r.memoryUsage]));
            // Materialized, so SQLite walks the readings and finds each row by its key (left to
            // itself it may walk the cluster's rows and scan the readings for each).
            await sql`with r as materialized (
                select value ->> 0 as vmid, value ->> 1 as uptime, value ->> 2 as cpu_usage, value ->> 3 as memory_usage
                from json_each(${json}))
              update vm_inventory set uptime = r.uptime, cpu_usage = r.cpu_usage, memory_usage = r.memory_usage,
                last_updated = case when vm_inventory.gone_at is null then ${at} else vm_inventory.last_updated end
              from r where vm_inventory.cluster_id = ${clusterId} and vm_inventory.vmid = r.vmid`.execute(tx);
          } else {
            await sql`update vm_inventory set uptime = r.uptime, cpu_usage = r.cpu_usage, memory_usage = r.memory_usage,
                last_updated = case when vm_inventory.gone_at is null then ${at} else vm_inventory.last_updated end
              from unnest(${chunk.map((r) => r.vmid)}::integer[], ${chunk.map((r) => r.uptime)}::bigint[],
                ${chunk.map((r) => r.cpuUsage)}::double precision[], ${chunk.map((r) => r.memoryUsage)}::double precision[])
                as r(vmid, uptime, cpu_usage, memory_usage)
              where vm_inventory.cluster_id = ${clusterId} and vm_inventory.vmid = r.vmid`.execute(tx);
          }
        }
        // The rest: rows written above, or by this sync's upserts, already hold `at`.
        await tx
          .updateTable('vm_inventory')
          .set({ last_updated: at })
          .where('cluster_id', '=', clusterId)
          .where('gone_at', 'is', null)
          .where('last_updated', '<>', at)
          .execute();
      }),
    async count(clusterId) {
      let q = db.selectFrom('vm_inventory').select((eb) => eb.fn.countAll<number>().as('n'));
      if (clusterId !== undefined) q = q.where('cluster_id', '=', clusterId);
      const row = await q.executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

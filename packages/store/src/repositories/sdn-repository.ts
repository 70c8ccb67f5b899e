import type { SdnObjectRecord, SdnObjectState, SdnRepository } from '@lab/proxmox-sdk/store';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../database.js';

function recordOf(r: Selectable<Database['sdn_objects']>): SdnObjectRecord {
  return {
    clusterId: r.cluster_id,
    kind: r.kind as SdnObjectRecord['kind'],
    objectId: r.object_id,
    zone: r.zone,
    classId: r.class_id,
    student: r.student === '' ? null : r.student,
    cidr: r.cidr,
    gateway: r.gateway,
    tag: r.tag === null ? null : Number(r.tag),
    snat: Number(r.snat) === 1,
    dhcp: Number(r.dhcp) === 1,
    state: r.state as SdnObjectState,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/** The lab's SDN objects over kysely; the table's unique keys make `reserve` race-free across processes. */
export function sdnRepository(db: Kysely<Database>): SdnRepository {
  return {
    async list(clusterId, filter = {}) {
      let q = db.selectFrom('sdn_objects').selectAll().where('cluster_id', '=', clusterId);
      if (filter.classId !== undefined) q = q.where('class_id', '=', filter.classId);
      const rows = await q.orderBy('kind', 'desc').orderBy('object_id').execute();
      return rows.map(recordOf);
    },
    async get(clusterId, objectId) {
      const row = await db
        .selectFrom('sdn_objects')
        .selectAll()
        .where('cluster_id', '=', clusterId)
        .where('object_id', '=', objectId)
        .executeTakeFirst();
      return row && recordOf(row);
    },
    async reserve(record) {
      const result = await db
        .insertInto('sdn_objects')
        .values({
          cluster_id: record.clusterId,
          object_id: record.objectId,
          kind: record.kind,
          zone: record.zone,
          class_id: record.classId,
          student: record.student ?? '',
          cidr: record.cidr,
          gateway: record.gateway,
          tag: record.tag,
          snat: record.snat ? 1 : 0,
          dhcp: record.dhcp ? 1 : 0,
          state: record.state,
          created_at: record.createdAt,
          updated_at: record.updatedAt,
        })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
    },
    async setState(clusterId, objectId, state, at) {
      const result = await db
        .updateTable('sdn_objects')
        .set({ state, updated_at: at })
        .where('cluster_id', '=', clusterId)
        .where('object_id', '=', objectId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async remove(clusterId, objectId) {
      const result = await db
        .deleteFrom('sdn_objects')
        .where('cluster_id', '=', clusterId)
        .where('object_id', '=', objectId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
  };
}

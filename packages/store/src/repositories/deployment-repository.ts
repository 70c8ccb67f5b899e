import { RecordNotFoundError, UnknownReferenceError } from '@lab/proxmox-sdk/errors';
import type { DeploymentRepository } from '@lab/proxmox-sdk/store';
import type { Kysely } from 'kysely';
import { isForeignKeyViolation, uniqueName } from '../constraint-violations.js';
import type { Database } from '../database.js';
import { mappers } from '../row-mappers.js';
import type { InTransaction } from './in-transaction.js';

/** Deployments and their items over kysely. */
export function deploymentRepository(db: Kysely<Database>, inTransaction: InTransaction): DeploymentRepository {
  return {
    create: (d, items) =>
      inTransaction(async (tx) => {
        await uniqueName('deployment', d.id, () =>
          tx
            .insertInto('deployments')
            .values({
              id: d.id,
              class_id: d.classId,
              cluster_id: d.clusterId,
              spec: JSON.stringify(d.spec ?? null),
              status: d.status,
              created_by: d.createdBy,
              created_at: d.createdAt,
              updated_at: d.updatedAt,
              finished_at: d.finishedAt,
              error: d.error,
              notify: d.notify ? JSON.stringify(d.notify) : null,
            })
            .execute(),
        );
        for (const item of items)
          await uniqueName('deployment item', item.name, () =>
            tx.insertInto('deployment_items').values(mappers.itemRow(item)).execute(),
          );
      }),
    async get(id) {
      const row = await db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
      return row && mappers.deployment(row);
    },
    async list(filter = {}) {
      let q = db.selectFrom('deployments').selectAll();
      if (filter.classId !== undefined) q = q.where('class_id', '=', filter.classId);
      if (filter.status !== undefined) q = q.where('status', '=', filter.status);
      return (await q.orderBy('created_at', 'desc').orderBy('id').execute()).map(mappers.deployment);
    },
    async unfinished() {
      return (
        await db
          .selectFrom('deployments')
          .selectAll()
          .where('status', 'in', ['planned', 'running'])
          .orderBy('created_at')
          .execute()
      ).map(mappers.deployment);
    },
    async update(id, patch, at) {
      const result = await db
        .updateTable('deployments')
        .set({
          ...(patch.status !== undefined ? { status: patch.status } : {}),
          ...(patch.error !== undefined ? { error: patch.error } : {}),
          ...(patch.finishedAt !== undefined ? { finished_at: patch.finishedAt } : {}),
          ...(patch.spec !== undefined ? { spec: JSON.stringify(patch.spec) } : {}),
          ...(patch.notify !== undefined
            ? { notify: patch.notify === null ? null : JSON.stringify(patch.notify) }
            : {}),
          updated_at: at,
        })
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) throw new RecordNotFoundError('deployment', id);
    },
    async items(deploymentId) {
      return (
        await db
          .selectFrom('deployment_items')
          .selectAll()
          .where('deployment_id', '=', deploymentId)
          .orderBy('name')
          .execute()
      ).map(mappers.item);
    },
    async upsertItem(item) {
      const row = mappers.itemRow(item);
      const { deployment_id: _d, name: _n, ...update } = row;
      try {
        await db
          .insertInto('deployment_items')
          .values(row)
          .onConflict((oc) => oc.columns(['deployment_id', 'name']).doUpdateSet(update))
          .execute();
      } catch (error) {
        if (isForeignKeyViolation(error))
          throw new UnknownReferenceError('deployment', item.deploymentId, { cause: error });
        throw error;
      }
    },
    async updateItem(deploymentId, name, patch) {
      const set: Record<string, unknown> = {};
      if (patch.kind !== undefined) set.kind = patch.kind;
      if (patch.personId !== undefined) set.person_id = patch.personId;
      if (patch.node !== undefined) set.node = patch.node;
      if (patch.vmid !== undefined) set.vmid = patch.vmid;
      if (patch.status !== undefined) set.status = patch.status;
      if (patch.attempt !== undefined) set.attempt = patch.attempt;
      if (patch.error !== undefined) set.error = patch.error;
      if (patch.updatedAt !== undefined) set.updated_at = patch.updatedAt;
      const result = await db
        .updateTable('deployment_items')
        .set(set)
        .where('deployment_id', '=', deploymentId)
        .where('name', '=', name)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0)
        throw new RecordNotFoundError('deployment item', `${deploymentId}/${name}`);
    },
  };
}

import { DuplicateTemplateMappingError, RecordNotFoundError, UnknownReferenceError } from '@lab/proxmox-sdk/errors';
import type { TemplateInventoryRepository, TemplateRepository } from '@lab/proxmox-sdk/store';
import type { Kysely } from 'kysely';
import { isUniqueViolation, uniqueName } from '../constraint-violations.js';
import type { Database } from '../database.js';
import { mappers } from '../row-mappers.js';
import type { InTransaction } from './in-transaction.js';

/** Templates and their node mappings over kysely. */
export function templateRepository(db: Kysely<Database>, inTransaction: InTransaction): TemplateRepository {
  const repo: TemplateRepository = {
    create: (template, mappings, at) =>
      inTransaction(async (tx) => {
        const row = await uniqueName('template', template.name, () =>
          tx
            .insertInto('templates')
            .values({
              name: template.name,
              description: template.description,
              memory: template.memory,
              cores: template.cores,
              is_active: mappers.flag(template.isActive),
              created_at: at,
              updated_at: at,
            })
            .returningAll()
            .executeTakeFirstOrThrow(),
        );
        for (const m of mappings) await insertMapping(tx, { templateId: row.id, ...m });
        return mappers.template(row);
      }),
    async update(id, patch, at) {
      const row = await uniqueName('template', patch.name ?? '', () =>
        db
          .updateTable('templates')
          .set({
            ...(patch.name !== undefined ? { name: patch.name } : {}),
            ...(patch.description !== undefined ? { description: patch.description } : {}),
            ...(patch.memory !== undefined ? { memory: patch.memory } : {}),
            ...(patch.cores !== undefined ? { cores: patch.cores } : {}),
            ...(patch.isActive !== undefined ? { is_active: mappers.flag(patch.isActive) } : {}),
            updated_at: at,
          })
          .where('id', '=', id)
          .returningAll()
          .executeTakeFirst(),
      );
      if (!row) throw new RecordNotFoundError('template', id);
      return mappers.template(row);
    },
    async get(id) {
      const row = await db.selectFrom('templates').selectAll().where('id', '=', id).executeTakeFirst();
      return row && mappers.template(row);
    },
    async getByName(name) {
      const row = await db.selectFrom('templates').selectAll().where('name', '=', name).executeTakeFirst();
      return row && mappers.template(row);
    },
    async list(options = {}) {
      let q = db.selectFrom('templates').selectAll().orderBy('name');
      if (options.activeOnly) q = q.where('is_active', '=', 1);
      return (await q.execute()).map(mappers.template);
    },
    async delete(id) {
      const result = await db.deleteFrom('templates').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async addMapping(mapping) {
      const exists = await db
        .selectFrom('templates')
        .select('id')
        .where('id', '=', mapping.templateId)
        .executeTakeFirst();
      if (!exists) throw new UnknownReferenceError('template', mapping.templateId);
      await insertMapping(db, mapping);
    },
    async removeMapping(templateId, clusterId, node) {
      const result = await db
        .deleteFrom('template_node_mappings')
        .where('template_id', '=', templateId)
        .where('cluster_id', '=', clusterId)
        .where('node', '=', node)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async mappings(templateId) {
      const rows = await db
        .selectFrom('template_node_mappings')
        .selectAll()
        .where('template_id', '=', templateId)
        .orderBy('cluster_id')
        .orderBy('node')
        .execute();
      return rows.map((r) => ({ templateId: r.template_id, clusterId: r.cluster_id, node: r.node, vmid: r.vmid }));
    },
  };
  return repo;
}

async function insertMapping(
  db: Kysely<Database>,
  m: { templateId: number; clusterId: string; node: string; vmid: number },
): Promise<void> {
  try {
    await db
      .insertInto('template_node_mappings')
      .values({ template_id: m.templateId, cluster_id: m.clusterId, node: m.node, vmid: m.vmid })
      .execute();
  } catch (error) {
    if (isUniqueViolation(error))
      throw new DuplicateTemplateMappingError(
        { templateId: m.templateId, clusterId: m.clusterId, node: m.node },
        { cause: error },
      );
    throw error;
  }
}

/** The template inventory over kysely. */
export function templateInventoryRepository(
  db: Kysely<Database>,
  inTransaction: InTransaction,
): TemplateInventoryRepository {
  return {
    async upsert(record) {
      const row = mappers.templateInventoryRow(record);
      const { cluster_id: _c, node: _n, vmid: _v, ...update } = row;
      await db
        .insertInto('template_inventory')
        .values(row)
        .onConflict((oc) => oc.columns(['cluster_id', 'node', 'vmid']).doUpdateSet(update))
        .execute();
    },
    async list(filter = {}) {
      let q = db.selectFrom('template_inventory').selectAll();
      if (filter.clusterId !== undefined) q = q.where('cluster_id', '=', filter.clusterId);
      if (filter.node !== undefined) q = q.where('node', '=', filter.node);
      if (filter.vmid !== undefined) q = q.where('vmid', '=', filter.vmid);
      if (filter.name !== undefined) q = q.where('name', '=', filter.name);
      if (filter.isReplica !== undefined) q = q.where('is_replica', '=', mappers.flag(filter.isReplica));
      if (filter.isClassTemplate !== undefined)
        q = q.where('is_class_template', '=', mappers.flag(filter.isClassTemplate));
      if (filter.classId !== undefined) q = q.where('class_id', '=', filter.classId);
      if (!filter.includeVanished) q = q.where('vanished_at', 'is', null);
      return (await q.orderBy('cluster_id').orderBy('node').orderBy('vmid').execute()).map(mappers.templateInventory);
    },
    markVanished: (clusterId, present, at) =>
      inTransaction(async (tx) => {
        const rows = await tx
          .selectFrom('template_inventory')
          .select(['node', 'vmid'])
          .where('cluster_id', '=', clusterId)
          .where('vanished_at', 'is', null)
          .execute();
        const keep = new Set(present.map((p) => `${p.node}/${p.vmid}`));
        let n = 0;
        for (const r of rows) {
          if (keep.has(`${r.node}/${r.vmid}`)) continue;
          await tx
            .updateTable('template_inventory')
            .set({ vanished_at: at, health: 'missing' })
            .where('cluster_id', '=', clusterId)
            .where('node', '=', r.node)
            .where('vmid', '=', r.vmid)
            .execute();
          n++;
        }
        return n;
      }),
    async setHealth(clusterId, node, vmid, health, at) {
      const result = await db
        .updateTable('template_inventory')
        .set({ health, last_verified_at: at })
        .where('cluster_id', '=', clusterId)
        .where('node', '=', node)
        .where('vmid', '=', vmid)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0)
        throw new RecordNotFoundError('template inventory entry', `${clusterId}/${node}/${vmid}`);
    },
  };
}

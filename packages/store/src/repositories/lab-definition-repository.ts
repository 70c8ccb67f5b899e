import { UnknownReferenceError } from '@lab/proxmox-sdk/errors';
import type { LabDefinitionRecord, LabDefinitionRepository, LabRoleRecord } from '@lab/proxmox-sdk/store';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../database.js';
import { StoreDataError } from '../store-data-error.js';

function rolesOf(classId: string, json: string): LabRoleRecord[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed))
    throw new StoreDataError({ what: `lab definition of ${classId}`, problem: 'its roles are not a list' });
  return parsed.map((r: Record<string, unknown>) => ({
    name: String(r.name),
    template: String(r.template),
    cores: typeof r.cores === 'number' ? r.cores : null,
    memory: typeof r.memory === 'number' ? r.memory : null,
  }));
}

function labOf(r: Selectable<Database['class_labs']>): LabDefinitionRecord {
  return {
    classId: r.class_id,
    roles: rolesOf(r.class_id, r.roles),
    network: {
      mode: r.network_mode as LabDefinitionRecord['network']['mode'],
      zone: r.network_zone,
      internet: r.internet as LabDefinitionRecord['network']['internet'],
    },
    updatedBy: r.updated_by,
    updatedAt: Number(r.updated_at),
  };
}

/** Lab definitions over kysely: one row per class, replaced whole; the roles are a JSON list. */
export function labDefinitionRepository(db: Kysely<Database>): LabDefinitionRepository {
  return {
    async get(classId) {
      const row = await db.selectFrom('class_labs').selectAll().where('class_id', '=', classId).executeTakeFirst();
      return row && labOf(row);
    },
    async list() {
      return (await db.selectFrom('class_labs').selectAll().orderBy('class_id').execute()).map(labOf);
    },
    async save(record) {
      if (!(await db.selectFrom('classes').select('id').where('id', '=', record.classId).executeTakeFirst()))
        throw new UnknownReferenceError('class', record.classId);
      const values = {
        roles: JSON.stringify(
          record.roles.map((r) => ({ name: r.name, template: r.template, cores: r.cores, memory: r.memory })),
        ),
        network_mode: record.network.mode,
        network_zone: record.network.zone,
        internet: record.network.internet,
        updated_by: record.updatedBy,
        updated_at: record.updatedAt,
      };
      await db
        .insertInto('class_labs')
        .values({ class_id: record.classId, ...values })
        .onConflict((oc) => oc.column('class_id').doUpdateSet(values))
        .execute();
    },
    async delete(classId) {
      const result = await db.deleteFrom('class_labs').where('class_id', '=', classId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

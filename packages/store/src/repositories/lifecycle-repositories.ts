import { DuplicateNameError, UnknownReferenceError } from '@lab/proxmox-sdk/errors';
import type {
  ClassBaseVersionRecord,
  ClassLifecycleRepository,
  SshKeyRecord,
  SshKeyRepository,
} from '@lab/proxmox-sdk/store';
import type { Kysely, Selectable } from 'kysely';
import { isForeignKeyViolation, isUniqueViolation } from '../constraint-violations.js';
import type { Database } from '../database.js';

const sshKey = (r: Selectable<Database['ssh_keys']>): SshKeyRecord => ({
  personId: r.person_id,
  key: r.key,
  type: r.type,
  fingerprint: r.fingerprint,
  comment: r.comment,
  addedAt: Number(r.added_at),
});
const baseVersion = (r: Selectable<Database['class_base_versions']>): ClassBaseVersionRecord => ({
  classId: r.class_id,
  version: r.version,
  name: r.name,
  clusterId: r.cluster_id,
  sourceVmid: r.source_vmid,
  snapshot: r.snapshot,
  note: r.note,
  createdBy: r.created_by,
  createdAt: Number(r.created_at),
});

/** SSH public keys over kysely. */
export function sshKeyRepository(db: Kysely<Database>): SshKeyRepository {
  return {
    async add(record) {
      if (!(await db.selectFrom('people').select('id').where('id', '=', record.personId).executeTakeFirst()))
        throw new UnknownReferenceError('person', record.personId);
      try {
        await db
          .insertInto('ssh_keys')
          .values({
            person_id: record.personId,
            fingerprint: record.fingerprint,
            key: record.key,
            type: record.type,
            comment: record.comment,
            added_at: record.addedAt,
          })
          .execute();
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) return false;
        if (isForeignKeyViolation(error)) throw new UnknownReferenceError('person', record.personId, { cause: error });
        throw error;
      }
    },
    async list(personId) {
      return (
        await db
          .selectFrom('ssh_keys')
          .selectAll()
          .where('person_id', '=', personId)
          .orderBy('added_at')
          .orderBy('fingerprint')
          .execute()
      ).map(sshKey);
    },
    async remove(personId, fingerprint) {
      const result = await db
        .deleteFrom('ssh_keys')
        .where('person_id', '=', personId)
        .where('fingerprint', '=', fingerprint)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

/** Class settings and base versions over kysely. */
export function classLifecycleRepository(db: Kysely<Database>): ClassLifecycleRepository {
  const classExists = async (classId: string) =>
    Boolean(await db.selectFrom('classes').select('id').where('id', '=', classId).executeTakeFirst());
  return {
    async settings(classId) {
      const row = await db.selectFrom('class_settings').selectAll().where('class_id', '=', classId).executeTakeFirst();
      return row && { classId: row.class_id, loginUser: row.login_user, ipconfig0: row.ipconfig0 };
    },
    async saveSettings(record) {
      if (!(await classExists(record.classId))) throw new UnknownReferenceError('class', record.classId);
      await db
        .insertInto('class_settings')
        .values({ class_id: record.classId, login_user: record.loginUser, ipconfig0: record.ipconfig0 })
        .onConflict((oc) =>
          oc.column('class_id').doUpdateSet({ login_user: record.loginUser, ipconfig0: record.ipconfig0 }),
        )
        .execute();
    },
    async addBaseVersion(record) {
      if (!(await classExists(record.classId))) throw new UnknownReferenceError('class', record.classId);
      try {
        await db
          .insertInto('class_base_versions')
          .values({
            class_id: record.classId,
            version: record.version,
            name: record.name,
            cluster_id: record.clusterId,
            source_vmid: record.sourceVmid,
            snapshot: record.snapshot,
            note: record.note,
            created_by: record.createdBy,
            created_at: record.createdAt,
          })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error))
          throw new DuplicateNameError('base version', `${record.classId} v${record.version}`, { cause: error });
        throw error;
      }
    },
    async baseVersions(classId) {
      return (
        await db
          .selectFrom('class_base_versions')
          .selectAll()
          .where('class_id', '=', classId)
          .orderBy('version')
          .execute()
      ).map(baseVersion);
    },
    async removeBaseVersion(classId, version) {
      const result = await db
        .deleteFrom('class_base_versions')
        .where('class_id', '=', classId)
        .where('version', '=', version)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

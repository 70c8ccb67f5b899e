import {
  IdentityTakenError,
  PersonAlreadyLinkedError,
  RecordNotFoundError,
  UnknownReferenceError,
} from '@lab/proxmox-sdk/errors';
import { assertIdentityPlatformId } from '@lab/proxmox-sdk';
import type { ClassRepository } from '@lab/proxmox-sdk/store';
import type { Kysely } from 'kysely';
import { isUniqueViolation, uniqueName, violatesPersonPlatform } from '../constraint-violations.js';
import type { Database } from '../database.js';
import { read, rowSchemas as schemas } from '../row-schemas.js';
import { mappers } from '../row-mappers.js';

async function requirePerson(db: Kysely<Database>, id: number): Promise<void> {
  if (!(await db.selectFrom('people').select('id').where('id', '=', id).executeTakeFirst()))
    throw new UnknownReferenceError('person', id);
}

async function requireClass(db: Kysely<Database>, id: string): Promise<void> {
  if (!(await db.selectFrom('classes').select('id').where('id', '=', id).executeTakeFirst()))
    throw new UnknownReferenceError('class', id);
}

/** People, identities, classes, membership and VM assignments over kysely. */
export function classRepository(db: Kysely<Database>): ClassRepository {
  return {
    async createPerson(person, at) {
      const row = await uniqueName('person', person.username, () =>
        db
          .insertInto('people')
          .values({
            username: person.username,
            display_name: person.displayName,
            email: person.email ?? null,
            role: person.role,
            created_at: at,
          })
          .returningAll()
          .executeTakeFirstOrThrow(),
      );
      return mappers.person(row);
    },
    async updatePerson(personId, patch) {
      const set = {
        ...(patch.displayName !== undefined ? { display_name: patch.displayName } : {}),
        ...(patch.email !== undefined ? { email: patch.email } : {}),
        ...(patch.role !== undefined ? { role: patch.role } : {}),
      };
      const row = Object.keys(set).length
        ? await db.updateTable('people').set(set).where('id', '=', personId).returningAll().executeTakeFirst()
        : await db.selectFrom('people').selectAll().where('id', '=', personId).executeTakeFirst();
      if (!row) throw new RecordNotFoundError('person', personId);
      return mappers.person(row);
    },
    async deletePerson(personId) {
      // Foreign keys cascade to identities, memberships and invite uses, and null owners elsewhere.
      const result = await db.deleteFrom('people').where('id', '=', personId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async getPerson(id) {
      const row = await db.selectFrom('people').selectAll().where('id', '=', id).executeTakeFirst();
      return row && mappers.person(row);
    },
    async getPeople(ids) {
      if (ids.length === 0) return [];
      return (await db.selectFrom('people').selectAll().where('id', 'in', ids).orderBy('id').execute()).map(
        mappers.person,
      );
    },
    async getPersonByUsername(username) {
      const row = await db.selectFrom('people').selectAll().where('username', '=', username).executeTakeFirst();
      return row && mappers.person(row);
    },
    async listPeople() {
      return (await db.selectFrom('people').selectAll().orderBy('username').execute()).map(mappers.person);
    },
    async setRole(personId, role) {
      const result = await db.updateTable('people').set({ role }).where('id', '=', personId).executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) throw new RecordNotFoundError('person', personId);
    },
    async linkIdentity(identity) {
      assertIdentityPlatformId(identity.platform);
      await requirePerson(db, identity.personId);
      const existing = await db
        .selectFrom('identities')
        .select('person_id')
        .where('platform', '=', identity.platform)
        .where('external_id', '=', identity.externalId)
        .executeTakeFirst();
      if (existing && existing.person_id !== identity.personId)
        throw new IdentityTakenError({ ...identity, ownerId: existing.person_id });
      if (existing) return;
      const other = await db
        .selectFrom('identities')
        .select('external_id')
        .where('person_id', '=', identity.personId)
        .where('platform', '=', identity.platform)
        .executeTakeFirst();
      if (other) throw new PersonAlreadyLinkedError(identity);
      try {
        await db
          .insertInto('identities')
          .values({ person_id: identity.personId, platform: identity.platform, external_id: identity.externalId })
          .execute();
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // A parallel link won the race; the database says which rule it broke (nothing more can be
        // read in an aborted PostgreSQL transaction).
        if (violatesPersonPlatform(error)) throw new PersonAlreadyLinkedError(identity, { cause: error });
        const owner = await db
          .selectFrom('identities')
          .select('person_id')
          .where('platform', '=', identity.platform)
          .where('external_id', '=', identity.externalId)
          .executeTakeFirst();
        if (owner && owner.person_id !== identity.personId)
          throw new IdentityTakenError({ ...identity, ownerId: owner.person_id });
      }
    },
    async unlinkIdentity(platform, externalId) {
      const result = await db
        .deleteFrom('identities')
        .where('platform', '=', platform)
        .where('external_id', '=', externalId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async findByIdentity(platform, externalId) {
      const row = await db
        .selectFrom('identities as i')
        .innerJoin('people as p', 'p.id', 'i.person_id')
        .selectAll('p')
        .where('i.platform', '=', platform)
        .where('i.external_id', '=', externalId)
        .executeTakeFirst();
      return row && mappers.person(row);
    },
    async identitiesOf(personId) {
      const rows = await db
        .selectFrom('identities')
        .selectAll()
        .where('person_id', '=', personId)
        .orderBy('platform')
        .orderBy('external_id')
        .execute();
      return rows.map((r) => ({
        personId: r.person_id,
        platform: read(schemas.identityPlatform, r.platform, 'identity platform'),
        externalId: r.external_id,
      }));
    },
    async createClass(record, at) {
      if (
        record.templateId !== null &&
        !(await db.selectFrom('templates').select('id').where('id', '=', record.templateId).executeTakeFirst())
      ) {
        throw new UnknownReferenceError('template', record.templateId);
      }
      if (record.ownerId !== null) await requirePerson(db, record.ownerId);
      const row = await uniqueName('class', record.id, () =>
        db
          .insertInto('classes')
          .values({
            id: record.id,
            name: record.name,
            template_id: record.templateId,
            owner_id: record.ownerId,
            created_at: at,
            pinned_nodes: record.pinnedNodes?.length ? record.pinnedNodes.join(',') : null,
          })
          .returningAll()
          .executeTakeFirstOrThrow(),
      );
      return mappers.class(row);
    },
    async updateClass(id, patch) {
      if (
        patch.templateId != null &&
        !(await db.selectFrom('templates').select('id').where('id', '=', patch.templateId).executeTakeFirst())
      )
        throw new UnknownReferenceError('template', patch.templateId);
      if (patch.ownerId != null) await requirePerson(db, patch.ownerId);
      const set = {
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.templateId !== undefined ? { template_id: patch.templateId } : {}),
        ...(patch.ownerId !== undefined ? { owner_id: patch.ownerId } : {}),
        ...(patch.pinnedNodes !== undefined
          ? { pinned_nodes: patch.pinnedNodes?.length ? patch.pinnedNodes.join(',') : null }
          : {}),
      };
      const row = Object.keys(set).length
        ? await db.updateTable('classes').set(set).where('id', '=', id).returningAll().executeTakeFirst()
        : await db.selectFrom('classes').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw new RecordNotFoundError('class', id);
      return mappers.class(row);
    },
    async getClass(id) {
      const row = await db.selectFrom('classes').selectAll().where('id', '=', id).executeTakeFirst();
      return row && mappers.class(row);
    },
    async listClasses() {
      return (await db.selectFrom('classes').selectAll().orderBy('id').execute()).map(mappers.class);
    },
    async deleteClass(id) {
      const result = await db.deleteFrom('classes').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async addMember(member) {
      await requireClass(db, member.classId);
      await requirePerson(db, member.personId);
      await db
        .insertInto('class_members')
        .values({ class_id: member.classId, person_id: member.personId, role: member.role })
        .onConflict((oc) => oc.columns(['class_id', 'person_id']).doUpdateSet({ role: member.role }))
        .execute();
    },
    async removeMember(classId, personId) {
      const result = await db
        .deleteFrom('class_members')
        .where('class_id', '=', classId)
        .where('person_id', '=', personId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async members(classId) {
      const rows = await db
        .selectFrom('class_members')
        .selectAll()
        .where('class_id', '=', classId)
        .orderBy('person_id')
        .execute();
      return rows.map((r) => ({
        classId: r.class_id,
        personId: r.person_id,
        role: read(schemas.memberRole, r.role, 'member role'),
      }));
    },
    async classesOf(personId) {
      const rows = await db
        .selectFrom('class_members')
        .selectAll()
        .where('person_id', '=', personId)
        .orderBy('class_id')
        .execute();
      return rows.map((r) => ({
        classId: r.class_id,
        personId: r.person_id,
        role: read(schemas.memberRole, r.role, 'member role'),
      }));
    },
    async assignVm(a, at) {
      if (a.personId !== null) await requirePerson(db, a.personId);
      if (a.classId !== null) await requireClass(db, a.classId);
      const row = {
        cluster_id: a.clusterId,
        vmid: a.vmid,
        person_id: a.personId,
        class_id: a.classId,
        role: a.role,
        created_at: at,
      };
      await db
        .insertInto('vm_assignments')
        .values(row)
        .onConflict((oc) =>
          oc
            .columns(['cluster_id', 'vmid'])
            .doUpdateSet({ person_id: a.personId, class_id: a.classId, role: a.role, created_at: at }),
        )
        .execute();
    },
    async unassignVm(clusterId, vmid) {
      const result = await db
        .deleteFrom('vm_assignments')
        .where('cluster_id', '=', clusterId)
        .where('vmid', '=', vmid)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async assignment(clusterId, vmid) {
      const row = await db
        .selectFrom('vm_assignments')
        .selectAll()
        .where('cluster_id', '=', clusterId)
        .where('vmid', '=', vmid)
        .executeTakeFirst();
      return row && mappers.assignment(row);
    },
    async assignmentsOf(personId) {
      return (
        await db
          .selectFrom('vm_assignments')
          .selectAll()
          .where('person_id', '=', personId)
          .orderBy('cluster_id')
          .orderBy('vmid')
          .execute()
      ).map(mappers.assignment);
    },
    async assignmentsOfClass(classId) {
      return (
        await db
          .selectFrom('vm_assignments')
          .selectAll()
          .where('class_id', '=', classId)
          .orderBy('cluster_id')
          .orderBy('vmid')
          .execute()
      ).map(mappers.assignment);
    },
  };
}

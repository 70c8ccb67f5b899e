import { beforeEach, describe, expect, it } from 'vitest';
import { DirectoryPersonInvalidError } from '../src/errors/index.js';
import { GroupMapping, type Store } from '../src/index.js';
import { directoryGroupsSchema } from '../src/directory/directory-config.js';
import { enrolFromGroups } from '../src/directory/group-enrolment.js';
import { createMemoryStore } from '../src/testing/index.js';

const T0 = Date.UTC(2026, 8, 1);
const clock = { now: () => T0, sleep: async () => undefined };

const mapping = new GroupMapping(
  directoryGroupsSchema.parse({
    'cn=CS101 Students,ou=Groups,dc=school,dc=example': { class: 'cs101', role: 'student' },
    'cs101-teachers': { class: 'cs101', role: 'teacher' },
    'net201-students': [{ class: 'net201', role: 'student' }],
    'lab-admins': { admin: true },
    'ghost-students': { class: 'ghost', role: 'student' },
  }),
);

describe('the group mapping', () => {
  it('matches a DN key by DN whatever the case and spacing, and a name key by cn or claim value', () => {
    expect(mapping.grantsFor(['CN=cs101 students, OU=groups,DC=School,DC=Example'])).toEqual([
      { kind: 'class', classId: 'cs101', role: 'student' },
    ]);
    expect(mapping.grantsFor(['cn=CS101-Teachers,ou=nested,dc=school,dc=example'])).toEqual([
      { kind: 'class', classId: 'cs101', role: 'teacher' },
    ]);
    expect(mapping.grantsFor(['Lab-Admins'])).toEqual([{ kind: 'admin' }]);
    // A DN key is not matched by the bare name: the DN says which group of that name is meant.
    expect(mapping.grantsFor(['CS101 Students'])).toEqual([]);
    expect(mapping.grantsFor(['cn=cs101 students,ou=other,dc=school,dc=example'])).toEqual([]);
    expect([...mapping.managedClasses].sort()).toEqual(['cs101', 'ghost', 'net201']);
  });

  it('refuses a configuration that grants nothing usable, naming what is wrong', () => {
    const bad = directoryGroupsSchema.safeParse({ 'cs101-students': { class: 'CS 101', role: 'student' } });
    expect(bad.success).toBe(false);
    expect(directoryGroupsSchema.safeParse({ x: { class: 'cs101', role: 'owner' } }).success).toBe(false);
    expect(directoryGroupsSchema.safeParse({ x: { admin: false } }).success).toBe(false);
  });
});

describe('enrolFromGroups (the rules of every sign-in and sync)', () => {
  let store: Store;
  beforeEach(async () => {
    store = createMemoryStore();
    const owner = await store.classes.createPerson({ username: 'lovelace', displayName: 'Ada', role: 'teacher' }, T0);
    await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: null, ownerId: owner.id }, T0);
    await store.classes.createClass({ id: 'net201', name: 'Networks', templateId: null, ownerId: null }, T0);
    await store.classes.createClass({ id: 'art', name: 'Art', templateId: null, ownerId: null }, T0);
  });

  it('creates a student from their groups, enrols them, audits every change as directory, and is idempotent', async () => {
    const first = await enrolFromGroups({ store, clock }, mapping, {
      username: 'Alice.B',
      displayName: '  Alice \u0007 Brown ',
      email: 'alice@school.example',
      groups: ['cn=cs101 students,ou=groups,dc=school,dc=example', 'net201-students', 'unmapped'],
    });
    expect(first.person).toMatchObject({ username: 'alice.b', displayName: 'Alice Brown', role: 'student' });
    expect(first.changes.map((c) => c.type)).toEqual(['create-person', 'enrol', 'enrol']);
    expect((await store.classes.classesOf(first.person!.id)).map((m) => m.classId).sort()).toEqual(['cs101', 'net201']);
    const audit = await store.audit.list({ actor: 'directory' });
    expect(audit.map((a) => a.action).sort()).toEqual([
      'directory.enrol',
      'directory.enrol',
      'directory.person.create',
    ]);
    expect(audit.every((a) => a.details.source === 'oidc')).toBe(true);

    const again = await enrolFromGroups({ store, clock }, mapping, {
      username: 'alice.b',
      displayName: 'Alice Brown',
      email: 'alice@school.example',
      groups: ['cn=cs101 students,ou=groups,dc=school,dc=example', 'net201-students'],
    });
    expect(again.changes).toEqual([]);
    expect(await store.audit.list({ actor: 'directory' })).toHaveLength(3);
  });

  it('unenrols a student who left a group by the /class unenrol rule: their VMs stay, as free seats', async () => {
    const { person } = await enrolFromGroups({ store, clock }, mapping, {
      username: 'bob',
      groups: ['cn=cs101 students,ou=groups,dc=school,dc=example'],
    });
    await store.classes.addMember({ classId: 'art', personId: person!.id, role: 'student' });
    await store.classes.assignVm(
      { clusterId: 'c', vmid: 101, personId: person!.id, classId: 'cs101', role: 'student' },
      T0,
    );
    const left = await enrolFromGroups({ store, clock }, mapping, { username: 'bob', groups: [] });
    expect(left.changes).toEqual([{ type: 'unenrol', username: 'bob', classId: 'cs101' }]);
    // Art is not kept by the directory: a hand-made enrolment there stays.
    expect((await store.classes.classesOf(person!.id)).map((m) => m.classId)).toEqual(['art']);
    expect(await store.classes.assignment('c', 101)).toMatchObject({ personId: null, classId: 'cs101' });
    expect(await store.classes.getPerson(person!.id)).toBeDefined();
    const [entry] = await store.audit.list({ action: 'directory.unenrol' });
    expect(entry!.details.freedVms).toEqual([{ clusterId: 'c', vmid: 101, name: 'VM 101' }]);
  });

  it('raises a role to what the groups grant but never lowers it, and never enrols a teacher as a student', async () => {
    const t = await enrolFromGroups({ store, clock }, mapping, { username: 'turing', groups: ['cs101-teachers'] });
    expect(t.person!.role).toBe('teacher');
    expect(await store.classes.members('cs101')).toContainEqual({
      classId: 'cs101',
      personId: t.person!.id,
      role: 'teacher',
    });
    const a = await enrolFromGroups({ store, clock }, mapping, {
      username: 'turing',
      groups: ['lab-admins', 'net201-students'],
    });
    expect(a.person!.role).toBe('admin');
    expect(a.notes).toContain('is an admin, so not enrolled as a student of net201');
    const none = await enrolFromGroups({ store, clock }, mapping, { username: 'turing', groups: [] });
    expect(none.person!.role).toBe('admin');
    // A teacher is never unenrolled by the directory.
    expect(await store.classes.members('cs101')).toContainEqual({
      classId: 'cs101',
      personId: t.person!.id,
      role: 'teacher',
    });
  });

  it('creates nobody for groups that grant nothing, and notes a class that does not exist', async () => {
    const nobody = await enrolFromGroups({ store, clock }, mapping, { username: 'eve', groups: ['staff'] });
    expect(nobody.person).toBeUndefined();
    expect(await store.classes.getPersonByUsername('eve')).toBeUndefined();
    const ghost = await enrolFromGroups({ store, clock }, mapping, { username: 'gus', groups: ['ghost-students'] });
    expect(ghost.notes).toContain('class ghost does not exist; create it with class create');
    expect(await store.classes.classesOf(ghost.person!.id)).toEqual([]);
  });

  it('refuses a username the lab cannot use, with a coded error, and changes nothing', async () => {
    await expect(
      enrolFromGroups({ store, clock }, mapping, { username: 'Robert"); DROP', groups: ['lab-admins'] }),
    ).rejects.toBeInstanceOf(DirectoryPersonInvalidError);
    expect(await store.audit.list({ actor: 'directory' })).toEqual([]);
    expect((await store.classes.listPeople()).map((p) => p.username)).toEqual(['lovelace']);
  });

  it('bounds the display name and drops an email that is not one, with a note', async () => {
    const r = await enrolFromGroups({ store, clock }, mapping, {
      username: 'long',
      displayName: 'x'.repeat(300),
      email: 'not an email',
      groups: ['net201-students'],
    });
    expect(r.person!.displayName).toHaveLength(100);
    expect(r.person!.email).toBeNull();
    expect(r.notes.join(' ')).toMatch(/not an email address/);
  });

  it('a dry run (apply: false) reports the changes and writes nothing', async () => {
    const r = await enrolFromGroups(
      { store, clock },
      mapping,
      { username: 'dry', groups: ['net201-students'] },
      { apply: false },
    );
    expect(r.changes.map((c) => c.type)).toEqual(['create-person', 'enrol']);
    expect(r.applied).toBe(false);
    expect(await store.classes.getPersonByUsername('dry')).toBeUndefined();
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VmInventoryRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { vmSyncKey } from '../store/vm-sync-key.js';
import type { SdnObjectRecord } from '../store/sdn-repository.js';
import {
  DuplicateNameError,
  DuplicateTemplateMappingError,
  IdentityPlatformError,
  IdentityTakenError,
  PersonAlreadyLinkedError,
  RecordNotFoundError,
  StoreInTransactionError,
  UnknownReferenceError,
} from '../store/store-errors.js';

const T0 = 1_700_000_000_000;

function vm(vmid: number, patch: Partial<VmInventoryRecord> = {}): VmInventoryRecord {
  return {
    clusterId: 'lab',
    vmid,
    name: `vm-${vmid}`,
    node: 'pve1',
    status: 'running',
    ip: null,
    type: 'qemu',
    category: 'linux',
    memory: 2048,
    cores: 2,
    diskSize: 34359738368,
    uptime: 100,
    cpuUsage: 0.1,
    memoryUsage: 0.4,
    isTemplate: false,
    tags: '',
    rdpAvailable: false,
    sshAvailable: true,
    lastUpdated: T0,
    lastStatusCheck: null,
    syncError: null,
    goneAt: null,
    ...patch,
  };
}

/**
 * Registers the Store conformance suite with vitest: what every `Store` must do, whatever the
 * engine (rules, errors, ordering, transactions). Call it at the top level of a test file, once
 * per store under test; `openStore` must give a fresh, empty store for each test (it is closed
 * after the test). The memory store, SQLite and PostgreSQL all run it; so can a third-party store.
 *
 * @example
 * ```ts
 * import { describeStoreConformance } from '@lab/proxmox-sdk/testing';
 * describeStoreConformance('my-store', () => MyStore.open(freshUrl()));
 * ```
 */
export function describeStoreConformance(name: string, openStore: () => Promise<Store>): void {
  describe(`Store contract on ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await openStore();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('templates', () => {
      it('are created with their node mappings and read back by id and name', async () => {
        const t = await store.templates.create(
          { name: 'ubuntu-24.04', description: 'Ubuntu', memory: 2048, cores: 2, isActive: true },
          [
            { clusterId: 'lab', node: 'pve2', vmid: 9100 },
            { clusterId: 'lab', node: 'pve1', vmid: 9000 },
          ],
          T0,
        );
        expect(t).toMatchObject({
          name: 'ubuntu-24.04',
          memory: 2048,
          cores: 2,
          isActive: true,
          createdAt: T0,
          updatedAt: T0,
        });
        expect(await store.templates.get(t.id)).toEqual(t);
        expect(await store.templates.getByName('ubuntu-24.04')).toEqual(t);
        expect(await store.templates.mappings(t.id)).toEqual([
          { templateId: t.id, clusterId: 'lab', node: 'pve1', vmid: 9000 },
          { templateId: t.id, clusterId: 'lab', node: 'pve2', vmid: 9100 },
        ]);
      });

      it('refuse a second mapping for the same template and node', async () => {
        const t = await store.templates.create(
          { name: 'win11', description: '', memory: 4096, cores: 2, isActive: true },
          [{ clusterId: 'lab', node: 'pve1', vmid: 9001 }],
          T0,
        );
        const error = await store.templates
          .addMapping({ templateId: t.id, clusterId: 'lab', node: 'pve1', vmid: 9500 })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DuplicateTemplateMappingError);
        expect((error as Error).message).toBe(
          `template ${t.id} already has a VMID on node 'pve1' of cluster 'lab'; remove that mapping first to change it`,
        );
        await store.templates.addMapping({ templateId: t.id, clusterId: 'lab', node: 'pve2', vmid: 9501 });
        expect((await store.templates.mappings(t.id)).map((m) => m.vmid)).toEqual([9001, 9501]);
      });

      it('leave nothing behind when a create fails half-way', async () => {
        await expect(
          store.templates.create(
            { name: 'broken', description: '', memory: 1, cores: 1, isActive: true },
            [
              { clusterId: 'lab', node: 'pve1', vmid: 1 },
              { clusterId: 'lab', node: 'pve1', vmid: 2 },
            ],
            T0,
          ),
        ).rejects.toBeInstanceOf(DuplicateTemplateMappingError);
        expect(await store.templates.getByName('broken')).toBeUndefined();
        expect(await store.templates.list()).toEqual([]);
      });

      it('refuse a taken name and mappings for unknown templates', async () => {
        await store.templates.create({ name: 'dup', description: '', memory: 1, cores: 1, isActive: true }, [], T0);
        await expect(
          store.templates.create({ name: 'dup', description: '', memory: 1, cores: 1, isActive: true }, [], T0),
        ).rejects.toBeInstanceOf(DuplicateNameError);
        await expect(
          store.templates.addMapping({ templateId: 424242, clusterId: 'lab', node: 'pve1', vmid: 1 }),
        ).rejects.toBeInstanceOf(UnknownReferenceError);
      });

      it('update, list active ones and delete with their mappings', async () => {
        const a = await store.templates.create(
          { name: 'a', description: '', memory: 1, cores: 1, isActive: true },
          [{ clusterId: 'lab', node: 'pve1', vmid: 1 }],
          T0,
        );
        const b = await store.templates.create(
          { name: 'b', description: '', memory: 1, cores: 1, isActive: true },
          [],
          T0,
        );
        const updated = await store.templates.update(b.id, { isActive: false, memory: 8 }, T0 + 5);
        expect(updated).toMatchObject({ isActive: false, memory: 8, updatedAt: T0 + 5, createdAt: T0 });
        expect((await store.templates.list({ activeOnly: true })).map((t) => t.name)).toEqual(['a']);
        expect((await store.templates.list()).map((t) => t.name)).toEqual(['a', 'b']);
        expect(await store.templates.removeMapping(a.id, 'lab', 'pve1')).toBe(true);
        expect(await store.templates.removeMapping(a.id, 'lab', 'pve1')).toBe(false);
        expect(await store.templates.delete(a.id)).toBe(true);
        expect(await store.templates.get(a.id)).toBeUndefined();
        await expect(store.templates.update(a.id, { memory: 1 }, T0)).rejects.toBeInstanceOf(RecordNotFoundError);
      });
    });

    describe('template inventory', () => {
      const entry = (node: string, vmid: number, extra: object = {}) => ({
        clusterId: 'lab',
        node,
        vmid,
        name: 'ubuntu',
        isReplica: false,
        sourceVmid: null,
        sourceNode: null,
        isClassTemplate: false,
        classId: null,
        lastVerifiedAt: T0,
        health: 'ok' as const,
        vanishedAt: null,
        ...extra,
      });

      it('registers originals, replicas and class templates and filters them', async () => {
        await store.templateInventory.upsert(entry('pve1', 9000));
        await store.templateInventory.upsert(
          entry('pve2', 9100, { isReplica: true, sourceVmid: 9000, sourceNode: 'pve1' }),
        );
        await store.templateInventory.upsert(
          entry('pve1', 9500, { name: 'cs101-base', isClassTemplate: true, classId: 'cs101' }),
        );
        expect((await store.templateInventory.list()).map((r) => r.vmid)).toEqual([9000, 9500, 9100]);
        expect(await store.templateInventory.list({ isReplica: true })).toEqual([
          entry('pve2', 9100, { isReplica: true, sourceVmid: 9000, sourceNode: 'pve1' }),
        ]);
        expect((await store.templateInventory.list({ classId: 'cs101' })).map((r) => r.name)).toEqual(['cs101-base']);
        expect((await store.templateInventory.list({ name: 'ubuntu' })).map((r) => r.node)).toEqual(['pve1', 'pve2']);
        expect(
          (await store.templateInventory.list({ node: 'pve1', isClassTemplate: false })).map((r) => r.vmid),
        ).toEqual([9000]);
      });

      it('marks vanished templates instead of dropping them, and revives them when seen again', async () => {
        await store.templateInventory.upsert(entry('pve1', 9000));
        await store.templateInventory.upsert(entry('pve2', 9100));
        expect(await store.templateInventory.markVanished('lab', [{ node: 'pve1', vmid: 9000 }], T0 + 10)).toBe(1);
        expect((await store.templateInventory.list()).map((r) => r.vmid)).toEqual([9000]);
        const all = await store.templateInventory.list({ includeVanished: true });
        expect(all.find((r) => r.vmid === 9100)).toMatchObject({ vanishedAt: T0 + 10, health: 'missing' });
        await store.templateInventory.upsert(entry('pve2', 9100));
        expect((await store.templateInventory.list()).map((r) => r.vmid)).toEqual([9000, 9100]);
        await store.templateInventory.setHealth('lab', 'pve1', 9000, 'no-boot-disk', T0 + 20);
        expect((await store.templateInventory.list({ vmid: 9000 }))[0]).toMatchObject({
          health: 'no-boot-disk',
          lastVerifiedAt: T0 + 20,
        });
        await expect(store.templateInventory.setHealth('lab', 'pve9', 1, 'ok', T0)).rejects.toBeInstanceOf(
          RecordNotFoundError,
        );
      });
    });

    describe('people, classes and assignments', () => {
      it('link chat identities to people, once, and refuse a taken one', async () => {
        const alice = await store.classes.createPerson(
          { username: 'alice', displayName: 'Alice', role: 'student' },
          T0,
        );
        const bob = await store.classes.createPerson({ username: 'bob', displayName: 'Bob', role: 'teacher' }, T0);
        await store.classes.linkIdentity({ personId: alice.id, platform: 'slack', externalId: 'U123' });
        await store.classes.linkIdentity({ personId: alice.id, platform: 'slack', externalId: 'U123' });
        await store.classes.linkIdentity({ personId: alice.id, platform: 'discord', externalId: '998877' });
        expect(await store.classes.findByIdentity('slack', 'U123')).toEqual(alice);
        expect(await store.classes.findByIdentity('slack', 'U999')).toBeUndefined();
        expect(await store.classes.identitiesOf(alice.id)).toHaveLength(2);
        const taken = await store.classes
          .linkIdentity({ personId: bob.id, platform: 'slack', externalId: 'U123' })
          .catch((e: unknown) => e);
        expect(taken).toBeInstanceOf(IdentityTakenError);
        await expect(
          store.classes.createPerson({ username: 'alice', displayName: 'A2', role: 'admin' }, T0),
        ).rejects.toBeInstanceOf(DuplicateNameError);
        await store.classes.setRole(bob.id, 'admin');
        expect((await store.classes.getPersonByUsername('bob'))?.role).toBe('admin');
        expect((await store.classes.listPeople()).map((p) => p.username)).toEqual(['alice', 'bob']);
      });

      it('keep identities of any registered front end, and refuse a platform id that is not one', async () => {
        const alice = await store.classes.createPerson(
          { username: 'alice', displayName: 'Alice', role: 'student' },
          T0,
        );
        await store.classes.linkIdentity({ personId: alice.id, platform: 'mattermost', externalId: 'q8k3z1' });
        expect(await store.classes.findByIdentity('mattermost', 'q8k3z1')).toEqual(alice);
        expect(await store.classes.identitiesOf(alice.id)).toEqual([
          { personId: alice.id, platform: 'mattermost', externalId: 'q8k3z1' },
        ]);
        for (const platform of ['Slack', 'web:https://idp', '', 'x', "slack' OR 1=1"]) {
          const refused = await store.classes
            .linkIdentity({ personId: alice.id, platform, externalId: 'U123' })
            .catch((e: unknown) => e);
          expect(refused, platform).toBeInstanceOf(IdentityPlatformError);
        }
        expect(await store.classes.identitiesOf(alice.id)).toHaveLength(1);
      });

      it('refuse members and classes that refer to nothing', async () => {
        const alice = await store.classes.createPerson(
          { username: 'alice', displayName: 'Alice', role: 'student' },
          T0,
        );
        const unknownClass = await store.classes
          .addMember({ classId: 'nope', personId: alice.id, role: 'student' })
          .catch((e: unknown) => e);
        expect(unknownClass).toBeInstanceOf(UnknownReferenceError);
        expect((unknownClass as Error).message).toBe("no class 'nope' exists");
        await expect(
          store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: 777, ownerId: null }, T0),
        ).rejects.toBeInstanceOf(UnknownReferenceError);
        await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: alice.id }, T0);
        await expect(
          store.classes.createClass({ id: 'cs101', name: 'again', templateId: null, ownerId: null }, T0),
        ).rejects.toBeInstanceOf(DuplicateNameError);
        await expect(
          store.classes.addMember({ classId: 'cs101', personId: 4242, role: 'student' }),
        ).rejects.toBeInstanceOf(UnknownReferenceError);
        await expect(
          store.classes.assignVm({ clusterId: 'lab', vmid: 1, personId: null, classId: 'nope', role: 'base' }, T0),
        ).rejects.toBeInstanceOf(UnknownReferenceError);
      });

      it("change a class's name, template and owner in place", async () => {
        const t = await store.classes.createPerson({ username: 'teach', displayName: 'T', role: 'teacher' }, T0);
        const tpl = await store.templates.create(
          { name: 'ubuntu', description: '', memory: 1024, cores: 1, isActive: true },
          [],
          T0,
        );
        const c = await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: null, ownerId: null }, T0);
        expect(await store.classes.updateClass('cs101', { templateId: tpl.id, ownerId: t.id, name: 'CS 101' })).toEqual(
          { ...c, templateId: tpl.id, ownerId: t.id, name: 'CS 101' },
        );
        expect((await store.classes.getClass('cs101'))?.templateId).toBe(tpl.id);
        expect((await store.classes.updateClass('cs101', { templateId: null })).templateId).toBeNull();
        await expect(store.classes.updateClass('cs101', { templateId: 777 })).rejects.toBeInstanceOf(
          UnknownReferenceError,
        );
        await expect(store.classes.updateClass('nope', { name: 'x' })).rejects.toBeInstanceOf(RecordNotFoundError);
      });

      it('pin a class to nodes, keep the pin through other changes, and clear it', async () => {
        const c = await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: null, ownerId: null }, T0);
        expect(c.pinnedNodes).toBeNull();
        expect((await store.classes.updateClass('cs101', { pinnedNodes: ['pve1', 'pve3'] })).pinnedNodes).toEqual([
          'pve1',
          'pve3',
        ]);
        await store.classes.updateClass('cs101', { name: 'CS 101' });
        expect((await store.classes.getClass('cs101'))?.pinnedNodes).toEqual(['pve1', 'pve3']);
        expect((await store.classes.listClasses()).find((x) => x.id === 'cs101')?.pinnedNodes).toEqual([
          'pve1',
          'pve3',
        ]);
        expect((await store.classes.updateClass('cs101', { pinnedNodes: null })).pinnedNodes).toBeNull();
        expect((await store.classes.getClass('cs101'))?.pinnedNodes).toBeNull();
      });

      it('keep membership and VM ownership, one owner per VM', async () => {
        const t = await store.classes.createPerson({ username: 'teacher', displayName: 'T', role: 'teacher' }, T0);
        const s1 = await store.classes.createPerson({ username: 's1', displayName: 'S1', role: 'student' }, T0);
        const s2 = await store.classes.createPerson({ username: 's2', displayName: 'S2', role: 'student' }, T0);
        await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: t.id }, T0);
        await store.classes.addMember({ classId: 'cs101', personId: t.id, role: 'teacher' });
        await store.classes.addMember({ classId: 'cs101', personId: s1.id, role: 'student' });
        await store.classes.addMember({ classId: 'cs101', personId: s1.id, role: 'student' });
        expect(await store.classes.members('cs101')).toEqual([
          { classId: 'cs101', personId: t.id, role: 'teacher' },
          { classId: 'cs101', personId: s1.id, role: 'student' },
        ]);
        expect(await store.classes.classesOf(s1.id)).toEqual([{ classId: 'cs101', personId: s1.id, role: 'student' }]);
        await store.classes.assignVm(
          { clusterId: 'lab', vmid: 200, personId: s1.id, classId: 'cs101', role: 'student' },
          T0,
        );
        await store.classes.assignVm(
          { clusterId: 'lab', vmid: 200, personId: s2.id, classId: 'cs101', role: 'student' },
          T0 + 1,
        );
        expect(await store.classes.assignment('lab', 200)).toEqual({
          clusterId: 'lab',
          vmid: 200,
          personId: s2.id,
          classId: 'cs101',
          role: 'student',
          createdAt: T0 + 1,
        });
        expect(await store.classes.assignmentsOf(s1.id)).toEqual([]);
        expect((await store.classes.assignmentsOfClass('cs101')).map((a) => a.vmid)).toEqual([200]);
        expect(await store.classes.removeMember('cs101', s1.id)).toBe(true);
        expect(await store.classes.deleteClass('cs101')).toBe(true);
        expect(await store.classes.members('cs101')).toEqual([]);
        expect((await store.classes.assignment('lab', 200))?.classId).toBeNull();
        expect(await store.classes.unassignVm('lab', 200)).toBe(true);
        expect(await store.classes.assignment('lab', 200)).toBeUndefined();
      });
    });

    describe('people records and removal', () => {
      it('keep an optional email and change name, email and role in place', async () => {
        const ada = await store.classes.createPerson(
          { username: 'ada', displayName: 'Ada', email: 'ada@school.example', role: 'teacher' },
          T0,
        );
        const bob = await store.classes.createPerson({ username: 'bob', displayName: 'Bob', role: 'student' }, T0);
        expect(ada).toMatchObject({ username: 'ada', email: 'ada@school.example' });
        expect(bob.email).toBeNull();
        expect(await store.classes.getPerson(ada.id)).toEqual(ada);
        const changed = await store.classes.updatePerson(bob.id, {
          email: 'bob@school.example',
          displayName: 'Bob B.',
          role: 'teacher',
        });
        expect(changed).toEqual({ ...bob, email: 'bob@school.example', displayName: 'Bob B.', role: 'teacher' });
        expect(await store.classes.getPersonByUsername('bob')).toEqual(changed);
        expect(await store.classes.updatePerson(bob.id, {})).toEqual(changed);
        expect((await store.classes.updatePerson(bob.id, { email: null })).email).toBeNull();
        await expect(store.classes.updatePerson(4242, { email: 'x@y.z' })).rejects.toBeInstanceOf(RecordNotFoundError);
      });

      it('keep one account per person per platform, even when two links race, and unlink one', async () => {
        const carol = await store.classes.createPerson(
          { username: 'carol', displayName: 'Carol', role: 'student' },
          T0,
        );
        const links = await Promise.allSettled(
          ['U1', 'U2', 'U3', 'U4'].map((externalId) =>
            store.transaction((tx) => tx.classes.linkIdentity({ personId: carol.id, platform: 'slack', externalId })),
          ),
        );
        expect(links.filter((l) => l.status === 'fulfilled')).toHaveLength(1);
        for (const l of links.filter((x): x is PromiseRejectedResult => x.status === 'rejected'))
          expect(l.reason).toBeInstanceOf(PersonAlreadyLinkedError);
        const [kept] = await store.classes.identitiesOf(carol.id);
        expect(await store.classes.identitiesOf(carol.id)).toHaveLength(1);
        expect(await store.classes.unlinkIdentity('slack', kept!.externalId)).toBe(true);
        expect(await store.classes.unlinkIdentity('slack', kept!.externalId)).toBe(false);
        expect(await store.classes.findByIdentity('slack', kept!.externalId)).toBeUndefined();
        await store.classes.linkIdentity({ personId: carol.id, platform: 'slack', externalId: 'U9' });
        expect((await store.classes.findByIdentity('slack', 'U9'))?.username).toBe('carol');
      });

      it('count rate-limited attempts atomically: 60 at once under a limit of 5 let exactly 5 through', async () => {
        const hits = await Promise.all(
          Array.from({ length: 60 }, () => store.rateLimits.hit('join:slack:U1', 5, 60_000, T0)),
        );
        expect(hits.filter((h) => h.allowed)).toHaveLength(5);
        expect((await store.rateLimits.hit('join:slack:U1', 5, 60_000, T0 + 59_000)).allowed).toBe(false);
        await store.rateLimits.giveBack('join:slack:U1');
        expect(await store.rateLimits.hit('join:slack:U1', 5, 60_000, T0 + 59_000)).toEqual({
          allowed: true,
          count: 5,
        });
        expect(await store.rateLimits.hit('join:slack:U1', 5, 60_000, T0 + 60_000)).toEqual({
          allowed: true,
          count: 1,
        });
        expect((await store.rateLimits.hit('join:slack:U2', 5, 60_000, T0)).allowed).toBe(true);
      });

      it('keep join requests and decide each once, whoever decides at the same moment', async () => {
        const dana = await store.classes.createPerson({ username: 'dana', displayName: 'Dana', role: 'student' }, T0);
        await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: null }, T0);
        const request = {
          id: 'JR1',
          classId: 'cs101',
          personId: dana.id,
          platform: 'slack' as const,
          externalId: 'U7',
          codeHash: 'h',
          status: 'pending' as const,
          createdAt: T0,
          expiresAt: T0 + 1000,
          decidedBy: null,
          decidedAt: null,
        };
        await store.invites.requestJoin(request);
        await store.invites.requestJoin({ ...request, id: 'JR2', createdAt: T0 + 1 });
        await expect(store.invites.requestJoin({ ...request, classId: 'nope', id: 'JR3' })).rejects.toBeInstanceOf(
          UnknownReferenceError,
        );
        expect(await store.invites.joinRequest('JR1')).toEqual(request);
        expect((await store.invites.joinRequests({ classId: 'cs101' })).map((r) => r.id)).toEqual(['JR1', 'JR2']);
        const decisions = await Promise.all([
          store.invites.decideJoin('JR1', 'approved', 'teach', T0 + 5),
          store.invites.decideJoin('JR1', 'rejected', 'other', T0 + 5),
        ]);
        expect(decisions.filter(Boolean)).toHaveLength(1);
        expect(await store.invites.decideJoin('JR2', 'approved', 'teach', T0 + 1001)).toBeUndefined();
        expect((await store.invites.joinRequests({ status: 'pending' })).map((r) => r.id)).toEqual(['JR2']);
        expect((await store.invites.joinRequest('JR1'))?.decidedAt).toBe(T0 + 5);
      });

      it('remove a person with their identities, memberships and invite uses; their VMs and classes lose the owner', async () => {
        const t = await store.classes.createPerson({ username: 'teach', displayName: 'T', role: 'teacher' }, T0);
        const s1 = await store.classes.createPerson({ username: 's1', displayName: 'S1', role: 'student' }, T0);
        await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: null, ownerId: t.id }, T0);
        await store.classes.addMember({ classId: 'cs101', personId: t.id, role: 'teacher' });
        await store.classes.addMember({ classId: 'cs101', personId: s1.id, role: 'student' });
        await store.classes.linkIdentity({ personId: s1.id, platform: 'slack', externalId: 'US1' });
        await store.classes.assignVm(
          { clusterId: 'lab', vmid: 300, personId: s1.id, classId: 'cs101', role: 'student' },
          T0,
        );
        await store.invites.create({
          codeHash: 'h1',
          classId: 'cs101',
          createdBy: t.id,
          createdAt: T0,
          expiresAt: T0 + 1000,
          maxUses: 5,
        });
        expect(await store.invites.redeem('h1', s1.id, T0)).toBe('ok');
        expect(await store.classes.deletePerson(s1.id)).toBe(true);
        expect(await store.classes.deletePerson(s1.id)).toBe(false);
        expect(await store.classes.getPerson(s1.id)).toBeUndefined();
        expect(await store.classes.findByIdentity('slack', 'US1')).toBeUndefined();
        expect(await store.classes.members('cs101')).toEqual([{ classId: 'cs101', personId: t.id, role: 'teacher' }]);
        expect(await store.classes.assignment('lab', 300)).toMatchObject({ personId: null, classId: 'cs101' });
        // A new person can take the freed chat account.
        const s2 = await store.classes.createPerson({ username: 's2', displayName: 'S2', role: 'student' }, T0);
        await store.classes.linkIdentity({ personId: s2.id, platform: 'slack', externalId: 'US1' });
        expect(await store.classes.deletePerson(t.id)).toBe(true);
        expect((await store.classes.getClass('cs101'))?.ownerId).toBeNull();
        expect((await store.invites.get('h1'))?.createdBy).toBeNull();
      });
    });

    describe('SSH keys', () => {
      it('are kept per person once per fingerprint, oldest first, removed by fingerprint and with the person', async () => {
        const p = await store.classes.createPerson({ username: 'alice', displayName: 'A', role: 'student' }, T0);
        const key = (n: number) => ({
          personId: p.id,
          key: `ssh-ed25519 AAAA${n} alice@laptop`,
          type: 'ssh-ed25519',
          fingerprint: `SHA256:fp${n}`,
          comment: n === 1 ? 'alice@laptop' : null,
          addedAt: T0 + n,
        });
        expect(await store.sshKeys.add(key(2))).toBe(true);
        expect(await store.sshKeys.add(key(1))).toBe(true);
        expect(await store.sshKeys.add({ ...key(1), addedAt: T0 + 9 })).toBe(false);
        expect(await store.sshKeys.list(p.id)).toEqual([key(1), key(2)]);
        await expect(store.sshKeys.add({ ...key(3), personId: 999 })).rejects.toBeInstanceOf(UnknownReferenceError);
        expect(await store.sshKeys.remove(p.id, 'SHA256:fp1')).toBe(true);
        expect(await store.sshKeys.remove(p.id, 'SHA256:fp1')).toBe(false);
        expect(await store.sshKeys.list(p.id)).toEqual([key(2)]);
        await store.classes.deletePerson(p.id);
        expect(await store.sshKeys.list(p.id)).toEqual([]);
      });
    });

    describe('class settings and base versions', () => {
      it('keep one settings row per class and each base version once, oldest first, gone with the class', async () => {
        await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: null, ownerId: null }, T0);
        expect(await store.classLifecycle.settings('cs101')).toBeUndefined();
        await store.classLifecycle.saveSettings({ classId: 'cs101', loginUser: null, ipconfig0: 'ip=dhcp' });
        await store.classLifecycle.saveSettings({ classId: 'cs101', loginUser: 'student', ipconfig0: null });
        expect(await store.classLifecycle.settings('cs101')).toEqual({
          classId: 'cs101',
          loginUser: 'student',
          ipconfig0: null,
        });
        await expect(
          store.classLifecycle.saveSettings({ classId: 'nope', loginUser: null, ipconfig0: null }),
        ).rejects.toBeInstanceOf(UnknownReferenceError);
        const v = (version: number) => ({
          classId: 'cs101',
          version,
          name: version === 1 ? 'cs101-base' : `cs101-base-v${version}`,
          clusterId: 'lab',
          sourceVmid: 101,
          snapshot: version === 3 ? 'publish-v3' : null,
          note: `v${version}`,
          createdBy: 'lovelace',
          createdAt: T0 + version,
        });
        await store.classLifecycle.addBaseVersion(v(3));
        await store.classLifecycle.addBaseVersion(v(2));
        await expect(store.classLifecycle.addBaseVersion(v(2))).rejects.toBeInstanceOf(DuplicateNameError);
        await expect(store.classLifecycle.addBaseVersion({ ...v(4), classId: 'nope' })).rejects.toBeInstanceOf(
          UnknownReferenceError,
        );
        expect(await store.classLifecycle.baseVersions('cs101')).toEqual([v(2), v(3)]);
        expect(await store.classLifecycle.removeBaseVersion('cs101', 2)).toBe(true);
        expect(await store.classLifecycle.removeBaseVersion('cs101', 2)).toBe(false);
        await store.classes.deleteClass('cs101');
        expect(await store.classLifecycle.baseVersions('cs101')).toEqual([]);
        expect(await store.classLifecycle.settings('cs101')).toBeUndefined();
      });
    });

    describe('class schedules', () => {
      it('are kept per class with their skipped dates, listed in order, removed by id and gone with the class', async () => {
        await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: null, ownerId: null }, T0);
        await store.classes.createClass({ id: 'art', name: 'Art', templateId: null, ownerId: null }, T0);
        const base = {
          days: 'mon,wed',
          startTime: '09:00',
          endTime: '10:30',
          timezone: 'Europe/Berlin',
          startBeforeMin: 10,
          createdBy: 'lovelace',
          createdAt: T0,
        };
        const first = await store.schedules.add({ ...base, classId: 'cs101', skipDates: ['2026-12-24'] });
        const second = await store.schedules.add({ ...base, classId: 'cs101', days: 'fri', skipDates: [] });
        const art = await store.schedules.add({ ...base, classId: 'art', skipDates: [] });
        expect(first).toEqual({ ...base, id: first.id, classId: 'cs101', skipDates: ['2026-12-24'] });
        await expect(store.schedules.add({ ...base, classId: 'nope', skipDates: [] })).rejects.toBeInstanceOf(
          UnknownReferenceError,
        );
        expect(await store.schedules.list('cs101')).toEqual([first, second]);
        expect(await store.schedules.list()).toEqual([art, first, second]);
        expect(await store.schedules.remove('art', first.id)).toBe(false);
        expect(await store.schedules.remove('cs101', first.id)).toBe(true);
        await store.classes.deleteClass('cs101');
        expect(await store.schedules.list()).toEqual([art]);
      });
    });

    describe('class terms', () => {
      it('keep one term per class, replaced whole, listed by class and gone with the class', async () => {
        await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: null, ownerId: null }, T0);
        await store.classes.createClass({ id: 'art', name: 'Art', templateId: null, ownerId: null }, T0);
        const term = {
          classId: 'cs101',
          endsOn: '2027-06-30',
          timezone: 'Europe/Berlin',
          graceDays: 14,
          destroyConfirmedBy: null,
          destroyConfirmedAt: null,
          archivedAt: null,
        };
        await store.classTerms.save(term);
        await store.classTerms.save({ ...term, classId: 'art', endsOn: null, archivedAt: T0 });
        expect(await store.classTerms.get('cs101')).toEqual(term);
        const confirmed = { ...term, destroyConfirmedBy: 'lovelace', destroyConfirmedAt: T0 + 1 };
        await store.classTerms.save(confirmed);
        expect(await store.classTerms.get('cs101')).toEqual(confirmed);
        expect((await store.classTerms.list()).map((t) => t.classId)).toEqual(['art', 'cs101']);
        await expect(store.classTerms.save({ ...term, classId: 'nope' })).rejects.toBeInstanceOf(UnknownReferenceError);
        await store.classes.deleteClass('cs101');
        expect(await store.classTerms.get('cs101')).toBeUndefined();
        expect(await store.classTerms.list()).toEqual([{ ...term, classId: 'art', endsOn: null, archivedAt: T0 }]);
      });
    });

    describe('SDN objects (class networks)', () => {
      const vnet = (over: Partial<SdnObjectRecord> = {}): SdnObjectRecord => ({
        clusterId: 'lab',
        kind: 'vnet',
        objectId: 'labaaaaa',
        zone: 'labzone',
        classId: 'cs101',
        student: 'alice',
        cidr: '10.200.0.0/24',
        gateway: '10.200.0.1',
        tag: null,
        snat: true,
        dhcp: true,
        state: 'planned',
        createdAt: T0,
        updatedAt: T0,
        ...over,
      });
      it('reserves each id, owner, subnet and tag once, and moves records through their states', async () => {
        const zone = vnet({
          kind: 'zone',
          objectId: 'labzone',
          classId: null,
          student: null,
          cidr: null,
          gateway: null,
          snat: false,
        });
        expect(await store.sdn.reserve(zone)).toBe(true);
        expect(await store.sdn.reserve(vnet())).toBe(true);
        // The same id, the same class and student, the same subnet: refused.
        expect(await store.sdn.reserve(vnet({ student: 'bob', cidr: '10.200.1.0/24' }))).toBe(false);
        expect(await store.sdn.reserve(vnet({ objectId: 'labbbbbb', cidr: '10.200.1.0/24' }))).toBe(false);
        expect(await store.sdn.reserve(vnet({ objectId: 'labbbbbb', student: 'bob' }))).toBe(false);
        // A class's own network (no student) is one owner, distinct from its students'.
        expect(await store.sdn.reserve(vnet({ objectId: 'labcccc1', student: null, cidr: '10.200.2.0/24' }))).toBe(
          true,
        );
        expect(await store.sdn.reserve(vnet({ objectId: 'labcccc2', student: null, cidr: '10.200.3.0/24' }))).toBe(
          false,
        );
        // Tags are unique per zone.
        expect(
          await store.sdn.reserve(
            vnet({ objectId: 'labt1', zone: 'campus', student: 't1', cidr: '10.200.4.0/24', tag: 2000 }),
          ),
        ).toBe(true);
        expect(
          await store.sdn.reserve(
            vnet({ objectId: 'labt2', zone: 'campus', student: 't2', cidr: '10.200.5.0/24', tag: 2000 }),
          ),
        ).toBe(false);
        expect(
          await store.sdn.reserve(
            vnet({ objectId: 'labt3', zone: 'other', student: 't3', cidr: '10.200.6.0/24', tag: 2000 }),
          ),
        ).toBe(true);
        // Another cluster is another namespace.
        expect(await store.sdn.reserve(vnet({ clusterId: 'lab2' }))).toBe(true);

        expect((await store.sdn.list('lab')).map((r) => r.objectId)).toEqual([
          'labzone',
          'labaaaaa',
          'labcccc1',
          'labt1',
          'labt3',
        ]);
        expect((await store.sdn.list('lab', { classId: 'cs101' })).map((r) => r.objectId)).toEqual([
          'labaaaaa',
          'labcccc1',
          'labt1',
          'labt3',
        ]);
        expect(await store.sdn.get('lab', 'labaaaaa')).toEqual(vnet());
        expect(await store.sdn.get('lab', 'labzone')).toEqual(zone);
        expect(await store.sdn.setState('lab', 'labaaaaa', 'applied', T0 + 5)).toBe(true);
        expect(await store.sdn.get('lab', 'labaaaaa')).toEqual(vnet({ state: 'applied', updatedAt: T0 + 5 }));
        expect(await store.sdn.setState('lab', 'nope', 'applied', T0)).toBe(false);
        expect(await store.sdn.remove('lab', 'labaaaaa')).toBe(true);
        expect(await store.sdn.remove('lab', 'labaaaaa')).toBe(false);
        expect(await store.sdn.get('lab', 'labaaaaa')).toBeUndefined();
        expect((await store.sdn.get('lab2', 'labaaaaa'))?.clusterId).toBe('lab2');
      });
    });

    describe('lab definitions', () => {
      it('keep one lab definition per class, replaced whole, listed by class and gone with the class', async () => {
        await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: null, ownerId: null }, T0);
        await store.classes.createClass({ id: 'art', name: 'Art', templateId: null, ownerId: null }, T0);
        const lab = {
          classId: 'cs101',
          roles: [
            { name: 'attacker', template: 'kali-2026', cores: null, memory: null },
            { name: 'target', template: 'metaspl-3', cores: 2, memory: 4096 },
          ],
          network: { mode: 'student' as const, zone: 'labzone', internet: 'none' as const },
          updatedBy: 'lovelace',
          updatedAt: T0,
        };
        await store.labDefinitions.save(lab);
        const art = {
          ...lab,
          classId: 'art',
          roles: [lab.roles[0]!],
          network: { mode: 'bridge' as const, zone: null, internet: 'snat' as const },
        };
        await store.labDefinitions.save(art);
        expect(await store.labDefinitions.get('cs101')).toEqual(lab);
        const changed = { ...lab, roles: [lab.roles[1]!], updatedAt: T0 + 1 };
        await store.labDefinitions.save(changed);
        expect(await store.labDefinitions.get('cs101')).toEqual(changed);
        expect((await store.labDefinitions.list()).map((t) => t.classId)).toEqual(['art', 'cs101']);
        await expect(store.labDefinitions.save({ ...lab, classId: 'nope' })).rejects.toBeInstanceOf(
          UnknownReferenceError,
        );
        expect(await store.labDefinitions.delete('art')).toBe(true);
        expect(await store.labDefinitions.delete('art')).toBe(false);
        await store.classes.deleteClass('cs101');
        expect(await store.labDefinitions.get('cs101')).toBeUndefined();
        expect(await store.labDefinitions.list()).toEqual([]);
      });
    });

    describe('class time policies and the usage ledger', () => {
      it('keep one policy per class, gone with the class', async () => {
        await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: null, ownerId: null }, T0);
        const policy = {
          classId: 'cs101',
          quotaHours: 2.5,
          maxRunning: 1,
          maxRunningInClass: 20,
          idleCpuBelowPercent: 5,
          idleForMinutes: 30,
          keepsPerSession: 1,
          idleWarnMinutes: null,
        };
        await store.usage.savePolicy(policy);
        await store.usage.savePolicy({ ...policy, maxRunning: null });
        expect(await store.usage.policy('cs101')).toEqual({ ...policy, maxRunning: null });
        await store.usage.savePolicy({ ...policy, keepsPerSession: 0, idleWarnMinutes: 3 });
        expect(await store.usage.policy('cs101')).toEqual({ ...policy, keepsPerSession: 0, idleWarnMinutes: 3 });
        await store.usage.savePolicy({ ...policy, idleInSessions: true });
        expect(await store.usage.policy('cs101')).toEqual({ ...policy, idleInSessions: true });
        await store.usage.savePolicy({ ...policy, idleInSessions: false });
        expect(await store.usage.policy('cs101')).toEqual(policy);
        await store.usage.savePolicy({ ...policy, maxSnapshots: 0 });
        expect(await store.usage.policy('cs101')).toEqual({ ...policy, maxSnapshots: 0 });
        const signals = { ...policy, idleUsers: true, consoleNeverIdle: false, neverConnectedMinutes: 20 };
        await store.usage.savePolicy(signals);
        expect(await store.usage.policy('cs101')).toEqual(signals);
        await store.usage.savePolicy({
          ...policy,
          idleUsers: false,
          consoleNeverIdle: true,
          neverConnectedMinutes: null,
        });
        expect(await store.usage.policy('cs101')).toEqual(policy);
        await expect(store.usage.savePolicy({ ...policy, classId: 'nope' })).rejects.toBeInstanceOf(
          UnknownReferenceError,
        );
        await store.classes.deleteClass('cs101');
        expect(await store.usage.policy('cs101')).toBeUndefined();
      });

      it('apply a quota top-up once per idempotency key, even when two arrive at once, and forget it with the class', async () => {
        await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: null, ownerId: null }, T0);
        const alice = await store.classes.createPerson({ username: 'alice', displayName: 'A', role: 'student' }, T0);
        const topUp = { classId: 'cs101', personId: alice.id, hours: 5, idempotencyKey: 'k1', actor: 'ada', at: T0 };
        const [a, b] = await Promise.all([store.usage.addTopUp(topUp), store.usage.addTopUp({ ...topUp, hours: 7 })]);
        expect([a.applied, b.applied].filter(Boolean)).toHaveLength(1);
        expect(a.topUp).toEqual(b.topUp);
        const again = await store.usage.addTopUp({ ...topUp, at: T0 + 9 });
        expect(again).toEqual({ applied: false, topUp: a.topUp });
        expect((await store.usage.addTopUp({ ...topUp, hours: 0.5, idempotencyKey: 'k2', at: T0 + 1 })).applied).toBe(
          true,
        );
        expect((await store.usage.topUps('cs101', alice.id)).map((t) => [t.idempotencyKey, t.at])).toEqual([
          ['k1', T0],
          ['k2', T0 + 1],
        ]);
        expect(await store.usage.topUps('cs101', alice.id + 1)).toEqual([]);
        await expect(store.usage.addTopUp({ ...topUp, classId: 'nope', idempotencyKey: 'k3' })).rejects.toBeInstanceOf(
          UnknownReferenceError,
        );
        await store.classes.deleteClass('cs101');
        expect(await store.usage.topUps('cs101')).toEqual([]);
      });

      it('keep at most one open interval per VM, close it once, and list intervals since a time', async () => {
        expect(await store.usage.openInterval('lab', 300, T0)).toBe(true);
        expect(await store.usage.openInterval('lab', 300, T0 + 5)).toBe(false);
        expect(await store.usage.closeInterval('lab', 300, T0 + 10)).toBe(true);
        expect(await store.usage.closeInterval('lab', 300, T0 + 20)).toBe(false);
        expect(await store.usage.openInterval('lab', 300, T0 + 30)).toBe(true);
        expect(await store.usage.openInterval('lab', 301, T0 + 1)).toBe(true);
        const [a, b] = await Promise.all([
          store.usage.openInterval('lab', 302, T0),
          store.usage.openInterval('lab', 302, T0 + 1),
        ]);
        expect([a, b].filter(Boolean)).toHaveLength(1);
        expect(
          await store.usage.intervals([
            { clusterId: 'lab', vmid: 300 },
            { clusterId: 'lab', vmid: 301 },
          ]),
        ).toEqual([
          { clusterId: 'lab', vmid: 300, startedAt: T0, endedAt: T0 + 10 },
          { clusterId: 'lab', vmid: 301, startedAt: T0 + 1, endedAt: null },
          { clusterId: 'lab', vmid: 300, startedAt: T0 + 30, endedAt: null },
        ]);
        expect(await store.usage.intervals([{ clusterId: 'lab', vmid: 300 }], T0 + 15)).toEqual([
          { clusterId: 'lab', vmid: 300, startedAt: T0 + 30, endedAt: null },
        ]);
        expect(await store.usage.intervals([])).toEqual([]);
      });

      it('keep one idle record per VM, replaced in place and cleared', async () => {
        const record = { clusterId: 'lab', vmid: 300, idleSince: T0, warnedAt: null, keptAt: null, keepsUsed: 0 };
        await store.usage.saveIdle(record);
        await store.usage.saveIdle({ ...record, warnedAt: T0 + 5 });
        expect(await store.usage.idle('lab', 300)).toEqual({ ...record, warnedAt: T0 + 5 });
        await store.usage.saveIdle({ ...record, keptAt: T0 + 7, keepsUsed: 2 });
        expect(await store.usage.idle('lab', 300)).toEqual({ ...record, keptAt: T0 + 7, keepsUsed: 2 });
        expect(await store.usage.clearIdle('lab', 300)).toBe(true);
        expect(await store.usage.clearIdle('lab', 300)).toBe(false);
        expect(await store.usage.idle('lab', 300)).toBeUndefined();
      });
    });

    describe('invites', () => {
      async function classWithStudents(n: number) {
        await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: null, ownerId: null }, T0);
        const people = [];
        for (let i = 0; i < n; i++)
          people.push(
            await store.classes.createPerson({ username: `s${i}`, displayName: `S${i}`, role: 'student' }, T0),
          );
        return people;
      }

      it('are created for a known class and read back by hash, newest first', async () => {
        await classWithStudents(0);
        const a = await store.invites.create({
          codeHash: 'a'.repeat(64),
          classId: 'cs101',
          createdBy: null,
          createdAt: T0,
          expiresAt: T0 + 1000,
          maxUses: 30,
        });
        expect(a).toEqual({
          codeHash: 'a'.repeat(64),
          classId: 'cs101',
          createdBy: null,
          createdAt: T0,
          expiresAt: T0 + 1000,
          maxUses: 30,
          uses: 0,
        });
        await store.invites.create({
          codeHash: 'b'.repeat(64),
          classId: 'cs101',
          createdBy: null,
          createdAt: T0 + 5,
          expiresAt: T0 + 1000,
          maxUses: 1,
        });
        expect(await store.invites.get('a'.repeat(64))).toEqual(a);
        expect(await store.invites.get('c'.repeat(64))).toBeUndefined();
        expect((await store.invites.listForClass('cs101')).map((i) => i.codeHash[0])).toEqual(['b', 'a']);
        await expect(store.invites.create({ ...a })).rejects.toBeInstanceOf(DuplicateNameError);
        await expect(store.invites.create({ ...a, codeHash: 'd', classId: 'nope' })).rejects.toBeInstanceOf(
          UnknownReferenceError,
        );
        expect(await store.invites.revoke('a'.repeat(64))).toBe(true);
        expect(await store.invites.revoke('a'.repeat(64))).toBe(false);
      });

      it('are redeemed once per person, up to their limit, until they expire', async () => {
        const [s0, s1, s2] = await classWithStudents(3);
        await store.invites.create({
          codeHash: 'h',
          classId: 'cs101',
          createdBy: null,
          createdAt: T0,
          expiresAt: T0 + 1000,
          maxUses: 2,
        });
        expect(await store.invites.redeem('h', s0!.id, T0 + 1)).toBe('ok');
        expect(await store.invites.redeem('h', s0!.id, T0 + 2)).toBe('already-used');
        expect(await store.invites.redeem('h', s1!.id, T0 + 3)).toBe('ok');
        expect(await store.invites.redeem('h', s2!.id, T0 + 4)).toBe('used-up');
        expect((await store.invites.get('h'))?.uses).toBe(2);
        expect(await store.invites.redeem('nope', s2!.id, T0)).toBe('unknown');
        await store.invites.create({
          codeHash: 'late',
          classId: 'cs101',
          createdBy: null,
          createdAt: T0,
          expiresAt: T0 + 1000,
          maxUses: 9,
        });
        expect(await store.invites.redeem('late', s2!.id, T0 + 1000)).toBe('ok');
        expect(await store.invites.redeem('late', s1!.id, T0 + 1001)).toBe('expired');
        expect((await store.invites.get('late'))?.uses).toBe(1);
      });

      it('count concurrent redemptions exactly against the limit', async () => {
        const students = await classWithStudents(6);
        await store.invites.create({
          codeHash: 'race',
          classId: 'cs101',
          createdBy: null,
          createdAt: T0,
          expiresAt: T0 + 1000,
          maxUses: 3,
        });
        const answers = await Promise.all(students.map((p) => store.invites.redeem('race', p.id, T0 + 1)));
        expect(answers.filter((a) => a === 'ok')).toHaveLength(3);
        expect((await store.invites.get('race'))?.uses).toBe(3);
      });

      it('go with their class', async () => {
        const [s0] = await classWithStudents(1);
        await store.invites.create({
          codeHash: 'h',
          classId: 'cs101',
          createdBy: null,
          createdAt: T0,
          expiresAt: T0 + 1000,
          maxUses: 2,
        });
        expect(await store.invites.redeem('h', s0!.id, T0)).toBe('ok');
        await store.classes.deleteClass('cs101');
        expect(await store.invites.get('h')).toBeUndefined();
      });
    });

    describe('VM inventory', () => {
      it('upserts many rows and updates them in place', async () => {
        await store.inventory.upsertMany([vm(100), vm(101, { isTemplate: true }), vm(102, { clusterId: 'lab2' })]);
        await store.inventory.upsertMany([
          vm(100, { status: 'stopped', ip: '127.10.0.100', rdpAvailable: true, cpuUsage: 0.25 }),
        ]);
        expect(await store.inventory.get('lab', 100)).toEqual(
          vm(100, { status: 'stopped', ip: '127.10.0.100', rdpAvailable: true, cpuUsage: 0.25 }),
        );
        expect(await store.inventory.count()).toBe(3);
        expect(await store.inventory.count('lab')).toBe(2);
      });

      it('lists without templates and gone VMs unless asked, and searches by name or vmid', async () => {
        await store.inventory.upsertMany([
          vm(100, { name: 'CS101-Alice' }),
          vm(101, { isTemplate: true }),
          vm(102, { name: 'cs101-bob', goneAt: T0 }),
          vm(1100, { name: 'other' }),
        ]);
        expect((await store.inventory.list()).map((v) => v.vmid)).toEqual([100, 1100]);
        expect((await store.inventory.list({ includeTemplates: true, includeGone: true })).map((v) => v.vmid)).toEqual([
          100, 101, 102, 1100,
        ]);
        expect((await store.inventory.list({ search: 'cs101', includeGone: true })).map((v) => v.vmid)).toEqual([
          100, 102,
        ]);
        expect((await store.inventory.list({ search: '1100' })).map((v) => v.vmid)).toEqual([1100]);
        expect((await store.inventory.list({ search: '100%' })).map((v) => v.vmid)).toEqual([]);
        expect((await store.inventory.list({ limit: 1 })).map((v) => v.vmid)).toEqual([100]);
      });

      it('filters by owner and by class through assignments', async () => {
        const alice = await store.classes.createPerson({ username: 'alice', displayName: 'A', role: 'student' }, T0);
        await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: null, ownerId: null }, T0);
        await store.classes.createClass({ id: 'cs202', name: 'CS2', templateId: null, ownerId: null }, T0);
        await store.inventory.upsertMany([vm(100), vm(101), vm(102), vm(103)]);
        await store.classes.assignVm(
          { clusterId: 'lab', vmid: 101, personId: alice.id, classId: 'cs101', role: 'student' },
          T0,
        );
        await store.classes.assignVm(
          { clusterId: 'lab', vmid: 102, personId: null, classId: 'cs202', role: 'base' },
          T0,
        );
        await store.classes.assignVm(
          { clusterId: 'lab', vmid: 103, personId: alice.id, classId: 'cs202', role: 'student' },
          T0,
        );
        expect((await store.inventory.list({ personId: alice.id })).map((v) => v.vmid)).toEqual([101, 103]);
        expect((await store.inventory.list({ classIds: ['cs202'] })).map((v) => v.vmid)).toEqual([102, 103]);
        expect((await store.inventory.list({ classIds: [] })).map((v) => v.vmid)).toEqual([]);
        expect((await store.inventory.list({ personId: alice.id, classIds: ['cs101'] })).map((v) => v.vmid)).toEqual([
          101,
        ]);
      });

      it("reads the VMs of a filter with every cluster's sync state, as list and sync.listStates return them", async () => {
        const alice = await store.classes.createPerson({ username: 'alice', displayName: 'A', role: 'student' }, T0);
        const bob = await store.classes.createPerson({ username: 'bob', displayName: 'B', role: 'student' }, T0);
        await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: null, ownerId: null }, T0);
        expect(await store.inventory.listWithSyncStates({ personId: alice.id })).toEqual({ vms: [], syncStates: [] });
        await store.inventory.upsertMany([
          vm(100, { name: 'O\'Brien "quoted" \\ back\tslash — é ✓ 🚀', tags: 'a;b', syncError: 'agent\ntimeout' }),
          vm(101, { isTemplate: true }),
          vm(102, { goneAt: T0 + 1, lastStatusCheck: T0 - 1, snapshots: 3 }),
          vm(103, { memory: null, cores: null, diskSize: null, ip: '10.0.0.3', cpuUsage: 0.1 + 0.2 }),
          vm(7, { clusterId: 'lab2', memoryUsage: 1 / 3, uptime: 2 ** 40, snapshots: 0 }),
          vm(104),
        ]);
        for (const [vmid, clusterId] of [
          [100, 'lab'],
          [101, 'lab'],
          [102, 'lab'],
          [103, 'lab'],
          [7, 'lab2'],
        ] as const)
          await store.classes.assignVm({ clusterId, vmid, personId: alice.id, classId: 'cs101', role: 'student' }, T0);
        await store.sync.saveState({
          clusterId: 'lab2',
          lastFullSyncAt: T0,
          lastQuickSyncAt: T0 + 5,
          lastSuccessAt: T0 + 5,
          consecutiveErrors: 0,
          lastError: null,
          nextAttemptAt: null,
        });
        await store.sync.saveState({
          clusterId: 'lab',
          lastFullSyncAt: null,
          lastQuickSyncAt: null,
          lastSuccessAt: null,
          consecutiveErrors: 4,
          lastError: 'connect ECONNREFUSED "x"',
          nextAttemptAt: T0 + 9,
        });
        const syncStates = await store.sync.listStates();
        expect(syncStates.map((s) => s.clusterId)).toEqual(['lab', 'lab2']);
        for (const filter of [
          { personId: alice.id },
          { personId: alice.id, includeTemplates: true, includeGone: true },
          { personId: alice.id, limit: 2 },
          { personId: alice.id, search: 'brien' },
          { personId: alice.id, clusterId: 'lab2' },
          { personId: bob.id },
          { classIds: ['cs101'] },
          { classIds: [] },
          { personId: alice.id, classIds: ['cs101'] },
          {},
          { includeGone: true, limit: 3 },
        ]) {
          const vms = await store.inventory.list(filter);
          expect(await store.inventory.listWithSyncStates(filter), JSON.stringify(filter)).toEqual({ vms, syncStates });
        }
        expect((await store.inventory.listWithSyncStates({ personId: alice.id })).vms.map((v) => v.vmid)).toEqual([
          100, 103, 7,
        ]);
      });

      it('marks VMs that left the cluster as gone and changes single fields', async () => {
        await store.inventory.upsertMany([vm(100), vm(101), vm(102), vm(200, { clusterId: 'lab2' })]);
        expect(await store.inventory.markGone('lab', [100, 102], T0 + 60_000)).toBe(1);
        expect((await store.inventory.get('lab', 101))?.goneAt).toBe(T0 + 60_000);
        expect((await store.inventory.get('lab2', 200))?.goneAt).toBeNull();
        expect(await store.inventory.markGone('lab', [100, 102], T0 + 70_000)).toBe(0);
        expect(
          await store.inventory.update('lab', 100, {
            status: 'stopped',
            sshAvailable: false,
            syncError: 'agent timeout',
          }),
        ).toBe(true);
        expect(await store.inventory.get('lab', 100)).toEqual(
          vm(100, { status: 'stopped', sshAvailable: false, syncError: 'agent timeout' }),
        );
        expect(await store.inventory.update('lab', 999, { status: 'x' })).toBe(false);
      });

      it("records a listing: the usage readings given, and lastUpdated on the cluster's VMs that are not gone", async () => {
        await store.inventory.upsertMany([vm(100), vm(101), vm(102), vm(200, { clusterId: 'lab2' })]);
        await store.inventory.markGone('lab', [100, 101], T0 + 1_000);
        // More readings than one statement takes, the last one for VM 101, one for the gone VM 102.
        const readings = Array.from({ length: 10_050 }, (_, i) => ({
          vmid: i === 0 ? 100 : 10_000 + i,
          uptime: 3_600,
          cpuUsage: 0.25,
          memoryUsage: 0.5,
        }));
        readings.push({ vmid: 101, uptime: 7, cpuUsage: 0.1 + 0.2, memoryUsage: 1 / 3 });
        readings.push({ vmid: 102, uptime: 9, cpuUsage: 0, memoryUsage: 0 });
        await store.inventory.refreshListed('lab', readings, T0 + 2_000);
        expect(await store.inventory.get('lab', 100)).toEqual(
          vm(100, { uptime: 3_600, cpuUsage: 0.25, memoryUsage: 0.5, lastUpdated: T0 + 2_000 }),
        );
        expect(await store.inventory.get('lab', 101)).toEqual(
          vm(101, { uptime: 7, cpuUsage: 0.1 + 0.2, memoryUsage: 1 / 3, lastUpdated: T0 + 2_000 }),
        );
        expect(await store.inventory.get('lab', 102)).toEqual(
          vm(102, { uptime: 9, cpuUsage: 0, memoryUsage: 0, goneAt: T0 + 1_000 }),
        );
        expect(await store.inventory.get('lab2', 200)).toEqual(vm(200, { clusterId: 'lab2' }));
        expect(await store.inventory.count()).toBe(4);
      });

      it("reads a cluster's sync keys and flags (gone VMs and templates too), and whole rows by VMID", async () => {
        const running = vm(100, {
          ip: '10.0.0.5',
          sshAvailable: true,
          cpuUsage: 0.5,
          memory: 2048,
          diskSize: 8_589_934_592,
        });
        const template = vm(101, {
          isTemplate: true,
          type: 'lxc',
          tags: 'a;b',
          status: 'stopped',
          sshAvailable: false,
          uptime: 0,
          cpuUsage: 0,
          memoryUsage: 0,
        });
        await store.inventory.upsertMany([
          running,
          template,
          vm(102, { rdpAvailable: true }),
          vm(200, { clusterId: 'lab2' }),
        ]);
        await store.inventory.markGone('lab', [100, 101], T0 + 1_000);
        const keys = await store.inventory.listSyncKeys('lab');
        expect(keys.sort((a, b) => a.vmid - b.vmid)).toEqual([
          // running (2), an address (4), SSH (16)
          { vmid: 100, syncKey: vmSyncKey(running), ip: '10.0.0.5', flags: 22 },
          { vmid: 101, syncKey: vmSyncKey(template), ip: null, flags: 0 },
          // gone (1), running (2), RDP (8), SSH (16)
          { vmid: 102, syncKey: vmSyncKey(vm(102)), ip: null, flags: 27 },
        ]);
        expect(await store.inventory.listSyncKeys('nowhere')).toEqual([]);
        const some = await store.inventory.list({
          clusterId: 'lab',
          vmids: [101, 102, 999],
          includeTemplates: true,
          includeGone: true,
        });
        expect(some.map((r) => r.vmid)).toEqual([101, 102]);
        expect(some[1]).toEqual(vm(102, { rdpAvailable: true, goneAt: T0 + 1_000 }));
        expect(await store.inventory.list({ clusterId: 'lab', vmids: [] })).toEqual([]);
      });

      it("never keeps a sync key that no longer matches the row's listed fields", async () => {
        await store.inventory.upsertMany([vm(100), vm(101)]);
        const keyOf = async (vmid: number) =>
          (await store.inventory.listSyncKeys('lab')).find((k) => k.vmid === vmid)?.syncKey;
        const before = await keyOf(100);
        expect(before).toBe(vmSyncKey(vm(100)));
        // A change to a listed field without the whole row (a power action's status, a rename).
        expect(await store.inventory.update('lab', 100, { status: 'stopped', name: 'renamed' })).toBe(true);
        const after = await keyOf(100);
        expect(after).not.toBe(before);
        expect([null, vmSyncKey((await store.inventory.get('lab', 100))!)]).toContain(after);
        // Usage, address and the marks of a sync leave the key as it was.
        await store.inventory.update('lab', 101, { ip: '10.0.0.9', rdpAvailable: true, lastStatusCheck: T0 });
        await store.inventory.refreshListed('lab', [{ vmid: 101, uptime: 5, cpuUsage: 0.2, memoryUsage: 0.1 }], T0 + 1);
        await store.inventory.markGone('lab', [100], T0 + 2);
        const second = (await store.inventory.listSyncKeys('lab')).find((k) => k.vmid === 101);
        expect(second).toEqual({ vmid: 101, syncKey: vmSyncKey(vm(101)), ip: '10.0.0.9', flags: 31 });
        // The whole row, written again, brings its key back.
        await store.inventory.upsertMany([vm(100, { name: 'renamed' })]);
        expect(await keyOf(100)).toBe(vmSyncKey(vm(100, { name: 'renamed' })));
      });

      it('keeps the snapshot count the lab last saw when a row without one (as the sync writes) comes again', async () => {
        await store.inventory.upsertMany([vm(100, { snapshots: 0 }), vm(101)]);
        expect((await store.inventory.get('lab', 101))?.snapshots).toBeUndefined();
        expect(await store.inventory.update('lab', 100, { snapshots: 2 })).toBe(true);
        await store.inventory.upsertMany([vm(100, { status: 'stopped' })]);
        expect(await store.inventory.get('lab', 100)).toEqual(vm(100, { status: 'stopped', snapshots: 2 }));
        await store.inventory.upsertMany([vm(100, { snapshots: 0 })]);
        expect((await store.inventory.get('lab', 100))?.snapshots).toBe(0);
      });
    });

    describe('deployments', () => {
      const deployment = {
        id: 'd1',
        classId: 'cs101',
        clusterId: 'lab',
        spec: { students: ['alice', 'bob'], count: 2 },
        status: 'planned' as const,
        createdBy: 'teacher',
        createdAt: T0,
        updatedAt: T0,
        finishedAt: null,
        error: null,
      };
      const item = (name: string) => ({
        deploymentId: 'd1',
        name,
        kind: 'student' as const,
        personId: null,
        node: null,
        vmid: null,
        status: 'pending' as const,
        attempt: 0,
        error: null,
        updatedAt: T0,
      });

      it('are recorded with their items and followed to the end', async () => {
        await store.deployments.create(deployment, [item('cs101-bob'), item('cs101-alice')]);
        expect(await store.deployments.get('d1')).toEqual(deployment);
        expect((await store.deployments.items('d1')).map((i) => i.name)).toEqual(['cs101-alice', 'cs101-bob']);
        expect((await store.deployments.unfinished()).map((d) => d.id)).toEqual(['d1']);
        await store.deployments.updateItem('d1', 'cs101-alice', {
          status: 'done',
          vmid: 300,
          node: 'pve1',
          attempt: 1,
        });
        await store.deployments.upsertItem({ ...item('cs101-carol'), status: 'cloning', vmid: 301 });
        await store.deployments.upsertItem({ ...item('cs101-carol'), status: 'done', vmid: 301 });
        expect((await store.deployments.items('d1')).map((i) => [i.name, i.status, i.vmid])).toEqual([
          ['cs101-alice', 'done', 300],
          ['cs101-bob', 'pending', null],
          ['cs101-carol', 'done', 301],
        ]);
        await store.deployments.update('d1', { status: 'done', finishedAt: T0 + 45_000 }, T0 + 45_000);
        expect(await store.deployments.unfinished()).toEqual([]);
        expect(await store.deployments.list({ classId: 'cs101', status: 'done' })).toHaveLength(1);
        await expect(store.deployments.updateItem('d1', 'nobody', { status: 'done' })).rejects.toBeInstanceOf(
          RecordNotFoundError,
        );
        await expect(store.deployments.upsertItem({ ...item('x'), deploymentId: 'missing' })).rejects.toBeInstanceOf(
          UnknownReferenceError,
        );
      });

      it('keep where their progress is shown, to finish it after a restart', async () => {
        await store.deployments.create({ ...deployment, notify: { platform: 'slack', channel: 'C1', ts: '1.2' } }, []);
        expect((await store.deployments.get('d1'))?.notify).toEqual({ platform: 'slack', channel: 'C1', ts: '1.2' });
        await store.deployments.update('d1', { notify: { platform: 'slack', channel: 'C1', ts: '3.4' } }, T0 + 1);
        expect((await store.deployments.get('d1'))?.notify).toEqual({ platform: 'slack', channel: 'C1', ts: '3.4' });
      });

      it('write nothing when two items share a name', async () => {
        await expect(
          store.deployments.create(deployment, [item('cs101-alice'), item('cs101-alice')]),
        ).rejects.toBeInstanceOf(DuplicateNameError);
        expect(await store.deployments.get('d1')).toBeUndefined();
      });
    });

    describe('sync state and leases', () => {
      it('keeps per-cluster sync state', async () => {
        const state = {
          clusterId: 'lab',
          lastFullSyncAt: T0,
          lastQuickSyncAt: T0 + 30_000,
          lastSuccessAt: T0 + 30_000,
          consecutiveErrors: 0,
          lastError: null,
          nextAttemptAt: null,
        };
        await store.sync.saveState(state);
        await store.sync.saveState({ ...state, consecutiveErrors: 2, lastError: 'unreachable' });
        expect(await store.sync.getState('lab')).toEqual({ ...state, consecutiveErrors: 2, lastError: 'unreachable' });
        expect(await store.sync.listStates()).toHaveLength(1);
      });

      it('gives a lease to one holder at a time until it expires', async () => {
        expect(await store.sync.acquireLease('sync-leader', 'bot-a', 1000, T0)).toBe(true);
        expect(await store.sync.acquireLease('sync-leader', 'bot-b', 1000, T0 + 500)).toBe(false);
        expect(await store.sync.acquireLease('sync-leader', 'bot-a', 1000, T0 + 900)).toBe(true);
        expect(await store.sync.getLease('sync-leader')).toEqual({
          name: 'sync-leader',
          holder: 'bot-a',
          expiresAt: T0 + 1900,
        });
        expect(await store.sync.acquireLease('sync-leader', 'bot-b', 1000, T0 + 1800)).toBe(false);
        expect(await store.sync.acquireLease('sync-leader', 'bot-b', 1000, T0 + 2000)).toBe(true);
        await store.sync.releaseLease('sync-leader', 'bot-a');
        expect((await store.sync.getLease('sync-leader'))?.holder).toBe('bot-b');
        await store.sync.releaseLease('sync-leader', 'bot-b');
        expect(await store.sync.acquireLease('sync-leader', 'bot-c', 1000, T0 + 2001)).toBe(true);
      });
    });

    describe('one-time keys', () => {
      it('are claimed once until they expire, then free again', async () => {
        expect(await store.nonces.claim('discord:interaction:1', T0 + 1000, T0)).toBe(true);
        expect(await store.nonces.claim('discord:interaction:1', T0 + 2000, T0 + 500)).toBe(false);
        expect(await store.nonces.claim('discord:interaction:2', T0 + 1000, T0 + 500)).toBe(true);
        expect(await store.nonces.claim('discord:interaction:1', T0 + 3000, T0 + 1001)).toBe(true);
      });

      it('hand their payload out once, never after expiry', async () => {
        await store.nonces.put('confirm:abc', { command: 'lab', text: 'destroy cs101' }, T0 + 1000, T0);
        await expect(store.nonces.put('confirm:abc', {}, T0 + 1000, T0)).rejects.toBeInstanceOf(DuplicateNameError);
        expect(await store.nonces.peek('confirm:abc', T0 + 5)).toEqual({ command: 'lab', text: 'destroy cs101' });
        expect(await store.nonces.take('confirm:abc', T0 + 10)).toEqual({ command: 'lab', text: 'destroy cs101' });
        expect(await store.nonces.peek('confirm:abc', T0 + 15)).toBeUndefined();
        expect(await store.nonces.take('confirm:abc', T0 + 20)).toBeUndefined();
        await store.nonces.put('confirm:late', { x: 1 }, T0 + 1000, T0);
        expect(await store.nonces.peek('confirm:late', T0 + 1000)).toEqual({ x: 1 });
        expect(await store.nonces.peek('confirm:late', T0 + 1001)).toBeUndefined();
        expect(await store.nonces.take('confirm:late', T0 + 1001)).toBeUndefined();
        expect(await store.nonces.take('confirm:never', T0)).toBeUndefined();
      });

      it('are pruned when expired', async () => {
        await store.nonces.put('a', 1, T0 + 10, T0);
        await store.nonces.claim('b', T0 + 20, T0);
        await store.nonces.claim('c', T0 + 5000, T0);
        expect(await store.nonces.prune(T0 + 100)).toBe(2);
        expect(await store.nonces.claim('c', T0 + 9000, T0 + 200)).toBe(false);
      });

      it('let exactly one of many concurrent claimers win', async () => {
        const results = await Promise.all(
          Array.from({ length: 8 }, () => store.nonces.claim('slack:trigger:T1', T0 + 1000, T0)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('audit log', () => {
      it('records who did what, newest first, with details', async () => {
        await store.audit.record({
          at: T0,
          actor: 'alice',
          action: 'vm.start',
          target: 'lab/100',
          outcome: 'ok',
          details: { via: 'slack' },
        });
        await store.audit.record({
          at: T0 + 1,
          actor: 'bob',
          action: 'vm.start',
          target: 'lab/100',
          outcome: 'denied',
          details: { reason: 'not owner' },
        });
        await store.audit.record({
          at: T0 + 2,
          actor: 'alice',
          action: 'class.deploy',
          target: 'cs101',
          outcome: 'ok',
          details: {},
        });
        const all = await store.audit.list();
        expect(all.map((a) => a.action)).toEqual(['class.deploy', 'vm.start', 'vm.start']);
        expect(all[1]).toMatchObject({ actor: 'bob', outcome: 'denied', details: { reason: 'not owner' } });
        expect((await store.audit.list({ actor: 'alice', action: 'vm.start' })).map((a) => a.at)).toEqual([T0]);
        expect(await store.audit.list({ since: T0 + 1, limit: 1 })).toHaveLength(1);
        expect((await store.audit.list({ targets: ['lab/100', 'lab/999'] })).map((a) => a.actor)).toEqual([
          'bob',
          'alice',
        ]);
        expect(await store.audit.list({ targets: [] })).toEqual([]);
      });

      it('prunes entries older than a time and says how many', async () => {
        for (const at of [T0, T0 + 1, T0 + 2])
          await store.audit.record({
            at,
            actor: 'alice',
            action: 'vm.start',
            target: 'lab/100',
            outcome: 'ok',
            details: {},
          });
        expect(await store.audit.prune(T0 + 2)).toBe(2);
        expect((await store.audit.list()).map((a) => a.at)).toEqual([T0 + 2]);
        expect(await store.audit.prune(T0)).toBe(0);
      });

      it('give the newest entry of a kind about each target, in one read', async () => {
        const entry = (at: number, target: string, action: string, outcome: 'ok' | 'denied' = 'ok') =>
          store.audit.record({ at, actor: 'x', action, target, outcome, details: { at } });
        await entry(T0, 'lab/100', 'vm.start');
        await entry(T0 + 5, 'lab/100', 'vm.shutdown');
        await entry(T0 + 6, 'lab/100', 'vm.start', 'denied');
        await entry(T0 + 7, 'lab/100', 'console.open');
        await entry(T0 + 1, 'lab/101', 'vm.stop');
        await entry(T0 + 1, 'lab/101', 'vm.start');
        await entry(T0 + 9, 'lab/102', 'vm.start');
        await entry(T0 + 9, 'lab/100', 'vmx.start');
        const latest = await store.audit.latestByTarget(['lab/100', 'lab/101', 'lab/103'], {
          actionPrefix: 'vm.',
          outcome: 'ok',
        });
        expect(latest.map((a) => [a.target, a.action, a.at]).sort()).toEqual([
          ['lab/100', 'vm.shutdown', T0 + 5],
          ['lab/101', 'vm.start', T0 + 1],
        ]);
        expect(await store.audit.latestByTarget([], { actionPrefix: 'vm.', outcome: 'ok' })).toEqual([]);
      });
    });

    describe('reads of many at once', () => {
      it('give the people with the given ids, leaving out unknown ones', async () => {
        const a = await store.classes.createPerson({ username: 'ann', displayName: 'Ann', role: 'student' }, T0);
        await store.classes.createPerson({ username: 'bo', displayName: 'Bo', role: 'student' }, T0);
        const c = await store.classes.createPerson({ username: 'cy', displayName: 'Cy', role: 'teacher' }, T0);
        expect((await store.classes.getPeople([c.id, a.id, 9999])).map((p) => p.username)).toEqual(['ann', 'cy']);
        expect(await store.classes.getPeople([])).toEqual([]);
      });

      it('give the idle records of the given VMs only', async () => {
        const idle = (vmid: number) => ({
          clusterId: 'lab',
          vmid,
          idleSince: T0,
          warnedAt: null,
          keptAt: null,
          keepsUsed: 0,
        });
        await store.usage.saveIdle(idle(100));
        await store.usage.saveIdle(idle(101));
        await store.usage.saveIdle({ ...idle(102), clusterId: 'other' });
        const found = await store.usage.idleOf([
          { clusterId: 'lab', vmid: 101 },
          { clusterId: 'lab', vmid: 102 },
          { clusterId: 'other', vmid: 102 },
        ]);
        expect(found.map((r) => `${r.clusterId}/${r.vmid}`).sort()).toEqual(['lab/101', 'other/102']);
        expect(await store.usage.idleOf([])).toEqual([]);
      });
    });

    describe('link codes', () => {
      let personId: number;
      const code = (codeHash: string, patch: { personId?: number; expiresAt?: number } = {}) => ({
        codeHash,
        personId,
        createdAt: T0,
        expiresAt: T0 + 600_000,
        ...patch,
      });
      beforeEach(async () => {
        personId = (await store.classes.createPerson({ username: 'ann', displayName: 'Ann', role: 'student' }, T0)).id;
      });

      it('are stored unused and read back by their hash', async () => {
        await store.linkCodes.create(code('h1'));
        expect(await store.linkCodes.get('h1')).toEqual({ ...code('h1'), usedAt: null, usedBy: null });
        expect(await store.linkCodes.get('h2')).toBeUndefined();
      });

      it('work once: of parallel redemptions exactly one wins, and records who used it', async () => {
        await store.linkCodes.create(code('h1'));
        const results = await Promise.all(
          ['slack:U1', 'slack:U2', 'discord:3', 'discord:4'].map((by) => store.linkCodes.redeem('h1', by, T0 + 1)),
        );
        expect(results.filter((r) => r.outcome === 'ok')).toHaveLength(1);
        expect(results.filter((r) => r.outcome === 'used')).toHaveLength(3);
        const winner = results.find((r) => r.outcome === 'ok') as { code: { usedBy: string } };
        expect(await store.linkCodes.get('h1')).toMatchObject({ usedAt: T0 + 1, usedBy: winner.code.usedBy });
      });

      it('do not work after they expire, and stay unused then', async () => {
        await store.linkCodes.create(code('h1'));
        expect(await store.linkCodes.redeem('h1', 'slack:U1', T0 + 600_001)).toMatchObject({
          outcome: 'expired',
          code: { usedAt: null },
        });
        expect(await store.linkCodes.redeem('h1', 'slack:U1', T0 + 600_000)).toMatchObject({ outcome: 'ok' });
        expect(await store.linkCodes.redeem('nope', 'slack:U1', T0)).toEqual({ outcome: 'unknown' });
      });

      it('keep one live code per person: a new one ends the unused earlier one, not a used one', async () => {
        await store.linkCodes.create(code('old'));
        await store.linkCodes.redeem('old', 'slack:U1', T0 + 1);
        await store.linkCodes.create(code('h1'));
        await store.linkCodes.create(code('h2'));
        expect(await store.linkCodes.get('h1')).toBeUndefined();
        expect(await store.linkCodes.get('h2')).toBeDefined();
        expect(await store.linkCodes.get('old')).toMatchObject({ usedBy: 'slack:U1' });
      });

      it('refuse an unknown person and a taken hash, and go with their person', async () => {
        await expect(store.linkCodes.create(code('h1', { personId: 9999 }))).rejects.toBeInstanceOf(
          UnknownReferenceError,
        );
        const bo = await store.classes.createPerson({ username: 'bo', displayName: 'Bo', role: 'student' }, T0);
        await store.linkCodes.create(code('h1'));
        await expect(store.linkCodes.create(code('h1', { personId: bo.id }))).rejects.toBeInstanceOf(
          DuplicateNameError,
        );
        await store.classes.deletePerson(personId);
        expect(await store.linkCodes.get('h1')).toBeUndefined();
      });

      it('are pruned once expired', async () => {
        await store.linkCodes.create(code('h1', { expiresAt: T0 + 10 }));
        const bo = await store.classes.createPerson({ username: 'bo', displayName: 'Bo', role: 'student' }, T0);
        await store.linkCodes.create(code('h2', { personId: bo.id, expiresAt: T0 + 1000 }));
        expect(await store.linkCodes.prune(T0 + 500)).toBe(1);
        expect(await store.linkCodes.get('h2')).toBeDefined();
      });
    });

    describe('web sessions', () => {
      const session = (idHash: string, personId: number) => ({
        idHash,
        personId,
        issuer: 'https://idp.example.edu',
        subject: `sub-${idHash}`,
        createdAt: T0,
        expiresAt: T0 + 3_600_000,
      });

      it('are read back by the hash of their id and move their last use forward only', async () => {
        const p = await store.classes.createPerson({ username: 'web-a', displayName: 'A', role: 'student' }, T0);
        const created = await store.webSessions.create(session('a'.repeat(64), p.id));
        expect(created).toEqual({ ...session('a'.repeat(64), p.id), lastSeenAt: T0, revokedAt: null });
        expect(await store.webSessions.get('a'.repeat(64))).toEqual(created);
        expect(await store.webSessions.get('b'.repeat(64))).toBeUndefined();
        expect(await store.webSessions.touch('a'.repeat(64), T0 + 60_000)).toBe(true);
        expect(await store.webSessions.touch('a'.repeat(64), T0 + 1)).toBe(true);
        expect((await store.webSessions.get('a'.repeat(64)))?.lastSeenAt).toBe(T0 + 60_000);
        expect(await store.webSessions.touch('b'.repeat(64), T0)).toBe(false);
        await expect(store.webSessions.create(session('a'.repeat(64), p.id))).rejects.toBeInstanceOf(
          DuplicateNameError,
        );
        await expect(store.webSessions.create(session('c'.repeat(64), 999_999))).rejects.toBeInstanceOf(
          UnknownReferenceError,
        );
      });

      it('end once when signed out, and all of a person at once when revoked', async () => {
        const p = await store.classes.createPerson({ username: 'web-b', displayName: 'B', role: 'student' }, T0);
        const q = await store.classes.createPerson({ username: 'web-c', displayName: 'C', role: 'student' }, T0);
        for (const h of ['1', '2', '3']) await store.webSessions.create(session(h.repeat(64), p.id));
        await store.webSessions.create(session('4'.repeat(64), q.id));
        expect(await store.webSessions.revoke('1'.repeat(64), T0 + 5)).toBe(true);
        expect(await store.webSessions.revoke('1'.repeat(64), T0 + 6)).toBe(false);
        expect((await store.webSessions.get('1'.repeat(64)))?.revokedAt).toBe(T0 + 5);
        expect(await store.webSessions.revokeForPerson(p.id, T0 + 7)).toBe(2);
        expect((await store.webSessions.get('3'.repeat(64)))?.revokedAt).toBe(T0 + 7);
        expect((await store.webSessions.get('4'.repeat(64)))?.revokedAt).toBeNull();
      });

      it('are pruned after their absolute expiry and go with their person', async () => {
        const p = await store.classes.createPerson({ username: 'web-d', displayName: 'D', role: 'student' }, T0);
        await store.webSessions.create(session('5'.repeat(64), p.id));
        await store.webSessions.create({ ...session('6'.repeat(64), p.id), expiresAt: T0 + 10 });
        expect(await store.webSessions.prune(T0 + 11)).toBe(1);
        expect(await store.webSessions.get('6'.repeat(64))).toBeUndefined();
        await store.classes.deletePerson(p.id);
        expect(await store.webSessions.get('5'.repeat(64))).toBeUndefined();
      });
    });

    describe('transactions', () => {
      it('keep nothing of a batch that throws, across repositories', async () => {
        const error = await store
          .transaction(async (tx) => {
            await tx.classes.createPerson({ username: 'ghost', displayName: 'G', role: 'student' }, T0);
            await tx.inventory.upsertMany([vm(100), vm(101)]);
            await tx.audit.record({ at: T0, actor: 'x', action: 'y', target: 'z', outcome: 'ok', details: {} });
            throw new Error('boom');
          })
          .catch((e: unknown) => e);
        expect((error as Error).message).toBe('boom');
        expect(await store.classes.getPersonByUsername('ghost')).toBeUndefined();
        expect(await store.inventory.count()).toBe(0);
        expect(await store.audit.list()).toEqual([]);
      });

      it('keep everything of a batch that succeeds, and join an open transaction', async () => {
        const result = await store.transaction(async (tx) => {
          await tx.inventory.upsertMany([vm(100)]);
          return tx.transaction(async (inner) => {
            await inner.classes.createPerson({ username: 'kept', displayName: 'K', role: 'student' }, T0);
            return 'ok';
          });
        });
        expect(result).toBe('ok');
        expect(await store.inventory.count()).toBe(1);
        expect(await store.classes.getPersonByUsername('kept')).toBeDefined();
      });

      it('refuse a call to the outer store from inside its transaction at once, on every repository', async () => {
        const outer = store;
        const refused = await store
          .transaction(async (tx) => {
            await tx.inventory.upsertMany([vm(100)]);
            return outer.inventory.count();
          })
          .catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(StoreInTransactionError);
        expect((refused as StoreInTransactionError).code).toBe('LAB_STORE_OUTER_IN_TRANSACTION');
        expect((refused as Error).message).toBe(
          "inventory.count was called on the outer store inside store.transaction(); use the transaction's store (the callback's argument) for every call inside it",
        );
        expect(await store.inventory.count()).toBe(0);
        for (const call of [() => outer.classes.listPeople(), () => outer.audit.list(), () => outer.templates.list()]) {
          const error = await store.transaction(async () =>
            call().then(
              () => undefined,
              (e: unknown) => e,
            ),
          );
          expect(error).toBeInstanceOf(StoreInTransactionError);
        }
      });

      it('refuse to open a second transaction through the outer store from inside one', async () => {
        const outer = store;
        const refused = await store.transaction(() => outer.transaction(async () => 'never')).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(StoreInTransactionError);
        expect((refused as Error).message).toMatch(
          /^transaction was called on the outer store inside store\.transaction\(\)/,
        );
      });

      it('serve the outer store again once the transaction ended, also to work it started', async () => {
        let later: Promise<number> | undefined;
        await store.transaction(async (tx) => {
          await tx.inventory.upsertMany([vm(100)]);
          later = new Promise((resolve) => setTimeout(resolve, 5)).then(() => store.inventory.count());
        });
        expect(await later).toBe(1);
        expect(await store.inventory.count()).toBe(1);
      });

      it('let callers outside a transaction wait for it rather than fail', async () => {
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        const running = store.transaction(async (tx) => {
          await tx.inventory.upsertMany([vm(100)]);
          await gate;
        });
        const outside = store.inventory.count();
        release();
        await running;
        await expect(outside).resolves.toBeTypeOf('number');
        expect(await store.inventory.count()).toBe(1);
      });
    });
  });
}

import { presets, snapshotsOf, startPveSim, type ScenarioInput } from '@lab/pve-sim';
import { describe, expect, it } from 'vitest';
import { waitForTask } from '../src/pve/index.js';
import { labOver } from './deployment-fixture.js';

/** The small preset with the ubuntu templates (and their students) on a ZFS pool, which names a linked clone's base. */
function onZfs(): ScenarioInput {
  const scenario = structuredClone(presets.small!);
  scenario.storages = [...(scenario.storages ?? []), { id: 'tank', type: 'zfspool', nodes: ['pve1', 'pve2'] }];
  for (const g of scenario.guests ?? [])
    if (g.vmid === 9000 || g.vmid === 9100) g.disks = { scsi0: { storage: 'tank', sizeGiB: 32 } };
  return scenario;
}

describe('publishing a new class base version', () => {
  it('copies the running teacher VM from a snapshot; students move one by one; the old version goes when its last student leaves', async () => {
    const sim = await startPveSim({ timeScale: 200 });
    const { api, store, engine } = await labOver(sim);
    try {
      expect((await engine.deploy({ classId: 'cs101', count: 3, template: 'ubuntu', strategy: 'pack' })).status).toBe(
        'done',
      );
      const vmOf = async (u: string) =>
        (await store.classes.assignmentsOf((await store.classes.getPersonByUsername(u))!.id))[0]!.vmid;
      const [alice, bob, carol] = [await vmOf('alice'), await vmOf('bob'), await vmOf('carol')];
      const teacher = [...sim.state.guests.values()].find((g) => g.config.name === 'cs101-teacher')!;
      teacher.status = 'running';
      sim.state.guests.get(bob)!.status = 'running';
      const bobGuest = sim.state.guests.get(bob);

      const plan = await engine.planPublish({
        classId: 'cs101',
        note: 'with python 3.13',
        mode: 'snapshot',
        requestedBy: 'teacher',
      });
      expect(plan).toMatchObject({
        name: 'cs101-base-v2',
        version: 2,
        snapname: 'lab-publish-v2',
        teacher: { vmid: teacher.vmid, running: true },
        replicateTo: [],
      });
      expect(await (await engine.applyPublish(plan)).done).toMatchObject({ status: 'done', created: 1 });
      const v2 = [...sim.state.guests.values()].find((g) => g.config.name === 'cs101-base-v2')!;
      expect(v2.config).toMatchObject({ template: '1', tags: 'class-cs101;lab;role-base' });
      expect(teacher.status).toBe('running');
      expect([...snapshotsOf(teacher).keys()]).toEqual(['lab-publish-v2']);
      expect(await store.classLifecycle.baseVersions('cs101')).toEqual([
        expect.objectContaining({ version: 1, name: 'cs101-base', note: 'from template ubuntu' }),
        expect.objectContaining({
          version: 2,
          name: 'cs101-base-v2',
          note: 'with python 3.13',
          snapshot: 'lab-publish-v2',
          sourceVmid: teacher.vmid,
        }),
      ]);
      let versions = await engine.baseVersions('cs101');
      expect(versions.map((v) => [v.name, v.users.length, v.current])).toEqual([
        ['cs101-base', 3, false],
        ['cs101-base-v2', 0, true],
      ]);
      const v1 = versions[0]!.copies.pve1!;

      // lvm-thin: a linked clone's volume id names no base (PVE would let v1 be destroyed under it);
      // the lab still counts bob as a user of v1, from the deployment that cloned him.
      expect(sim.state.guests.get(bob)!.config.scsi0).toMatch(new RegExp(`^local-lvm:vm-${bob}-disk-0,`));
      expect(sim.state.storageOn('pve1', 'local-lvm')!.volumes.get(`vm-${bob}-disk-0`)?.thinOrigin).toBe(
        `base-${v1}-disk-0`,
      );

      await (
        await engine.applyReset(await engine.planReset({ classId: 'cs101', usernames: ['alice'] }))
      ).done;
      versions = await engine.baseVersions('cs101');
      expect(versions.map((v) => [v.name, [...v.users].sort()])).toEqual([
        ['cs101-base', [bob, carol].sort()],
        ['cs101-base-v2', [alice]],
      ]);
      expect(sim.state.guests.get(bob)).toBe(bobGuest);
      expect(bobGuest!.status).toBe('running');
      expect(sim.state.guests.has(v1)).toBe(true);

      await (
        await engine.applyReset(await engine.planReset({ classId: 'cs101', usernames: ['bob'] }))
      ).done;
      expect(sim.state.guests.has(v1), 'carol still uses v1').toBe(true);
      const last = await (
        await engine.applyReset(await engine.planReset({ classId: 'cs101', usernames: ['carol'] }))
      ).done;
      expect(last.deleted).toBe(1);
      expect(sim.state.guests.has(v1)).toBe(false);
      versions = await engine.baseVersions('cs101');
      expect(versions.map((v) => [v.name, v.users.length])).toEqual([['cs101-base-v2', 3]]);
      expect(sim.state.guests.get(bob)!.status, 'a running VM runs again after its reset').toBe('running');
      // New students of a later deploy get the newest version too.
      expect((await engine.plan({ classId: 'cs101', count: 3, template: 'ubuntu', strategy: 'pack' })).base.name).toBe(
        'cs101-base-v2',
      );
    } finally {
      await api.close();
      await sim.close();
    }
  });

  it('keeps an old base whose delete task PVE fails on ZFS (a clone the lab does not know links to it) and goes on pruning the others', async () => {
    const sim = await startPveSim({ timeScale: 200, scenario: onZfs() });
    const { api, engine } = await labOver(sim);
    const resetAll = async () =>
      (await engine.applyReset(await engine.planReset({ classId: 'cs101', usernames: ['alice', 'bob'] }))).done;
    try {
      expect((await engine.deploy({ classId: 'cs101', count: 2, template: 'ubuntu', strategy: 'pack' })).status).toBe(
        'done',
      );
      await (
        await engine.applyPublish(await engine.planPublish({ classId: 'cs101' }))
      ).done;
      const v1 = (await engine.baseVersions('cs101'))[0]!.copies.pve1!;
      // Someone outside the lab link-clones the oldest base by hand (no lab tags, no marker).
      const foreign = 950;
      await waitForTask(api, await api.post<string>(`/nodes/pve1/qemu/${v1}/clone`, { newid: foreign }));
      await api.put(`/nodes/pve1/qemu/${foreign}/config`, { delete: 'tags,description' });
      expect(await resetAll()).toMatchObject({ status: 'done', deleted: 0 });
      await (
        await engine.applyPublish(await engine.planPublish({ classId: 'cs101' }))
      ).done;
      const v2 = (await engine.baseVersions('cs101'))[1]!.copies.pve1!;

      const reset = await resetAll();
      expect(reset).toMatchObject({ status: 'done', deleted: 1 });
      expect(sim.state.guests.has(v1), 'PVE refused inside the delete task; the copy stays').toBe(true);
      expect(sim.state.guests.has(v2), 'pruning went on after the refusal').toBe(false);
      const deletesOfV1 = [...sim.state.tasks.tasks.values()].filter(
        (t) => t.type === 'qmdestroy' && t.id === String(v1),
      );
      expect(deletesOfV1.map((t) => t.exitstatus)).toContain(
        `base volume 'tank:base-${v1}-disk-0' is still in use by linked cloned`,
      );
      expect((await engine.baseVersions('cs101')).map((v) => [v.name, v.users.length])).toEqual([
        ['cs101-base', 0],
        ['cs101-base-v3', 2],
      ]);

      await waitForTask(api, await api.delete<string>(`/nodes/pve1/qemu/${foreign}`));
      const again = await (
        await engine.applyReset(await engine.planReset({ classId: 'cs101', usernames: ['alice'] }))
      ).done;
      expect(again).toMatchObject({ status: 'done', deleted: 1 });
      expect(sim.state.guests.has(v1)).toBe(false);
      expect((await engine.baseVersions('cs101')).map((v) => v.name)).toEqual(['cs101-base-v3']);
    } finally {
      await api.close();
      await sim.close();
    }
  });

  it('deletes an old base on lvm-thin although a clone the lab does not know was made of it: PVE allows it and the clone keeps working', async () => {
    const sim = await startPveSim({ timeScale: 200 });
    const { api, engine } = await labOver(sim);
    try {
      expect((await engine.deploy({ classId: 'cs101', count: 2, template: 'ubuntu', strategy: 'pack' })).status).toBe(
        'done',
      );
      await (
        await engine.applyPublish(await engine.planPublish({ classId: 'cs101' }))
      ).done;
      const v1 = (await engine.baseVersions('cs101'))[0]!.copies.pve1!;
      const foreign = 950;
      await waitForTask(api, await api.post<string>(`/nodes/pve1/qemu/${v1}/clone`, { newid: foreign }));
      await api.put(`/nodes/pve1/qemu/${foreign}/config`, { delete: 'tags,description' });
      expect(sim.state.guests.get(foreign)!.config.scsi0).toMatch(new RegExp(`^local-lvm:vm-${foreign}-disk-0,`));

      expect(
        await (
          await engine.applyReset(await engine.planReset({ classId: 'cs101', usernames: ['alice', 'bob'] }))
        ).done,
      ).toMatchObject({ status: 'done', deleted: 1 });
      expect(sim.state.guests.has(v1)).toBe(false);
      expect((await engine.baseVersions('cs101')).map((v) => [v.name, v.users.length])).toEqual([['cs101-base-v2', 2]]);
      expect(sim.state.storageOn('pve1', 'local-lvm')!.volumes.has(`vm-${foreign}-disk-0`)).toBe(true);
      await waitForTask(api, await api.post<string>(`/nodes/pve1/qemu/${foreign}/status/start`));
      expect(sim.state.guests.get(foreign)!.status).toBe('running');
    } finally {
      await api.close();
      await sim.close();
    }
  });

  it('shuts a running teacher VM down cleanly before the copy and starts it again', async () => {
    const sim = await startPveSim({ timeScale: 200 });
    const { api, engine } = await labOver(sim);
    try {
      await engine.deploy({ classId: 'cs101', count: 1, template: 'ubuntu', strategy: 'pack' });
      const teacher = [...sim.state.guests.values()].find((g) => g.config.name === 'cs101-teacher')!;
      teacher.status = 'running';
      const plan = await engine.planPublish({ classId: 'cs101' });
      expect(plan).toMatchObject({ mode: 'shutdown', snapname: null });
      const summary = await (await engine.applyPublish(plan)).done;
      expect(summary.status).toBe('done');
      const types = [...sim.state.tasks.tasks.values()].filter((t) => t.id === String(teacher.vmid)).map((t) => t.type);
      expect(types.slice(types.indexOf('qmshutdown'))).toEqual(['qmshutdown', 'qmclone', 'qmstart']);
      expect(teacher.status).toBe('running');
      expect(snapshotsOf(teacher).size).toBe(0);
    } finally {
      await api.close();
      await sim.close();
    }
  });
});

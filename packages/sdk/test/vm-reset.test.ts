import { startPveSim } from '@lab/pve-sim';
import { describe, expect, it } from 'vitest';
import { VmResetError } from '../src/errors/index.js';
import type { DeploymentEvent } from '../src/index.js';
import { labOver } from './deployment-fixture.js';

describe('resetting a student VM', () => {
  it('re-creates it from the base with the same name, VMID, tags and assignment; the others are untouched', async () => {
    const sim = await startPveSim({ timeScale: 200 });
    const { api, store, engine } = await labOver(sim);
    try {
      expect((await engine.deploy({ classId: 'cs101', count: 3, template: 'ubuntu' })).status).toBe('done');
      const alice = (await store.classes.getPersonByUsername('alice'))!;
      const [before] = await store.classes.assignmentsOf(alice.id);
      const old = sim.state.guests.get(before!.vmid)!;
      old.config.description = `${old.config.description}\nstudent work`;
      const others = [...sim.state.guests.values()]
        .filter((g) => g.vmid !== before!.vmid)
        .map((g) => ({ vmid: g.vmid, config: { ...g.config } }));

      const plan = await engine.planReset({ classId: 'cs101', usernames: ['alice'], requestedBy: 'alice' });
      expect(plan.vms).toEqual([expect.objectContaining({ name: 'cs101-alice', vmid: before!.vmid, owner: 'alice' })]);
      expect(plan.base.name).toBe('cs101-base');
      const events: DeploymentEvent[] = [];
      const run = await engine.applyReset(plan, { onEvent: (e) => events.push(e) });
      expect(await run.done).toMatchObject({ status: 'done', created: 1, failed: [] });

      const fresh = sim.state.guests.get(before!.vmid)!;
      expect(fresh).not.toBe(old);
      expect(fresh.config.name).toBe('cs101-alice');
      expect(fresh.config.tags).toBe('class-cs101;lab;role-student');
      expect(fresh.config.description).not.toContain('student work');
      expect(fresh.config.description).toContain(`deployment=${run.id}`);
      expect(await store.classes.assignmentsOf(alice.id)).toEqual([
        expect.objectContaining({ vmid: before!.vmid, classId: 'cs101', role: 'student' }),
      ]);
      for (const o of others) expect(sim.state.guests.get(o.vmid)?.config).toEqual(o.config);
      expect(events.map((e) => e.type)).toEqual(['planned', 'deleted', 'cloning', 'verifying', 'registered', 'done']);
    } finally {
      await api.close();
      await sim.close();
    }
  });

  it('starts the new VM when the old one was running, and says who has no VM to reset', async () => {
    const sim = await startPveSim({ timeScale: 200 });
    const { api, store, engine } = await labOver(sim);
    try {
      await engine.deploy({ classId: 'cs101', count: 2, template: 'ubuntu' });
      const bob = (await store.classes.getPersonByUsername('bob'))!;
      const [vm] = await store.classes.assignmentsOf(bob.id);
      sim.state.guests.get(vm!.vmid)!.status = 'running';
      await expect(engine.planReset({ classId: 'cs101', usernames: ['carol'] })).rejects.toThrow(VmResetError);
      const summary = await (
        await engine.applyReset(await engine.planReset({ classId: 'cs101', usernames: ['bob'] }))
      ).done;
      expect(summary.status).toBe('done');
      expect(sim.state.guests.get(vm!.vmid)!.status).toBe('running');
    } finally {
      await api.close();
      await sim.close();
    }
  });

  it('starts the new VM when the old one runs but is too new for the cluster list to say so', async () => {
    const sim = await startPveSim({ timeScale: 200 });
    const { api, store, engine } = await labOver(sim);
    try {
      await engine.deploy({ classId: 'cs101', count: 1, template: 'ubuntu' });
      const alice = (await store.classes.getPersonByUsername('alice'))!;
      const [vm] = await store.classes.assignmentsOf(alice.id);
      const guest = sim.state.guests.get(vm!.vmid)!;
      guest.status = 'running';
      // Simulated time stands still, so the VM stays too new for the list however slow the machine.
      sim.time.pause();
      guest.createdAt = sim.state.time.now();
      const listed = (await api.get<{ vmid: number; status: string }[]>('/cluster/resources', { type: 'vm' })).find(
        (r) => r.vmid === vm!.vmid,
      );
      expect(listed?.status).toBe('unknown');
      const plan = await engine.planReset({ classId: 'cs101', usernames: ['alice'] });
      expect(plan.vms).toEqual([expect.objectContaining({ vmid: vm!.vmid, start: true })]);
    } finally {
      await api.close();
      await sim.close();
    }
  });
});

// A class's network choice through the router, on a lab whose `sdn` settings are given (as
// lab.config.json's `sdn` gives them to `lab serve`): one private network for the class, built by
// `/lab deploy` before the VMs, checked by `/lab doctor`, removed by `/lab destroy` after the VMs.
import * as commands from '../src/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { net0Bridge } from '@lab/proxmox-sdk/network';
import { ids, lab } from './lab-fixture.js';

let env: Awaited<ReturnType<typeof lab>>;
beforeAll(async () => {
  env = await lab(commands, { sdn: { prefix: 'lab' } });
});
afterAll(async () => env.close());

const as = (userId: string, command: string, text: string, confirmed = false) =>
  env.router.invoke({ platform: 'slack', userId, command, text, confirmed });
const students = () =>
  [...env.sim.state.guests.values()].filter(
    (g) => (g.config.tags ?? '').includes('class-cs101') && (g.config.tags ?? '').includes('role-student'),
  );

describe('one private network for the class, from set-lab to destroy', () => {
  it('deploy builds it and puts every student VM on it; doctor checks SDN; destroy removes it after the VMs', async () => {
    const set = await as(ids.teacher, 'class', 'set-lab cs101 attacker=ubuntu --network class');
    expect(set.error, set.text).toBeFalsy();
    expect(set.text).not.toContain('Warning');

    const deployed = await as(ids.teacher, 'lab', 'deploy cs101 2');
    expect(deployed.error, deployed.text).toBeFalsy();
    expect(deployed.text).toContain(
      'Networks: 1 private network (one for the class, its teacher VMs included) in zone labzone, with internet (SNAT).',
    );
    const [vnet, ...more] = (await env.services.store.sdn.list('lab', { classId: 'cs101' })).filter(
      (r) => r.kind === 'vnet',
    );
    expect(more).toEqual([]);
    expect(vnet!.student).toBeNull();
    expect(students()).toHaveLength(2);
    for (const g of students()) expect(net0Bridge(g.config.net0), g.config.name).toBe(vnet!.objectId);
    // The teacher VM is on the class's network too (the base keeps what it was made with).
    const teacherVm = [...env.sim.state.guests.values()].find((g) => g.config.name === 'cs101-attacker-teacher');
    expect(net0Bridge(teacherVm!.config.net0)).toBe(vnet!.objectId);

    // Doctor checks the SDN privileges now that a class uses networks: a token without SDN.Allocate fails.
    expect((await as(ids.admin, 'lab', 'doctor')).error).toBeFalsy();
    const granted = await env.api.get<Record<string, Record<string, 0 | 1>>>('/access/permissions');
    env.sim.auth.setPermissions(
      Object.fromEntries(
        Object.entries(granted).map(([path, privs]) => [
          path,
          Object.fromEntries(Object.entries(privs).filter(([p]) => p !== 'SDN.Allocate')),
        ]),
      ),
    );
    try {
      const doctor = await as(ids.admin, 'lab', 'doctor');
      expect(doctor.error).toBe(true);
      expect(doctor.text).toContain('SDN.Allocate');
    } finally {
      env.sim.auth.setPermissions(undefined);
    }

    const asked = await as(ids.teacher, 'lab', 'destroy cs101');
    expect(asked.confirm).toBeDefined();
    const destroyed = await as(ids.teacher, 'lab', 'destroy cs101', true);
    expect(destroyed.error, destroyed.text).toBeFalsy();
    expect(destroyed.text).toMatch(
      new RegExp(
        `^cs101: \\d+ VMs destroyed\\.\\nIts private networks are removed \\(SDN ${vnet!.objectId}, labzone\\)\\.$`,
      ),
    );
    expect(students()).toEqual([]);
    expect(await env.services.store.sdn.list('lab')).toEqual([]);
    expect(Object.keys((env.sim.state.sdn.snapshot().pending as { vnets: object }).vnets)).toEqual([]);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim } from '../src/index.js';
import { call, fastSim, waitTask } from './helpers.js';

let sim: PveSim;
afterEach(() => sim?.close());

const configOf = async (node: string, vmid: number) =>
  (await call(sim, 'GET', `/nodes/${node}/qemu/${vmid}/config`)).body.data as Record<string, unknown>;

describe('tags as PVE stores them (pve-common pve-tag, pve-guest-common get_unique_tags)', () => {
  it('splits on , ; and spaces, lower-cases, drops duplicates, sorts and joins with ;', async () => {
    sim = await fastSim();
    const r = await call(sim, 'PUT', '/nodes/pve3/qemu/102/config', {
      params: { tags: 'Lab,role-student class-CS101;lab  zeta' },
    });
    expect(r.status).toBe(200);
    expect((await configOf('pve3', 102)).tags).toBe('class-cs101;lab;role-student;zeta');
    const resources = (await call(sim, 'GET', '/cluster/resources', { params: { type: 'vm' } })).body.data as Array<{
      vmid: number;
      tags?: string;
    }>;
    expect(resources.find((g) => g.vmid === 102)?.tags).toBe('class-cs101;lab;role-student;zeta');
  });

  it('normalises the tags a new VM is created with', async () => {
    sim = await fastSim();
    const r = await call(sim, 'POST', '/nodes/pve2/qemu', {
      params: { vmid: 801, name: 'tagged', memory: 512, scsi0: 'local-lvm:4', tags: 'role-base;LAB;lab' },
    });
    expect((await waitTask(sim, r.body.data as string)).exitstatus).toBe('OK');
    expect((await configOf('pve2', 801)).tags).toBe('lab;role-base');
  });

  it('refuses a tag with other characters as a parameter error', async () => {
    sim = await fastSim();
    const r = await call(sim, 'PUT', '/nodes/pve3/qemu/102/config', { params: { tags: 'lab;class:cs101' } });
    expect(r.status).toBe(400);
    expect(r.reason).toBe('Parameter verification failed.');
    expect(r.body.errors).toEqual({ tags: 'invalid format - invalid characters in tag' });
    expect((await configOf('pve3', 102)).tags).toBeUndefined();
  });

  it('checks VM.Config.Options for the tags of a new VM inside the task from PVE 9.2 on, not before', async () => {
    const scenario = (pveVersion: string) => {
      const base = structuredClone(presets.small!);
      return {
        ...base,
        pveVersion,
        users: [{ userid: 'maker@pve' }],
        tokens: [{ tokenId: 'maker@pve!bot', secret: 'maker-secret', privsep: false }],
        roles: [{ roleid: 'Maker', privs: ['VM.Allocate', 'VM.Audit', 'Datastore.AllocateSpace'] }],
        acl: [{ path: '/', roles: 'Maker', users: ['maker@pve'] }],
      };
    };
    const asMaker = { auth: 'none' as const, headers: { authorization: 'PVEAPIToken=maker@pve!bot=maker-secret' } };
    const create = () =>
      call(sim, 'POST', '/nodes/pve2/qemu', {
        ...asMaker,
        params: { vmid: 802, name: 'tagged', memory: 512, scsi0: 'local-lvm:4', tags: 'lab' },
      });

    sim = await fastSim({ scenario: scenario('9.2.0') });
    const refused = await create();
    expect(refused.status).toBe(200);
    expect((await waitTask(sim, refused.body.data as string)).exitstatus).toBe(
      'unable to create VM 802 - Permission check failed (/vms/802, VM.Config.Options)',
    );
    expect(sim.state.guests.has(802)).toBe(false);
    await sim.close();

    sim = await fastSim({ scenario: scenario('9.1.3') });
    const accepted = await create();
    expect((await waitTask(sim, accepted.body.data as string)).exitstatus).toBe('OK');
    expect(sim.state.guests.get(802)?.config.tags).toBe('lab');
  });
});

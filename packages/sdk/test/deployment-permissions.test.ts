import { afterEach, describe, expect, it } from 'vitest';
import { presets, startPveSim, type PveSim } from '@lab/pve-sim';
import { PvePermissionError } from '../src/errors/index.js';
import { DeploymentEngine, systemClock, type ProxmoxClient } from '../src/index.js';
import { labOver } from './deployment-fixture.js';

let sim: PveSim;
let api: ProxmoxClient | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
  await sim?.close();
});

const CLONES = 'POST /nodes/{node}/qemu/{vmid}/clone';
const STUDENTS = Array.from({ length: 30 }, (_, i) => `student${String(i + 1).padStart(2, '0')}`);
/** What a lab's deployment token needs (qemu-server clone_vm, template, config; pve-manager resources). */
const LAB_PRIVS = [
  'VM.Allocate',
  'VM.Clone',
  'VM.Audit',
  'VM.Config.Options',
  'VM.Config.Disk',
  'VM.Config.Cloudinit',
  'VM.PowerMgmt',
  'VM.Migrate',
  'VM.GuestAgent.Audit',
  'Datastore.AllocateSpace',
  'Datastore.Audit',
  'SDN.Use',
  'Sys.Audit',
];

/** A sim whose own token is `lab@pve!deploy`, privilege-separated, with the `LabBot` role holding `privs` on `/`. */
function simWithLabToken(privs: string[], cloneRaceRate = 0, pveVersion = '9.1.3'): Promise<PveSim> {
  const scenario = { ...structuredClone(presets.small!), pveVersion };
  scenario.users = [...(scenario.users ?? []), { userid: 'lab@pve', groups: ['lab-admins'] }];
  scenario.tokens = [{ tokenId: 'lab@pve!deploy', secret: 'deploy-secret', privsep: true }];
  scenario.roles = [{ roleid: 'LabBot', privs }];
  scenario.acl = [
    { path: '/', roles: 'Administrator', groups: ['lab-admins'] },
    { path: '/', roles: 'LabBot', tokens: ['lab@pve!deploy'] },
  ];
  return startPveSim({ timeScale: 400, scenario, token: 'lab@pve!deploy=deploy-secret', cloneRaceRate });
}

describe('deployments with a privilege-separated token', () => {
  it('fail fast with PvePermissionError, before any clone, when the token lacks VM.Clone', async () => {
    sim = await simWithLabToken(LAB_PRIVS.filter((p) => p !== 'VM.Clone'));
    const lab = await labOver(sim, { students: STUDENTS });
    api = lab.api;
    const error = await lab.engine.plan({ classId: 'cs101', count: 30, template: 'ubuntu' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PvePermissionError);
    expect(error).toMatchObject({ code: 'LAB_PVE_PERMISSION', aclPath: '/vms/9000', privilege: 'VM.Clone' });
    expect((error as Error).message).toBe(
      "Proxmox refused: the lab's token lacks VM.Clone on /vms/9000, which Proxmox VE 9.1.3 needs here — ask your admin to run `lab doctor`.",
    );
    expect(sim.requests.count(CLONES)).toBe(0);
  });

  it('asks for VM.Config.Cloudinit up front when students get a login on a template with a cloud-init drive', async () => {
    sim = await simWithLabToken(LAB_PRIVS.filter((p) => p !== 'VM.Config.Cloudinit'));
    const lab = await labOver(sim, { students: STUDENTS });
    api = lab.api;
    await expect(lab.engine.plan({ classId: 'cs101', count: 30, template: 'ubuntu' })).rejects.toMatchObject({
      aclPath: '/vms',
      privilege: 'VM.Config.Cloudinit',
    });
    expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/clone')).toBe(0);
  });

  it('names the bridge when the token lacks SDN.Use, which PVE checks even for tokens of root', async () => {
    sim = await simWithLabToken(LAB_PRIVS.filter((p) => p !== 'SDN.Use'));
    const lab = await labOver(sim, { students: STUDENTS });
    api = lab.api;
    await expect(lab.engine.plan({ classId: 'cs101', count: 30, template: 'ubuntu' })).rejects.toMatchObject({
      aclPath: '/sdn/zones/localnetwork/vmbr0',
      privilege: 'SDN.Use',
    });
    expect(sim.requests.count(CLONES)).toBe(0);
  });

  it('ask for the guest-agent privilege of the cluster’s PVE version, naming the version', async () => {
    sim = await simWithLabToken(LAB_PRIVS.filter((p) => p !== 'VM.GuestAgent.Audit'));
    const lab = await labOver(sim, { students: STUDENTS });
    api = lab.api;
    const error = await lab.engine.plan({ classId: 'cs101', count: 30, template: 'ubuntu' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LAB_PVE_PERMISSION', privilege: 'VM.GuestAgent.Audit', pveVersion: '9.1.3' });
    expect((error as Error).message).toContain('Proxmox VE 9.1.3');
    await api.close();
    api = undefined;
    await sim.close();

    const pve8 = [...LAB_PRIVS.filter((p) => p !== 'VM.GuestAgent.Audit'), 'VM.Monitor'];
    sim = await simWithLabToken(
      pve8.filter((p) => p !== 'VM.Monitor'),
      0,
      '8.4.1',
    );
    const lab8 = await labOver(sim, { students: STUDENTS });
    api = lab8.api;
    await expect(lab8.engine.plan({ classId: 'cs101', count: 30, template: 'ubuntu' })).rejects.toMatchObject({
      privilege: 'VM.Monitor',
      pveVersion: '8.4.1',
    });
    await api.close();
    api = undefined;
    await sim.close();
    sim = await simWithLabToken(pve8, 0, '8.4.1');
    const ok8 = await labOver(sim, { students: STUDENTS });
    api = ok8.api;
    await expect(ok8.engine.plan({ classId: 'cs101', count: 30, template: 'ubuntu' })).resolves.toMatchObject({
      clusterId: expect.any(String),
    });
  });

  it('turns a 403 from PVE itself into the same coded error', async () => {
    sim = await simWithLabToken(LAB_PRIVS.filter((p) => p !== 'VM.Clone'));
    const lab = await labOver(sim, { students: STUDENTS });
    api = lab.api;
    const error = await api.post('/nodes/pve1/qemu/9000/clone', { newid: 800 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PvePermissionError);
    expect(error).toMatchObject({
      status: 403,
      code: 'LAB_PVE_PERMISSION',
      aclPath: '/vms/9000',
      privilege: 'VM.Clone',
    });
  });

  it('deploys 30 students with every privilege, under a raised clone race rate, each VM once', async () => {
    sim = await simWithLabToken(LAB_PRIVS, 0.2);
    const lab = await labOver(sim, { students: STUDENTS });
    api = lab.api;
    const summary = await lab.engine.deploy({
      classId: 'cs101',
      count: 30,
      template: 'ubuntu',
      requestedBy: 'teacher',
    });
    // The 30 students spread over the nodes the class may use: copies of the base (also named
    // cs101-base) on the nodes other than the base's.
    const copies = [...sim.state.guests.values()].filter((g) => g.config.name === 'cs101-base').length - 1;
    expect(copies).toBeGreaterThan(0);
    expect(summary).toMatchObject({
      status: 'done',
      created: 32 + copies,
      failed: [],
      orphans: [],
      unregistered: [],
      duplicates: [],
    });
    const lost = sim.state.acceptedClones.filter((c) => c.outcome === 'failed');
    expect(lost.length).toBeGreaterThan(0);
    const perName = new Map<string, number>();
    for (const c of sim.state.acceptedClones.filter((x) => x.outcome === 'ok'))
      perName.set(c.name ?? '?', (perName.get(c.name ?? '?') ?? 0) + 1);
    expect([...perName].filter(([name, n]) => n !== (name === 'cs101-base' ? 1 + copies : 1))).toEqual([]);
    expect(perName.size).toBe(32);
    // Lost races leave no VM behind: only the class's 32 VMs and the base's copies were added to the cluster.
    expect([...sim.state.guests.values()].filter((g) => (g.config.name ?? '').startsWith('cs101-'))).toHaveLength(
      32 + copies,
    );
  });

  it('retries a permission check PVE answers 503 or resets more often than the client alone would try, then deploys each VM once', async () => {
    sim = await simWithLabToken(LAB_PRIVS);
    const lab = await labOver(sim, { students: STUDENTS.slice(0, 4) });
    api = lab.api;
    // Four failures in a row: one more than the client's own three attempts.
    sim.faults.add({ method: 'GET', path: '/access/permissions', kind: 'http-503', count: 2 });
    sim.faults.add({ method: 'GET', path: '/access/permissions', kind: 'reset', count: 2 });
    const summary = await lab.engine.deploy({ classId: 'cs101', count: 4, template: 'ubuntu', strategy: 'pack' });
    expect(sim.requests.count('GET /access/permissions')).toBe(5);
    expect(summary).toMatchObject({
      status: 'done',
      created: 6,
      failed: [],
      orphans: [],
      unregistered: [],
      duplicates: [],
    });
    const clonedNames = sim.state.acceptedClones.filter((c) => c.outcome !== 'failed').map((c) => c.name);
    expect(clonedNames.length, 'no VM cloned twice').toBe(new Set(clonedNames).size);
    expect(clonedNames).toHaveLength(6);
    expect([...sim.state.guests.values()].filter((g) => g.config.lock !== undefined)).toEqual([]);
    expect(await lab.store.deployments.unfinished()).toEqual([]);
  });

  it('fails at once with PvePermissionError when the permission check, answered after transient failures, lacks a privilege', async () => {
    sim = await simWithLabToken(LAB_PRIVS.filter((p) => p !== 'VM.Clone'));
    const lab = await labOver(sim, { students: STUDENTS.slice(0, 4) });
    api = lab.api;
    sim.faults.add({ method: 'GET', path: '/access/permissions', kind: 'http-503', count: 2 });
    const error = await lab.engine.plan({ classId: 'cs101', count: 4, template: 'ubuntu' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PvePermissionError);
    expect(error).toMatchObject({ code: 'LAB_PVE_PERMISSION', aclPath: '/vms/9000', privilege: 'VM.Clone' });
    expect(sim.requests.count('GET /access/permissions'), 'two failures, then the one answer').toBe(3);
    expect(sim.requests.count(CLONES)).toBe(0);
  });

  it('does not repeat a planning read PVE refuses with 403', async () => {
    sim = await simWithLabToken(LAB_PRIVS);
    const lab = await labOver(sim, { students: STUDENTS.slice(0, 4) });
    api = lab.api;
    sim.access.roles.get('LabBot')!.delete('VM.Audit');
    const configReads = () => sim.requests.count('GET /nodes/{node}/qemu/{vmid}/config');
    const before = configReads();
    const error = await lab.engine.plan({ classId: 'cs101', count: 4, template: 'ubuntu' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PvePermissionError);
    expect(error).toMatchObject({
      status: 403,
      code: 'LAB_PVE_PERMISSION',
      path: '/nodes/pve1/qemu/9000/config',
      privilege: 'VM.Audit',
    });
    expect(configReads() - before, 'the refused read is sent once').toBe(1);
  });

  it('applies a fresh plan on the privileges plan() checked, and checks a plan older than a minute again', async () => {
    sim = await simWithLabToken(LAB_PRIVS);
    const lab = await labOver(sim, { students: STUDENTS.slice(0, 2) });
    api = lab.api;
    let offsetMs = 0;
    const clock = { ...systemClock, now: () => systemClock.now() + offsetMs };
    const engine = new DeploymentEngine({ ...lab, clock, pollIntervalMs: 20, configureStudentVm: false });
    const permissionChecks = () => sim.requests.count('GET /access/permissions');

    const fresh = await engine.plan({ classId: 'cs101', count: 1, template: 'ubuntu' });
    const checkedByPlan = permissionChecks();
    expect(checkedByPlan).toBe(1);
    expect((await (await engine.apply(fresh)).done).status).toBe('done');
    expect(permissionChecks()).toBe(checkedByPlan);

    const old = await engine.plan({ classId: 'cs101', count: 2, template: 'ubuntu' });
    const checkedByOldPlan = permissionChecks();
    offsetMs = 61_000;
    expect((await (await engine.apply(old)).done).status).toBe('done');
    expect(permissionChecks()).toBe(checkedByOldPlan + 1);
  });
});

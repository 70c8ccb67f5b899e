import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim } from '@lab/pve-sim';
import { cloneVm } from '../src/pve/index.js';
import { exportTerraform } from '../src/terraform/index.js';
import { SyncEngine, type ProxmoxClient } from '../src/index.js';
import { TerraformExportError } from '../src/errors/index.js';
import { countingStore, fastSim } from './helpers.js';
import { labOver } from './deployment-fixture.js';
import { createMemoryStore } from '../src/testing/index.js';

const moduleDir = resolve(import.meta.dirname, '../../../terraform/modules/proxmox-class');
const out = mkdtempSync(join(tmpdir(), 'lab-tf-'));
let sim: PveSim | undefined;
let api: ProxmoxClient | undefined;
afterEach(async () => {
  await api?.close();
  await sim?.close();
  api = undefined;
  sim = undefined;
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

type Hcl = Record<string, Record<string, Array<Record<string, unknown>>> | Array<Record<string, unknown>>>;

async function parseDir(dir: string): Promise<Hcl> {
  const merged: Record<string, unknown> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.tf'))) {
    const parsed = (await parse(file, readFileSync(join(dir, file), 'utf8'))) as Record<string, unknown>;
    for (const [block, entries] of Object.entries(parsed))
      merged[block] = Array.isArray(entries)
        ? [...((merged[block] as unknown[]) ?? []), ...entries]
        : { ...(merged[block] as object), ...(entries as object) };
  }
  return merged as Hcl;
}

/** Every file of the workspace, as text, to look for secrets. */
function allText(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
}

describe('the Terraform path', () => {
  it('has a module whose files parse as HCL and declare what a class needs', async () => {
    const module = (await parseDir(moduleDir)) as Record<string, Record<string, Array<Record<string, unknown>>>>;
    expect(Object.keys(module.variable ?? {}).sort()).toEqual([
      'base_name',
      'base_node',
      'base_vmid',
      'class_id',
      'extra_tags',
      'shared_storage',
      'students',
      'teacher_node',
      'teacher_vmid',
      'template_vmids',
    ]);
    const resources = module.resource as unknown as Record<string, Record<string, Array<Record<string, unknown>>>>;
    expect(Object.keys(resources.proxmox_virtual_environment_vm ?? {}).sort()).toEqual(['base', 'student', 'teacher']);
    expect(resources.proxmox_virtual_environment_vm!.student![0]!.for_each).toBe('${var.students}');
    expect(Object.keys(module.output ?? {}).sort()).toEqual(['base_vmid', 'student_vmids', 'teacher_vmid']);
  });

  it('exports a class from its plan: a self-contained workspace, every variable set, VMIDs left to Proxmox unless a range pins them', async () => {
    sim = await fastSim({ timeScale: 400 });
    const lab = await labOver(sim);
    api = lab.api;
    const plan = await lab.engine.plan({ classId: 'cs101', count: 4, template: 'ubuntu', strategy: 'pack' });
    const dir = join(out, 'plan', 'cs101');
    const result = await exportTerraform(
      { store: lab.store },
      { classId: 'cs101', dir, from: 'plan', plan, endpoint: { url: sim.url }, moduleDir },
    );
    expect(result).toMatchObject({ vms: 6, imports: 0 });
    const tfvars = JSON.parse(readFileSync(join(dir, 'terraform.tfvars.json'), 'utf8')) as Record<string, unknown>;
    expect(tfvars).toMatchObject({
      class_id: 'cs101',
      template_vmids: { pve1: 9000, pve2: 9100 },
      proxmox_endpoint: sim.url,
      proxmox_insecure: false,
      teacher_vmid: null,
      base_vmid: null,
    });
    const students = tfvars.students as Record<string, { node: string; vmid?: number }>;
    expect(Object.keys(students).sort()).toEqual(['alice', 'bob', 'carol', 'seat-01']);
    for (const vm of plan.vms.filter((v) => v.role === 'student'))
      expect(students[vm.name.slice('cs101-'.length)]).toEqual({ node: vm.node });
    expect(tfvars.base_node).toBe(plan.base.node);
    expect((tfvars.template_vmids as Record<string, number>)[tfvars.teacher_node as string]).toBeDefined();
    expect(allText(dir)).not.toContain(sim.tokenSecret);

    const workspace = (await parseDir(dir)) as Record<string, Record<string, Array<Record<string, unknown>>>>;
    const call = workspace.module?.class?.[0] ?? {};
    expect(call.source).toBe('./modules/proxmox-class');
    const copied = (await parseDir(join(dir, 'modules/proxmox-class'))) as Record<
      string,
      Record<string, Array<Record<string, unknown>>>
    >;
    for (const [name, [decl]] of Object.entries(copied.variable ?? {}))
      if (!(decl && 'default' in decl)) expect(call, `module block sets ${name}`).toHaveProperty(name);
    for (const [name, [decl]] of Object.entries(workspace.variable ?? {})) {
      if (name === 'proxmox_api_token' || (decl && 'default' in decl)) continue;
      expect(tfvars, `tfvars sets ${name}`).toHaveProperty(name);
    }
    expect(workspace.variable!.proxmox_api_token![0]).toMatchObject({ sensitive: true });

    const pinned = await exportTerraform(
      { store: lab.store },
      {
        classId: 'cs101',
        dir: join(out, 'pinned'),
        from: 'plan',
        plan,
        endpoint: { url: sim.url },
        moduleDir,
        vmidRange: { first: 5000, last: 5099 },
      },
    );
    expect(pinned.vms).toBe(6);
    const pinnedVars = JSON.parse(readFileSync(join(out, 'pinned', 'terraform.tfvars.json'), 'utf8')) as {
      teacher_vmid: number;
      base_vmid: number;
      students: Record<string, { vmid: number }>;
    };
    expect(
      [pinnedVars.teacher_vmid, pinnedVars.base_vmid, ...Object.values(pinnedVars.students).map((s) => s.vmid)].sort(),
    ).toEqual([5000, 5001, 5002, 5003, 5004, 5005]);
    await expect(
      exportTerraform(
        { store: lab.store },
        {
          classId: 'cs101',
          dir: join(out, 'small'),
          from: 'plan',
          plan,
          endpoint: { url: sim.url },
          moduleDir,
          vmidRange: { first: 5000, last: 5002 },
        },
      ),
    ).rejects.toThrow('The VMID range 5000-5002 holds 3 VMs; the class needs 6.');
  });

  it('exports a deployed class with one import block per VM of the class, and nothing else', async () => {
    sim = await fastSim({ timeScale: 400 });
    const lab = await labOver(sim);
    api = lab.api;
    expect((await lab.engine.deploy({ classId: 'cs101', count: 3, template: 'ubuntu', strategy: 'pack' })).status).toBe(
      'done',
    );
    const dir = join(out, 'deployed', 'cs101');
    const result = await exportTerraform(
      { store: lab.store },
      { classId: 'cs101', dir, from: 'deployed', endpoint: { url: sim.url }, moduleDir },
    );
    const workspace = await parseDir(dir);
    const imports = (workspace.import ?? []) as Array<{ to: string; id: string }>;
    const classVms = [...sim.state.guests.values()].filter((g) =>
      (g.config.tags ?? '').split(';').includes('class-cs101'),
    );
    expect(classVms).toHaveLength(5);
    expect(result).toMatchObject({ vms: 5, imports: 5 });
    expect(imports.map((i) => i.id).sort()).toEqual(classVms.map((g) => `${g.node}/${g.vmid}`).sort());
    const byAddress = new Map(imports.map((i) => [i.to.replace(/^\$\{|\}$/g, ''), i.id]));
    const vmOf = (name: string) => classVms.find((g) => g.config.name === name)!;
    expect(byAddress.get('module.class.proxmox_virtual_environment_vm.teacher')).toBe(
      `${vmOf('cs101-teacher').node}/${vmOf('cs101-teacher').vmid}`,
    );
    expect(byAddress.get('module.class.proxmox_virtual_environment_vm.base')).toBe(
      `${vmOf('cs101-base').node}/${vmOf('cs101-base').vmid}`,
    );
    expect(byAddress.get('module.class.proxmox_virtual_environment_vm.student["alice"]')).toBe(
      `${vmOf('cs101-alice').node}/${vmOf('cs101-alice').vmid}`,
    );
    const tfvars = JSON.parse(readFileSync(join(dir, 'terraform.tfvars.json'), 'utf8')) as {
      students: Record<string, { node: string; vmid: number }>;
      teacher_vmid: number;
      base_vmid: number;
    };
    expect(tfvars.teacher_vmid).toBe(vmOf('cs101-teacher').vmid);
    expect(tfvars.students.bob).toEqual({ node: vmOf('cs101-bob').node, vmid: vmOf('cs101-bob').vmid });
    expect(allText(dir)).not.toContain(sim.tokenSecret);
    await expect(
      exportTerraform(
        { store: lab.store },
        {
          classId: 'cs101',
          dir: join(out, 'again'),
          from: 'plan',
          plan: await lab.engine.plan({ classId: 'cs101', count: 3, template: 'ubuntu', strategy: 'pack' }),
          endpoint: { url: sim.url },
          moduleDir,
        },
      ),
    ).rejects.toThrow(/^Class cs101 already has 5 VM\(s\) .*; export --from deployed/);
  });

  it('never produces a placeholder endpoint, a cleartext one, or a workspace for an unknown class', async () => {
    const store = createMemoryStore();
    await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: null, ownerId: null }, 1);
    const request = { classId: 'cs101', dir: join(out, 'none'), from: 'deployed' as const, moduleDir };
    await expect(exportTerraform({ store }, { ...request, endpoint: { url: '' } })).rejects.toBeInstanceOf(
      TerraformExportError,
    );
    await expect(exportTerraform({ store }, { ...request, endpoint: { url: 'http://pve1:8006' } })).rejects.toThrow(
      'must be https://',
    );
    await expect(
      exportTerraform({ store }, { ...request, endpoint: { url: 'https://root:pw@pve1:8006' } }),
    ).rejects.toThrow('without a user or password');
    await expect(
      exportTerraform({ store }, { ...request, classId: 'cs999', endpoint: { url: 'https://pve1:8006' } }),
    ).rejects.toThrow("There is no class 'cs999'");
    await expect(exportTerraform({ store }, { ...request, endpoint: { url: 'https://pve1:8006' } })).rejects.toThrow(
      'Class cs101 has no deployed VMs; export --from plan',
    );
  });

  it('refuses a plan that needs copies of the base template the module cannot make', async () => {
    const scenario = structuredClone(presets.small!);
    scenario.nodes = [
      { name: 'pve1', memoryGiB: 12 },
      { name: 'pve2', memoryGiB: 128 },
      { name: 'pve3', memoryGiB: 128 },
    ];
    sim = await fastSim({ timeScale: 400, scenario });
    const lab = await labOver(sim, { students: ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'] });
    api = lab.api;
    const plan = await lab.engine.plan({ classId: 'cs101', count: 6, template: 'ubuntu', strategy: 'pack' });
    expect(plan.replicateBaseTo.length).toBeGreaterThan(0);
    await expect(
      exportTerraform(
        { store: lab.store },
        { classId: 'cs101', dir: join(out, 'replicas'), from: 'plan', plan, endpoint: { url: sim.url }, moduleDir },
      ),
    ).rejects.toThrow(
      /needs copies of its base template on .*; deploy it with `lab deploy` and export --from deployed/,
    );
  });

  it('registers the VMs a Terraform apply made as the class’s at the next sync, so students can use /myvm', async () => {
    sim = await fastSim({ timeScale: 400 });
    const lab = await labOver(sim);
    api = lab.api;
    // What the module does: clones with Proxmox Lab's names and tags.
    const made = async (name: string, role: string) => {
      const vm = await cloneVm(lab.api, {
        source: { node: 'pve1', vmid: 9000 },
        name,
        mode: 'full',
        pollIntervalMs: 20,
      });
      await lab.api.put(`/nodes/pve1/qemu/${vm.vmid}/config`, { tags: `lab;class-cs101;role-${role}` });
      return vm.vmid;
    };
    const teacher = await made('cs101-teacher', 'teacher');
    const alice = await made('cs101-alice', 'student');
    const seat = await made('cs101-seat-01', 'student');
    const stray = await made('cs101-mallory', 'student');
    const sync = new SyncEngine({ store: lab.store, clusters: lab.clusters, probe: { isOpen: async () => false } });
    const [report] = await sync.fullSync();
    expect(report).toMatchObject({ ok: true, adopted: 3 });
    const aliceId = (await lab.store.classes.getPersonByUsername('alice'))!.id;
    expect(await lab.store.classes.assignment('lab', alice)).toMatchObject({
      classId: 'cs101',
      role: 'student',
      personId: aliceId,
    });
    expect(await lab.store.classes.assignment('lab', teacher)).toMatchObject({ classId: 'cs101', role: 'teacher' });
    expect(await lab.store.classes.assignment('lab', seat)).toMatchObject({ classId: 'cs101', personId: null });
    expect(await lab.store.classes.assignment('lab', stray), 'a name no student has is not adopted').toBeUndefined();
    const second = await made('cs101-alice-2', 'student');
    await lab.api.put(`/nodes/pve1/qemu/${second}/config`, { name: 'cs101-alice' });
    const [again] = await sync.fullSync();
    expect(again?.adopted ?? 0).toBe(0);
    expect(
      await lab.store.classes.assignment('lab', second),
      'a second VM for alice is a duplicate, not hers',
    ).toBeUndefined();
  });

  it('reads no class’s assignments at a sync once every tagged VM is assigned, and still adopts a new one', async () => {
    sim = await fastSim({ timeScale: 400 });
    const lab = await labOver(sim);
    api = lab.api;
    const made = async (name: string, role: string) => {
      const vm = await cloneVm(lab.api, {
        source: { node: 'pve1', vmid: 9000 },
        name,
        mode: 'full',
        pollIntervalMs: 20,
      });
      await lab.api.put(`/nodes/pve1/qemu/${vm.vmid}/config`, { tags: `lab;class-cs101;role-${role}` });
      return vm.vmid;
    };
    await made('cs101-teacher', 'teacher');
    await made('cs101-alice', 'student');
    const { store, calls, reset } = countingStore(lab.store);
    const sync = new SyncEngine({ store, clusters: lab.clusters, probe: { isOpen: async () => false } });
    expect((await sync.quickSync())[0]).toMatchObject({ ok: true, adopted: 2 });
    reset();
    expect((await sync.quickSync())[0]).toMatchObject({ ok: true, adopted: 0 });
    expect(calls('classes.assignmentsOfClass')).toBe(0);
    expect(calls('classes.getClass')).toBe(0);
    expect(calls('classes.assignment')).toBe(0);
    expect(calls('inventory.listSyncKeys'), 'the inventory it diffs with').toBe(1);
    expect(calls('inventory.list'), 'the tagged VMs assigned').toBe(1);
    const seat = await made('cs101-seat-01', 'student');
    reset();
    expect((await sync.quickSync())[0]).toMatchObject({ ok: true, adopted: 1 });
    expect(calls('classes.assignmentsOfClass')).toBe(1);
    expect(await lab.store.classes.assignment('lab', seat)).toMatchObject({
      classId: 'cs101',
      role: 'student',
      personId: null,
    });
  });
});

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { PveSim } from '@lab/pve-sim';
import { exportTerraform, type ProxmoxClient } from '../src/index.js';
import { fastSim } from './helpers.js';
import { labOver } from './deployment-fixture.js';

const moduleDir = resolve(import.meta.dirname, '../../../terraform/modules/proxmox-class');
const out = mkdtempSync(join(tmpdir(), 'lab-tf-'));
let sim: PveSim;
let api: ProxmoxClient | undefined;
afterEach(async () => {
  await api?.close();
  await sim?.close();
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

type Hcl = Record<string, Record<string, Array<Record<string, unknown>>>>;

async function parseDir(dir: string): Promise<Hcl> {
  const merged: Hcl = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.tf'))) {
    const parsed = (await parse(file, readFileSync(join(dir, file), 'utf8'))) as Hcl;
    for (const [block, entries] of Object.entries(parsed)) merged[block] = { ...merged[block], ...entries };
  }
  return merged;
}

describe('the Terraform path', () => {
  it('has a module whose files parse as HCL and declare what a class needs', async () => {
    const module = await parseDir(moduleDir);
    expect(Object.keys(module.variable ?? {}).sort()).toEqual(['base_node', 'base_vmid', 'class_id', 'extra_tags', 'shared_storage', 'students', 'teacher_node', 'teacher_vmid', 'template_vmids']);
    const resources = module.resource as unknown as Record<string, Record<string, Array<Record<string, unknown>>>>;
    expect(Object.keys(resources.proxmox_virtual_environment_vm ?? {}).sort()).toEqual(['base', 'student', 'teacher']);
    expect(resources.proxmox_virtual_environment_vm!.student![0]!.for_each).toBe('${var.students}');
    expect(Object.keys(module.output ?? {}).sort()).toEqual(['base_vmid', 'student_vmids', 'teacher_vmid']);
  });

  it('exports a class workspace in which every variable the module needs is set', async () => {
    sim = await fastSim({ timeScale: 400 });
    const lab = await labOver(sim);
    api = lab.api;
    await lab.engine.deploy({ classId: 'cs101', count: 4, template: 'ubuntu' });
    const dir = join(out, 'classes', 'cs101');
    const { files } = await exportTerraform({ store: lab.store }, 'cs101', dir, { endpoint: sim.url, moduleSource: moduleDir });
    expect(files).toEqual(['main.tf', 'terraform.tfvars.json']);
    const workspace = await parseDir(dir);
    const tfvars = JSON.parse(readFileSync(join(dir, 'terraform.tfvars.json'), 'utf8')) as Record<string, unknown>;
    expect(tfvars).toMatchObject({ class_id: 'cs101', template_vmids: { pve1: 9000, pve2: 9100 }, shared_storage: false, proxmox_endpoint: sim.url });
    expect(Object.keys(tfvars.students as object).sort()).toEqual(['alice', 'bob', 'carol', 'seat-01']);
    expect(JSON.stringify(tfvars)).not.toContain(sim.tokenSecret);

    // Every workspace variable without a default is set in tfvars (the token comes from TF_VAR_proxmox_api_token).
    for (const [name, [decl]] of Object.entries(workspace.variable ?? {})) {
      if (name === 'proxmox_api_token' || decl && 'default' in decl) continue;
      expect(tfvars, `tfvars sets ${name}`).toHaveProperty(name);
    }
    // Every module variable without a default is passed by the module block.
    const module = await parseDir(moduleDir);
    const call = (workspace.module?.class?.[0] ?? {}) as Record<string, unknown>;
    for (const [name, [decl]] of Object.entries(module.variable ?? {})) {
      if (decl && 'default' in decl) continue;
      expect(call, `module block sets ${name}`).toHaveProperty(name);
    }
    // ...and passes nothing the module does not declare.
    for (const name of Object.keys(call).filter((k) => k !== 'source')) expect(module.variable).toHaveProperty(name);
  });

  it('refuses to export a class that was never deployed', async () => {
    sim = await fastSim();
    const lab = await labOver(sim);
    api = lab.api;
    await expect(exportTerraform({ store: lab.store }, 'cs101', join(out, 'x'))).rejects.toThrow("class 'cs101' has no deployment to export yet");
  });
});

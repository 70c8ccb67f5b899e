import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '@lab/proxmox-sdk/testing';
import { importLegacyTemplates, openStore, readLegacySqlite } from '../src/index.js';

const legacy = {
  templates: [
    {
      id: 1,
      name: 'ubuntu-22.04',
      description: 'Ubuntu',
      proxmox_template_id: 9000,
      proxmox_node: 'pve1',
      memory: 2048,
      cores: 2,
      is_active: 1,
    },
    {
      id: 2,
      name: 'win11',
      description: null,
      proxmox_template_id: 9001,
      proxmox_node: 'pve1',
      memory: 4096,
      cores: 4,
      is_active: 0,
    },
    { id: 3, name: '', description: null, proxmox_template_id: 9002, proxmox_node: 'pve1' },
  ],
  replicas: [
    { template_id: 1, proxmox_node: 'pve2', proxmox_template_id: 9100 },
    { template_id: 1, proxmox_node: 'pve3', proxmox_template_id: 9200 },
    { template_id: 7, proxmox_node: 'pve2', proxmox_template_id: 9300 },
  ],
};

describe('importing the legacy template tables', () => {
  it.each([
    ['memory', async () => createMemoryStore()],
    ['sqlite', async () => openStore('sqlite::memory:')],
  ])('turns templates and replicas into node mappings, idempotently (%s)', async (_name, open) => {
    const store = await open();
    const first = await importLegacyTemplates(store, legacy, { clusterId: 'lab', now: 1 });
    expect(first).toMatchObject({ templatesCreated: 2, mappingsAdded: 4, mappingsKept: 0 });
    expect(first.skipped.map((s) => s.reason)).toEqual([
      'name, proxmox_template_id and proxmox_node are required',
      'no vm_templates row with id 7',
    ]);
    const ubuntu = (await store.templates.getByName('ubuntu-22.04'))!;
    expect((await store.templates.mappings(ubuntu.id)).map((m) => [m.node, m.vmid])).toEqual([
      ['pve1', 9000],
      ['pve2', 9100],
      ['pve3', 9200],
    ]);
    expect((await store.templates.getByName('win11'))?.isActive).toBe(false);

    const second = await importLegacyTemplates(store, legacy, { clusterId: 'lab', now: 2 });
    expect(second).toMatchObject({ templatesCreated: 0, mappingsAdded: 0, mappingsKept: 4 });
    expect(await store.templates.list()).toHaveLength(2);
    await store.close();
  });

  it('reports a replica that contradicts an existing mapping instead of overwriting it', async () => {
    const store = createMemoryStore();
    await importLegacyTemplates(store, legacy, { clusterId: 'lab', now: 1 });
    const report = await importLegacyTemplates(
      store,
      {
        templates: [legacy.templates[0]!],
        replicas: [{ template_id: 1, proxmox_node: 'pve2', proxmox_template_id: 9999 }],
      },
      { clusterId: 'lab', now: 2 },
    );
    expect(report.skipped).toEqual([
      { row: 'replica of template 1 on pve2', reason: "template already maps node 'pve2' to VMID 9100, not 9999" },
    ]);
  });
});

describe('reading the legacy SQLite database', () => {
  it('reads vm_templates and vm_template_replicas and imports them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-legacy-'));
    const file = join(dir, 'old.db');
    const old = new BetterSqlite3(file);
    old.exec(`create table vm_templates (id integer primary key, name text, description text, proxmox_template_id integer, proxmox_node text, memory integer, cores integer, is_active integer);
      create table vm_template_replicas (id integer primary key, template_id integer, proxmox_node text, proxmox_template_id integer);
      insert into vm_templates values (1, 'ubuntu-22.04', 'Ubuntu', 9000, 'pve1', 2048, 2, 1);
      insert into vm_template_replicas values (1, 1, 'pve2', 9100);`);
    old.close();
    const legacy = readLegacySqlite(file);
    expect(legacy.templates).toHaveLength(1);
    expect(legacy.replicas).toEqual([{ template_id: 1, proxmox_node: 'pve2', proxmox_template_id: 9100 }]);
    const store = await openStore('sqlite::memory:');
    expect(await importLegacyTemplates(store, legacy, { clusterId: 'lab', now: 1 })).toMatchObject({
      templatesCreated: 1,
      mappingsAdded: 2,
    });
    await store.close();
    expect(() => readLegacySqlite(join(dir, 'missing.db'))).toThrow(/cannot open the legacy database/);
    const empty = new BetterSqlite3(join(dir, 'empty.db'));
    empty.close();
    expect(() => readLegacySqlite(join(dir, 'empty.db'))).toThrow(/has no vm_templates table/);
    rmSync(dir, { recursive: true, force: true });
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PveSim } from '@lab/pve-sim';
import {
  InvalidTemplateError,
  TemplateNotFoundError,
  TemplateNotOnNodeError,
  TemplateValidationError,
} from '../src/errors/index.js';
import {
  ProxmoxClient,
  TemplateCatalog,
  checkTemplateHealth,
  replicateTemplate,
  scanTemplateInventory,
  templateDistribution,
  templateStatistics,
  type ClusterApis,
  type Store,
} from '../src/index.js';
import { cloneVm } from '../src/pve/index.js';
import { clientFor, expectSchemaValidRequests, fastSim } from './helpers.js';
import { findBootDisk } from '../src/cloning/boot-disk.js';
import { nodeTemplateVmid } from '../src/templates/node-template-vmid.js';
import { replicaTag } from '../src/templates/replicate-template.js';
import { createMemoryStore } from '../src/testing/index.js';

let sim: PveSim;
let api: ProxmoxClient;
let store: Store;
let clusters: ClusterApis;
let catalog: TemplateCatalog;

beforeEach(async () => {
  sim = await fastSim({ timeScale: 400 });
  api = clientFor(sim);
  store = createMemoryStore();
  clusters = { get: () => api, ids: () => ['lab'] };
  catalog = new TemplateCatalog({ store, clusters });
});
afterEach(async () => {
  await api.close();
  await sim.close();
});

const ubuntu = {
  name: 'ubuntu-24.04',
  memory: 2048,
  cores: 2,
  mappings: [
    { clusterId: 'lab', node: 'pve1', vmid: 9000 },
    { clusterId: 'lab', node: 'pve2', vmid: 9100 },
  ],
};

describe('templates with per-node VMIDs', () => {
  it('give the VMID of a node, or TemplateNotOnNodeError listing the nodes that have it', async () => {
    const t = await catalog.create(ubuntu);
    expect(t.vmidOn('pve1')).toBe(9000);
    expect(t.vmidOn('pve2', 'lab')).toBe(9100);
    expect(t.nodes()).toEqual(['pve1', 'pve2']);
    const error = (() => {
      try {
        t.vmidOn('pve3');
      } catch (e) {
        return e;
      }
    })() as TemplateNotOnNodeError;
    expect(error).toBeInstanceOf(TemplateNotOnNodeError);
    expect(error.nodes).toEqual([
      { clusterId: 'lab', node: 'pve1', vmid: 9000 },
      { clusterId: 'lab', node: 'pve2', vmid: 9100 },
    ]);
    expect(error.message).toBe(
      "template 'ubuntu-24.04' has no VMID on node 'pve3' of cluster 'lab'; it is on: pve1 (9000), pve2 (9100). Replicate it there or pick one of those nodes",
    );
    expect(error.code).toBe('LAB_TEMPLATE_NOT_ON_NODE');
  });

  it('refuse none or two mappings for one node, and bad numbers', async () => {
    await expect(catalog.create({ ...ubuntu, mappings: [] })).rejects.toThrow(
      "template 'ubuntu-24.04': a template needs at least one node→VMID mapping",
    );
    await expect(
      catalog.create({
        ...ubuntu,
        mappings: [
          { clusterId: 'lab', node: 'pve1', vmid: 9000 },
          { clusterId: 'lab', node: 'pve1', vmid: 9100 },
        ],
      }),
    ).rejects.toThrow(/two VMIDs for node 'pve1'/);
    await expect(catalog.create({ ...ubuntu, cores: 0 })).rejects.toBeInstanceOf(InvalidTemplateError);
    await expect(catalog.create({ ...ubuntu, name: 'bad name!' })).rejects.toThrow(/the name must be/);
    expect(await store.templates.list()).toEqual([]);
  });

  it('are checked against the cluster: each mapped VMID must exist there and be a template with a disk', async () => {
    sim.editGuestConfig(9100, { scsi0: null });
    const mappings = [
      { clusterId: 'lab', node: 'pve2', vmid: 9100 },
      { clusterId: 'lab', node: 'pve1', vmid: 100 },
      { clusterId: 'lab', node: 'pve3', vmid: 4242 },
    ];
    const error = (await catalog.create({ ...ubuntu, mappings }).catch((e: unknown) => e)) as TemplateValidationError;
    expect(error).toBeInstanceOf(TemplateValidationError);
    expect(error.problems.map((p) => [p.vmid, p.problem])).toEqual([
      [9100, 'no-boot-disk'],
      [100, 'not-template'],
      [4242, 'missing'],
    ]);
    expect(await store.templates.list()).toEqual([]);
    expectSchemaValidRequests(sim);
  });

  it('add and remove mappings, but never the last one', async () => {
    await catalog.create({ ...ubuntu, mappings: [ubuntu.mappings[0]!] });
    const t = await catalog.addMapping('ubuntu-24.04', { clusterId: 'lab', node: 'pve2', vmid: 9100 });
    expect(t.nodes()).toEqual(['pve1', 'pve2']);
    await expect(
      catalog.addMapping('ubuntu-24.04', { clusterId: 'lab', node: 'pve3', vmid: 102 }),
    ).rejects.toBeInstanceOf(TemplateValidationError);
    expect((await catalog.removeMapping('ubuntu-24.04', 'lab', 'pve1')).nodes()).toEqual(['pve2']);
    await expect(catalog.removeMapping('ubuntu-24.04', 'lab', 'pve2')).rejects.toThrow(/last node mapping/);
    await expect(catalog.get('debian')).rejects.toBeInstanceOf(TemplateNotFoundError);
    await expect(catalog.get('debian')).rejects.toThrow("no template 'debian'; templates: ubuntu-24.04");
  });
});

describe('template inventory', () => {
  it('registers originals, replicas and class templates, marks vanished ones, and counts them', async () => {
    sim.editGuestConfig(9100, { tags: 'template;linux;replica' });
    const base = await cloneVm(api, { source: { node: 'pve1', vmid: 9000 }, name: 'cs101-base', pollIntervalMs: 20 });
    sim.editGuestConfig(base.vmid, { template: '1', tags: 'lab;class-cs101;role-base' });
    const [report] = await scanTemplateInventory({ store, clusters });
    expect(report).toEqual({ clusterId: 'lab', found: 6, added: 6, vanished: 0 });
    expect(await templateStatistics(store)).toEqual({
      total: 6,
      originals: 4,
      replicas: 1,
      classTemplates: 1,
      perNode: { 'lab/pve1': 4, 'lab/pve2': 1, 'lab/pve3': 1 },
    });
    expect((await store.templateInventory.list({ isReplica: true }))[0]).toMatchObject({
      vmid: 9100,
      sourceVmid: 9000,
      sourceNode: 'pve1',
    });
    expect((await store.templateInventory.list({ classId: 'cs101' }))[0]).toMatchObject({
      vmid: base.vmid,
      isClassTemplate: true,
    });
    expect(await templateDistribution(store, 'ubuntu-2404-cloud')).toEqual([
      { clusterId: 'lab', node: 'pve1', vmid: 9000, isReplica: false },
      { clusterId: 'lab', node: 'pve2', vmid: 9100, isReplica: true },
    ]);
    sim.state.guests.delete(9001);
    const [second] = await scanTemplateInventory({ store, clusters });
    expect(second).toEqual({ clusterId: 'lab', found: 5, added: 0, vanished: 1 });
    expect((await store.templateInventory.list({ vmid: 9001, includeVanished: true }))[0]).toMatchObject({
      health: 'missing',
    });
    expect(sim.requests.count('GET /cluster/resources')).toBe(2);
  });

  it('marks nothing vanished on one answer that lists no guests at all', async () => {
    await scanTemplateInventory({ store, clusters });
    sim.faults.add({ method: 'GET', path: '/cluster/resources', kind: 'empty-list', count: 1 });
    const [empty] = await scanTemplateInventory({ store, clusters });
    expect(empty).toEqual({ clusterId: 'lab', found: 0, added: 0, vanished: 0, unconfirmedEmpty: true });
    expect(await store.templateInventory.list({ includeVanished: false })).toHaveLength(5);
    const [real] = await scanTemplateInventory({ store, clusters });
    expect(real).toMatchObject({ found: 5, vanished: 0 });
  });

  it('health checks record corrupted templates', async () => {
    await scanTemplateInventory({ store, clusters });
    sim.editGuestConfig(9001, { scsi0: null, efidisk0: null });
    sim.editGuestConfig(9002, { template: null });
    const report = await checkTemplateHealth({ store, clusters });
    expect(report.checked).toBe(5);
    expect(report.problems.map((p) => [p.vmid, p.health])).toEqual([
      [9001, 'no-boot-disk'],
      [9002, 'not-template'],
    ]);
    expect((await store.templateInventory.list({ vmid: 9001 }))[0]?.health).toBe('no-boot-disk');
    expect((await store.templateInventory.list({ vmid: 9000 }))[0]?.health).toBe('ok');
  });
});

describe('template replication (explicit only)', () => {
  it('copies a template on local storage to another node, registers it, and does nothing the second time', async () => {
    const template = await catalog.create({ ...ubuntu, mappings: [ubuntu.mappings[0]!] });
    const results = await replicateTemplate({ store, clusters }, template, ['pve3'], {
      vmidFor: () => nodeTemplateVmid(3, 0),
      pollIntervalMs: 20,
    });
    expect(results).toEqual([{ node: 'pve3', vmid: 9300, status: 'created' }]);
    const replica = sim.state.guests.get(9300)!;
    expect(replica.node).toBe('pve3');
    expect(replica.config.template).toBe('1');
    expect(replica.config.tags).toContain(replicaTag(template.id));
    expect(findBootDisk(replica.config)?.volid).toBe('local-lvm:base-9300-disk-0');
    expect(sim.state.storageOn('pve3', 'local-lvm')!.volumes.has('base-9300-disk-0')).toBe(true);
    expect((await catalog.get('ubuntu-24.04')).vmidOn('pve3')).toBe(9300);
    expect(await store.templateInventory.list({ isReplica: true })).toMatchObject([
      { node: 'pve3', vmid: 9300, sourceVmid: 9000, sourceNode: 'pve1' },
    ]);
    const clones = sim.requests.count('POST /nodes/{node}/qemu/{vmid}/clone');
    const again = await replicateTemplate({ store, clusters }, await catalog.get('ubuntu-24.04'), ['pve3'], {
      pollIntervalMs: 20,
    });
    expect(again).toEqual([{ node: 'pve3', vmid: 9300, status: 'already-there' }]);
    expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/clone')).toBe(clones);
    expectSchemaValidRequests(sim);
  });

  it('clones straight to the node when the template is on shared storage', async () => {
    const template = await catalog.create({
      name: 'debian-12',
      memory: 1024,
      cores: 1,
      mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9002 }],
    });
    const [result] = await replicateTemplate({ store, clusters }, template, ['pve2'], { pollIntervalMs: 20 });
    expect(result?.status).toBe('created');
    expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/migrate')).toBe(0);
    expect(sim.state.guests.get(result!.vmid)?.node).toBe('pve2');
  });

  it('finishes a replica an interrupted run left behind instead of cloning again', async () => {
    const template = await catalog.create({ ...ubuntu, mappings: [ubuntu.mappings[0]!] });
    const leftover = await cloneVm(api, {
      source: { node: 'pve1', vmid: 9000 },
      name: 'ubuntu-2404-cloud',
      mode: 'full',
      pollIntervalMs: 20,
    });
    sim.editGuestConfig(leftover.vmid, { tags: `replica;${replicaTag(template.id)}` });
    const clones = sim.requests.count('POST /nodes/{node}/qemu/{vmid}/clone');
    const [result] = await replicateTemplate({ store, clusters }, template, ['pve3'], { pollIntervalMs: 20 });
    expect(result).toEqual({ node: 'pve3', vmid: leftover.vmid, status: 'adopted' });
    expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/clone')).toBe(clones);
    expect(sim.state.guests.get(leftover.vmid)).toMatchObject({ node: 'pve3', config: { template: '1' } });
  });
});

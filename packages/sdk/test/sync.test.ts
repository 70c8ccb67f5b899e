import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim } from '@lab/pve-sim';
import { ConfigError, NotAllowedError } from '../src/errors/index.js';
import {
  InventoryService,
  SyncEngine,
  VmPower,
  createLogger,
  createTcpPortProbe,
  type LogRecord,
  type ClusterApis,
  type ProxmoxClient,
  type Store,
  type Viewer,
} from '../src/index.js';
import { createMemoryStore } from '../src/testing/index.js';
import { clientFor, expectSchemaValidRequests, fastSim } from './helpers.js';

let sims: PveSim[] = [];
let apis: ProxmoxClient[] = [];
let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(apis.map((a) => a.close()));
  await Promise.all(sims.map((s) => s.close()));
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  sims = [];
  apis = [];
  servers = [];
});

async function setup(
  options: { agentBootSeconds?: number; clusters?: number } = {},
): Promise<{ store: Store; clusters: ClusterApis; engine: SyncEngine; inventory: InventoryService; sim: PveSim }> {
  const count = options.clusters ?? 1;
  for (let i = 0; i < count; i++) {
    const sim = await fastSim({
      timeScale: 100,
      scenario: { ...structuredClone(presets.small!), timings: { agentBootSeconds: options.agentBootSeconds ?? 20 } },
    });
    sims.push(sim);
    apis.push(clientFor(sim, { clusterId: `lab${i + 1}`, retry: { maxAttempts: 1 }, timeoutMs: 2000 }));
  }
  const store = createMemoryStore();
  const clusters: ClusterApis = {
    get: (id) => apis[Number(id.replace('lab', '')) - 1]!,
    ids: () => apis.map((_, i) => `lab${i + 1}`),
  };
  const engine = new SyncEngine({
    store,
    clusters,
    probe: createTcpPortProbe(),
    probeTimeoutMs: 300,
    backoffBaseMs: 60_000,
  });
  const inventory = new InventoryService({ store, clusterIds: () => clusters.ids(), sync: engine });
  return { store, clusters, engine, inventory, sim: sims[0]! };
}

const admin: Viewer = { personId: null, username: 'root', role: 'admin' };
const RESOURCES = 'GET /cluster/resources';

describe('full sync', () => {
  it('registers every VM with details from one resources call plus config, agent and probes', async () => {
    const { store, engine, sim } = await setup();
    sim.requests.reset();
    const [report] = await engine.fullSync();
    expect(report).toMatchObject({ ok: true, vms: 9, added: 9, gone: 0 });
    expect(sim.requests.count(RESOURCES)).toBe(1);
    expect(sim.requests.count('GET /nodes/{node}/qemu')).toBe(0);
    const dns = await store.inventory.get('lab1', 100);
    expect(dns).toMatchObject({
      name: 'dns',
      node: 'pve1',
      status: 'running',
      type: 'qemu',
      category: 'linux',
      memory: 1024,
      cores: 1,
      ip: '127.10.0.100',
      isTemplate: false,
      syncError: null,
    });
    expect((await store.inventory.get('lab1', 9001))?.category).toBe('windows');
    expect(await store.inventory.get('lab1', 200)).toMatchObject({ type: 'lxc', category: 'linux', ip: null });
    expect((await store.inventory.get('lab1', 9000))?.isTemplate).toBe(true);
    expectSchemaValidRequests(sim);
  });

  it('probes SSH and RDP over TCP where a listener answers', async () => {
    const { store } = await setup();
    const listener = createServer((s) => s.destroy());
    servers.push(listener);
    await new Promise<void>((r) => listener.listen(0, '127.10.0.100', () => r()));
    const port = (listener.address() as { port: number }).port;
    const engine = new SyncEngine({
      store,
      clusters: { get: () => apis[0]!, ids: () => ['lab1'] },
      probe: createTcpPortProbe({ portOverrides: { 22: port } }),
      probeTimeoutMs: 300,
    });
    await engine.fullSync();
    expect(await store.inventory.get('lab1', 100)).toMatchObject({ sshAvailable: true, rdpAvailable: false });
    expect(await store.inventory.get('lab1', 101)).toMatchObject({ sshAvailable: false });
  });

  it('sees a starting VM become reachable at the next quick sync, with no PVE request per VM', async () => {
    const { store } = await setup();
    let sshUp = false;
    const probed: string[] = [];
    const engine = new SyncEngine({
      store,
      clusters: { get: () => apis[0]!, ids: () => ['lab1'] },
      probe: {
        isOpen: (host, port) => {
          probed.push(`${host}:${port}`);
          return Promise.resolve(port === 22 && sshUp);
        },
      },
      probeTimeoutMs: 300,
    });
    // VM 100 started a minute ago (its guest agent is up; its SSH not yet).
    const sim = sims[0]!;
    sim.state.guests.get(100)!.startedAt = sim.state.time.now() - 60_000;
    await engine.fullSync();
    const before = (await store.inventory.get('lab1', 100))!;
    expect(before).toMatchObject({ status: 'running', sshAvailable: false });
    expect(before.uptime).toBeLessThan(120);
    expect(before.ip).not.toBeNull();
    sshUp = true;
    probed.length = 0;
    sims[0]!.requests.reset();
    const [quick] = await engine.quickSync();
    expect(await store.inventory.get('lab1', 100)).toMatchObject({ sshAvailable: true });
    expect(probed).toContain(`${before.ip}:22`);
    expect(quick).toMatchObject({ ok: true, configRequests: 0, agentRequests: 0 });
    expect(sims[0]!.requests.total).toBe(1);
    // Reachable now: the next quick sync probes it no more.
    probed.length = 0;
    await engine.quickSync();
    expect(probed.filter((p) => p.startsWith(`${before.ip}:`))).toEqual([]);
  });

  it('costs one request per cluster plus the changed VMs once steady', async () => {
    const { engine, sim } = await setup();
    await engine.fullSync();
    sim.requests.reset();
    const [steady] = await engine.fullSync();
    expect(steady).toMatchObject({ ok: true, added: 0, changed: 0, configRequests: 0, agentRequests: 0 });
    expect(sim.requests.total).toBe(1);
  });

  it('sees new, changed and gone VMs', async () => {
    const { store, engine, sim } = await setup();
    await engine.fullSync();
    sim.editGuestConfig(102, { name: 'backup-renamed', tags: 'moved' });
    sim.state.guests.delete(101);
    sim.ops.create('pve2', 300, 'qemu', { name: 'fresh', memory: 512, cores: 1, ostype: 'win11' }, 'root@pam');
    await new Promise((r) => setTimeout(r, 50));
    sim.requests.reset();
    const [report] = await engine.fullSync();
    expect(report).toMatchObject({ added: 1, changed: 1, gone: 1 });
    expect(sim.requests.total).toBeLessThanOrEqual(1 + 2);
    expect((await store.inventory.get('lab1', 102))?.name).toBe('backup-renamed');
    expect(await store.inventory.get('lab1', 300)).toMatchObject({ name: 'fresh', category: 'windows', memory: 512 });
    expect((await store.inventory.get('lab1', 101))?.goneAt).not.toBeNull();
    expect((await store.inventory.list()).map((v) => v.vmid)).not.toContain(101);
  });

  it('rewrites only the rows that changed beyond their usage, and marks the VMs no longer listed gone', async () => {
    const { store, engine, sim } = await setup();
    await engine.fullSync();
    const written: number[][] = [];
    const listed: number[][] = [];
    // What the sync's transaction writes (the memory store hands it its own inventory).
    const transaction = store.transaction.bind(store);
    store.transaction = (fn) =>
      transaction((tx) => {
        const upsertMany = tx.inventory.upsertMany.bind(tx.inventory);
        const refreshListed = tx.inventory.refreshListed.bind(tx.inventory);
        tx.inventory.upsertMany = (rows) => (written.push(rows.map((r) => r.vmid)), upsertMany(rows));
        tx.inventory.refreshListed = (clusterId, readings, at) => (
          listed.push(readings.map((r) => r.vmid)),
          refreshListed(clusterId, readings, at)
        );
        return fn(tx);
      });
    const before = await store.inventory.list({ clusterId: 'lab1', includeTemplates: true });
    sim.editGuestConfig(102, { name: 'backup-renamed' });
    sim.state.guests.delete(101);
    await new Promise((r) => setTimeout(r, 30));
    const [report] = await engine.quickSync();
    expect(report).toMatchObject({ ok: true, changed: 1, gone: 1 });
    expect(written).toEqual([[102]]);
    // The running VMs' usage moved on (uptime); each went as a reading, not a whole row.
    const running = before.filter((r) => r.status === 'running' && r.vmid !== 101 && r.vmid !== 102);
    expect(running.length).toBeGreaterThan(0);
    expect(listed[0]!.sort()).toEqual(running.map((r) => r.vmid).sort());
    const after = await store.inventory.list({ clusterId: 'lab1', includeTemplates: true, includeGone: true });
    expect(after.find((r) => r.vmid === 101)?.goneAt).not.toBeNull();
    expect(after.find((r) => r.vmid === 102)?.name).toBe('backup-renamed');
    for (const r of running) expect(after.find((a) => a.vmid === r.vmid)?.uptime).toBeGreaterThan(r.uptime);
    // Every row still listed carries this sync's time, written whole or not.
    expect(new Set(after.filter((r) => r.goneAt === null).map((r) => r.lastUpdated)).size).toBe(1);
  });

  it('finds the IP once the guest agent has booted, keeping the error on the VM until then', async () => {
    const { store, engine, sim } = await setup({ agentBootSeconds: 30 });
    await engine.fullSync();
    sim.ops.power('pve3', 102, 'qemu', 'start', 'root@pam');
    await new Promise((r) => setTimeout(r, 60));
    await engine.quickSync();
    expect((await store.inventory.get('lab1', 102))?.status).toBe('running');
    await engine.fullSync();
    expect(await store.inventory.get('lab1', 102)).toMatchObject({
      ip: null,
      syncError: 'guest agent: QEMU guest agent is not running',
    });
    expect((await store.inventory.get('lab1', 100))?.syncError).toBeNull();
    await new Promise((r) => setTimeout(r, 350));
    await engine.fullSync();
    expect(await store.inventory.get('lab1', 102)).toMatchObject({ ip: '127.10.0.102', syncError: null });
  });
});

describe('quick sync', () => {
  it('is one request per cluster and updates status and usage', async () => {
    const { store, engine } = await setup({ clusters: 3 });
    await engine.fullSync();
    sims[1]!.ops.power('pve1', 100, 'qemu', 'stop', 'root@pam');
    await new Promise((r) => setTimeout(r, 60));
    for (const s of sims) s.requests.reset();
    const reports = await engine.quickSync();
    expect(reports.map((r) => r.ok)).toEqual([true, true, true]);
    expect(sims.map((s) => s.requests.total)).toEqual([1, 1, 1]);
    expect((await store.inventory.get('lab2', 100))?.status).toBe('stopped');
    expect((await store.inventory.get('lab1', 100))?.status).toBe('running');
  });
});

describe('a stopped VM', () => {
  it('loses its IP and SSH/RDP availability, in the sync, in power actions and in every list', async () => {
    const { store, clusters, engine, inventory, sim } = await setup();
    await engine.fullSync();
    await store.inventory.update('lab1', 100, { sshAvailable: true });
    expect(await store.inventory.get('lab1', 100)).toMatchObject({
      status: 'running',
      ip: '127.10.0.100',
      sshAvailable: true,
    });
    sim.ops.power('pve1', 100, 'qemu', 'stop', 'root@pam');
    await new Promise((r) => setTimeout(r, 60));
    await engine.quickSync();
    expect(await store.inventory.get('lab1', 100)).toMatchObject({
      status: 'stopped',
      ip: null,
      sshAvailable: false,
      rdpAvailable: false,
    });
    await engine.fullSync();
    expect(await store.inventory.get('lab1', 100)).toMatchObject({ status: 'stopped', ip: null });

    expect((await store.inventory.get('lab1', 101))?.ip).toBe('127.10.0.101');
    await new VmPower({ store, clusters, pollIntervalMs: 20 }).perform(admin, 'lab1', 101, 'stop');
    expect(await store.inventory.get('lab1', 101)).toMatchObject({ status: 'stopped', ip: null });

    // A row written before this rule (or by another writer) still never shows an address while stopped.
    await store.inventory.update('lab1', 100, { ip: '127.10.0.100', rdpAvailable: true });
    const listed = (await inventory.listVms({ user: admin })).vms.find((v) => v.vmid === 100);
    expect(listed).toMatchObject({ status: 'stopped', ip: null, sshAvailable: false, rdpAvailable: false });
  });
});

describe('an empty /cluster/resources answer', () => {
  it('does not mark the known VMs gone while the nodes still list guests, and warns', async () => {
    const { store, clusters, sim } = await setup();
    const records: LogRecord[] = [];
    const engine = new SyncEngine({
      store,
      clusters,
      logger: createLogger({ level: 'debug', sink: (r) => records.push(r) }),
      probe: createTcpPortProbe(),
      probeTimeoutMs: 300,
    });
    const [first] = await engine.fullSync();
    expect(first).toMatchObject({ ok: true, vms: 9 });
    sim.faults.add({ method: 'GET', path: '/cluster/resources', kind: 'empty-list', count: 1 });
    sim.requests.reset();
    const [empty] = await engine.fullSync();
    expect(empty).toMatchObject({ ok: false, gone: 0 });
    expect(empty!.error).toBe(
      "cluster 'lab1' answered GET /cluster/resources with no VMs, but node pve1 lists 4 guests; node pve2 lists 3 guests; node pve3 lists 2 guests; kept the 9 known VMs as they were and will sync again",
    );
    expect(sim.requests.count('GET /nodes')).toBe(1);
    expect(sim.requests.count('GET /nodes/{node}/qemu')).toBe(3);
    expect((await store.inventory.list({ clusterId: 'lab1', includeTemplates: true })).map((v) => v.vmid)).toHaveLength(
      9,
    );
    expect(records.some((r) => r.level === 'warn' && /answered no VMs/.test(r.msg))).toBe(true);
    const [after] = await engine.fullSync({ force: true });
    expect(after).toMatchObject({ ok: true, vms: 9, added: 0, gone: 0 });
    expectSchemaValidRequests(sim);
  });

  it('marks the VMs gone once every node confirms the cluster has none', async () => {
    const { store, engine, sim } = await setup();
    await engine.fullSync();
    sim.state.guests.clear();
    const [report] = await engine.fullSync();
    expect(report).toMatchObject({ ok: true, vms: 0, gone: 9 });
    expect(await store.inventory.list({ clusterId: 'lab1', includeTemplates: true })).toEqual([]);
  });

  it('keeps the VMs while a node is offline, since its guests cannot be counted', async () => {
    const { store, engine, sim } = await setup();
    await engine.fullSync();
    sim.faults.add({ method: 'GET', path: '/cluster/resources', kind: 'empty-list', count: 1 });
    sim.setNodeOnline('pve2', false);
    const [report] = await engine.fullSync();
    expect(report!.ok).toBe(false);
    expect(report!.error).toMatch(
      /^cluster 'lab1' answered GET \/cluster\/resources with no VMs, but .*node pve2 is offline/,
    );
    expect(await store.inventory.list({ clusterId: 'lab1', includeTemplates: true })).toHaveLength(9);
  });
});

describe('sync settings', () => {
  it('refuses intervals a Node timer cannot hold', () => {
    const store = createMemoryStore();
    const clusters: ClusterApis = { get: () => apis[0]!, ids: () => [] };
    expect(() => new SyncEngine({ store, clusters, quickIntervalMs: 2 ** 31 })).toThrow(ConfigError);
    expect(() => new SyncEngine({ store, clusters, leaseTtlMs: 2 ** 31 })).toThrow(
      /sync leaseTtlMs must be at most 2147483647 ms/,
    );
  });
});

describe('forceRefresh', () => {
  it('quick-syncs the cluster before answering, for callers that must see it now', async () => {
    const { engine, inventory, sim } = await setup();
    await engine.fullSync();
    sim.ops.power('pve1', 100, 'qemu', 'stop', 'root@pam');
    await new Promise((r) => setTimeout(r, 60));
    const cached = await inventory.listVms({ user: admin });
    expect(cached.vms.find((v) => v.vmid === 100)?.status).toBe('running');
    sim.requests.reset();
    const live = await inventory.listVms({ user: admin, forceRefresh: true });
    expect(live.vms.find((v) => v.vmid === 100)?.status).toBe('stopped');
    expect(sim.requests.total).toBe(1);
  });
});

describe('a cluster outage', () => {
  it('serves the last known state marked stale, backs off, and recovers', async () => {
    const { store, engine, inventory, sim } = await setup({ clusters: 2 });
    await engine.fullSync();
    const fresh = await inventory.listVms({ user: admin });
    expect(fresh.stale).toBe(false);
    expect(fresh.vms).toHaveLength(8);
    sim.faults.add({ path: '/cluster/resources', kind: 'http-596' });
    const [failed, other] = await engine.fullSync();
    expect(failed).toMatchObject({ clusterId: 'lab1', ok: false });
    expect(other).toMatchObject({ clusterId: 'lab2', ok: true });
    const state = await store.sync.getState('lab1');
    expect(state).toMatchObject({ consecutiveErrors: 1 });
    expect(state!.nextAttemptAt).toBeGreaterThan(Date.now() + 50_000);
    const skipped = await engine.fullSync({ clusterId: 'lab1' });
    expect(skipped[0]).toMatchObject({ ok: false, skipped: 'backoff' });
    const stats = await inventory.syncStats();
    expect(stats.consecutiveErrors).toBe(1);
    expect(stats.clusters.find((c) => c.clusterId === 'lab1')?.lastError).toMatch(/HTTP 596/);
    // One failed sync soon after a success is a warning; /readyz judges the same way.
    const health = await inventory.syncHealth();
    expect(health).toMatchObject({ healthy: true, issues: [] });
    expect(health.warnings[0]).toMatch(/^cluster lab1: 1 failed syncs since its last answer \(/);
    // An old last success makes the data stale; lists still answer from the database.
    await store.sync.saveState({ ...(await store.sync.getState('lab1'))!, lastSuccessAt: Date.now() - 3_600_000 });
    const down = await inventory.syncHealth();
    expect(down.healthy).toBe(false);
    expect(down.issues[0]).toMatch(/^cluster lab1 last answered 3600 s ago \(limit \d+ s\); 1 failed syncs: /);
    const stale = await inventory.listVms({ user: admin });
    expect(stale).toMatchObject({ stale: true, staleClusters: ['lab1'] });
    // lab1's rows were written moments ago, but lab1 has not answered since: none of them is fresh.
    const rows = await store.inventory.list({ includeTemplates: true });
    const lab2Rows = rows.filter((r) => r.clusterId === 'lab2').length;
    expect(lab2Rows).toBeLessThan(rows.length);
    expect(await inventory.syncStats()).toMatchObject({ total: rows.length, fresh: lab2Rows });
    expect(stale.vms).toHaveLength(8);
    sim.faults.clear();
    const [recovered] = await engine.triggerSync();
    expect(recovered).toMatchObject({ ok: true });
    expect(await store.sync.getState('lab1')).toMatchObject({
      consecutiveErrors: 0,
      lastError: null,
      nextAttemptAt: null,
    });
    expect((await inventory.listVms({ user: admin })).stale).toBe(false);
  });
});

describe('reads and power actions by owner', () => {
  async function classroom(store: Store) {
    const teacher = await store.classes.createPerson({ username: 'teach', displayName: 'T', role: 'teacher' }, 1);
    const alice = await store.classes.createPerson({ username: 'alice', displayName: 'A', role: 'student' }, 1);
    const bob = await store.classes.createPerson({ username: 'bob', displayName: 'B', role: 'student' }, 1);
    await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: null, ownerId: teacher.id }, 1);
    await store.classes.assignVm(
      { clusterId: 'lab1', vmid: 102, personId: alice.id, classId: 'cs101', role: 'student' },
      1,
    );
    await store.classes.assignVm({ clusterId: 'lab1', vmid: 101, personId: bob.id, classId: null, role: 'student' }, 1);
    const v = (p: { id: number; username: string; role: 'teacher' | 'student' }): Viewer => ({
      personId: p.id,
      username: p.username,
      role: p.role,
    });
    return { teacher: v(teacher as never), alice: v(alice as never), bob: v(bob as never) };
  }

  it('lists VMs by ownership: students theirs, teachers their classes, admins all', async () => {
    const { store, engine, inventory } = await setup();
    await engine.fullSync();
    const who = await classroom(store);
    expect((await inventory.listVms({ user: who.alice })).vms.map((v) => v.vmid)).toEqual([102]);
    expect((await inventory.listVms({ user: who.teacher })).vms.map((v) => v.vmid)).toEqual([102]);
    expect((await inventory.listVms({ user: admin })).vms).toHaveLength(4);
    expect((await inventory.listVms({ user: admin, includeTemplates: true })).vms).toHaveLength(9);
    expect((await inventory.listVms({ user: { personId: 999, username: 'x', role: 'student' } })).vms).toEqual([]);
  });

  it('starts only the VMs a person may act on, updates the row at once, and audits', async () => {
    const { store, clusters, engine, sim } = await setup();
    await engine.fullSync();
    const who = await classroom(store);
    const power = new VmPower({ store, clusters, pollIntervalMs: 20 });
    const denied = await power.perform(who.bob, 'lab1', 102, 'start').catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(NotAllowedError);
    expect((denied as Error).message).toBe('bob may not start VM 102 (backup): it is not assigned to you');
    expect(sim.state.guests.get(102)?.status).toBe('stopped');
    const result = await power.perform(who.alice, 'lab1', 102, 'start');
    expect(result.status).toBe('running');
    expect(sim.state.guests.get(102)?.status).toBe('running');
    expect((await store.inventory.get('lab1', 102))?.status).toBe('running');
    await expect(power.perform(who.teacher, 'lab1', 101, 'stop')).rejects.toThrow(/not assigned to you/);
    await power.perform(who.teacher, 'lab1', 102, 'shutdown', { shutdownTimeoutS: 30 });
    expect((await store.inventory.get('lab1', 102))?.status).toBe('stopped');
    const audit = await store.audit.list();
    expect(audit.map((a) => [a.actor, a.action, a.outcome])).toEqual([
      ['teach', 'vm.shutdown', 'ok'],
      ['teach', 'vm.stop', 'denied'],
      ['alice', 'vm.start', 'ok'],
      ['bob', 'vm.start', 'denied'],
    ]);
  });
});

describe('one syncer per store', () => {
  it('only the lease holder syncs, and the lease moves when the holder dies', async () => {
    const { store, clusters, sim } = await setup();
    // A lease long enough that a busy machine's pauses never expire it by accident (the survivor
    // waits it out once, after abandon()).
    const options = { quickIntervalMs: 30, fullIntervalMs: 120, leaseTtlMs: 5_000 };
    const a = new SyncEngine({ store, clusters, holderId: 'bot-a', ...options });
    const b = new SyncEngine({ store, clusters, holderId: 'bot-b', ...options });
    const eventually = async (check: () => boolean | Promise<boolean>): Promise<void> => {
      const deadline = Date.now() + 60_000; // bounds a hang only; a busy machine just takes longer
      while (!(await check()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    };
    a.start();
    await eventually(() => a.isLeader);
    b.start();
    await eventually(() => sim.requests.count(RESOURCES) > 2);
    expect(a.isLeader).toBe(true);
    expect(b.isLeader).toBe(false);
    await a.abandon();
    const before = sim.requests.count(RESOURCES);
    await eventually(() => b.isLeader && sim.requests.count(RESOURCES) > before);
    expect(b.isLeader).toBe(true);
    expect((await store.sync.getLease('sync-leader'))?.holder).toBe('bot-b');
    expect(sim.requests.count(RESOURCES)).toBeGreaterThan(before);
    await b.stop();
    expect(await store.sync.getLease('sync-leader')).toBeUndefined();
  }, 120_000);

  it('keeps the survivors healthy (the /readyz rule) while the lease of a dead leader runs out and one takes over', async () => {
    const { store, clusters } = await setup();
    // Default intervals and lease TTL, on a clock that runs 100 times faster than the wall clock.
    const start = Date.now();
    const clock = {
      now: () => start + (Date.now() - start) * 100,
      sleep: (ms: number, signal?: AbortSignal) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, ms / 100);
          signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason as Error)), {
            once: true,
          });
        }),
    };
    const a = new SyncEngine({ store, clusters, clock, holderId: 'bot-a' });
    const b = new SyncEngine({ store, clusters, clock, holderId: 'bot-b' });
    const survivor = new InventoryService({ store, clusterIds: () => clusters.ids(), clock, sync: b });
    const lastSuccess = async () => (await store.sync.getState('lab1'))?.lastSuccessAt ?? null;
    const until = async (check: () => Promise<boolean>): Promise<void> => {
      const deadline = Date.now() + 60_000; // bounds a hang only
      while (!(await check()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    };
    a.start();
    await until(async () => a.isLeader && (await lastSuccess()) !== null);
    b.start();
    const first = await lastSuccess();
    await until(async () => (await lastSuccess()) !== first);
    await a.abandon(); // dies holding the lease, just after a sync
    const byA = await lastSuccess();
    const unhealthy: string[] = [];
    await until(async () => {
      const health = await survivor.syncHealth();
      unhealthy.push(...health.issues);
      return b.isLeader && (await lastSuccess()) !== byA;
    });
    await b.stop();
    expect(b.isLeader || (await store.sync.getLease('sync-leader')) === undefined).toBe(true);
    expect((await lastSuccess())!).toBeGreaterThan(byA!);
    expect(unhealthy).toEqual([]);
  }, 120_000);
});

describe('a malformed resource list', () => {
  const malformed: Array<[string, { set?: Record<string, unknown>; unset?: string[]; duplicate?: boolean }]> = [
    ['a fractional VMID', { set: { vmid: 102.5 } }],
    ['a negative VMID', { set: { vmid: -102 } }],
    ['a VMID below 100', { set: { vmid: 99 } }],
    ['a missing VMID', { unset: ['vmid'] }],
    ['a VMID listed twice', { duplicate: true }],
    ['an unknown status', { set: { status: 'exploded' } }],
    ['an unknown type', { set: { type: 'quantum' } }],
    ['a guest without node', { unset: ['node'] }],
    ['a name that is not text', { set: { name: 5 } }],
    ['a usage figure that is not a number', { set: { cpu: '0.5' } }],
  ];
  it.each(malformed)('is refused whole for %s, with nothing changed', async (_, patch) => {
    const { store, engine, sim } = await setup();
    await engine.fullSync();
    const before = await store.inventory.list({ clusterId: 'lab1', includeTemplates: true, includeGone: true });
    sim.faults.add({ path: '/cluster/resources', kind: 'patch-entries', patch: { where: { vmid: 102 }, ...patch } });
    const [report] = await engine.fullSync({ force: true });
    expect(report).toMatchObject({ ok: false, added: 0, gone: 0 });
    expect(report!.error).toMatch(
      /^GET \/cluster\/resources on cluster 'lab1' returned an unexpected response: data\[\d+\]/,
    );
    const after = await store.inventory.list({ clusterId: 'lab1', includeTemplates: true, includeGone: true });
    expect(after.map((r) => [r.vmid, r.goneAt])).toEqual(before.map((r) => [r.vmid, r.goneAt]));
  });
});

describe('a resource list read as PVE may send it', () => {
  it('names the entry and field of what it refuses, as zod words it', async () => {
    const { engine, sim } = await setup();
    await engine.fullSync();
    sim.faults.add({
      path: '/cluster/resources',
      kind: 'patch-entries',
      patch: { where: { vmid: 102 }, set: { status: 'exploded' } },
    });
    const [report] = await engine.fullSync({ force: true });
    expect(report!.error).toMatch(/data\[\d+\]\.status: unknown guest status 'exploded'/);
  });

  it('reads a VMID sent as a string as its number', async () => {
    const { store, engine, sim } = await setup();
    await engine.fullSync();
    sim.faults.add({
      path: '/cluster/resources',
      kind: 'patch-entries',
      patch: { where: { vmid: 102 }, set: { vmid: '102' } },
    });
    const [report] = await engine.fullSync({ force: true });
    expect(report).toMatchObject({ ok: true, added: 0, gone: 0 });
    expect((await store.inventory.get('lab1', 102))?.goneAt).toBeNull();
  });
});

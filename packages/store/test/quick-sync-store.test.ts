import { afterAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { ProxmoxClient, SyncEngine, type ClusterApis, type Store } from '@lab/proxmox-sdk';
import type { VmInventoryFilter } from '@lab/proxmox-sdk/store';
import { presets, startPveSim, type PveSim } from '@lab/pve-sim';
import { KyselyStore } from '../src/index.js';
import { enginesUnderTest } from './engines.js';

const { engines, skipped } = await enginesUnderTest();
if (skipped) console.log(`[quick sync] PostgreSQL skipped: ${skipped}`);
afterAll(async () => {
  for (const engine of engines) await engine.dispose();
});

/** Records the whole rows a store hands out (`list`) and writes whole (`upsertMany`) in a sync. */
function watch(store: Store): { read: VmInventoryFilter[]; written: number[] } {
  const seen = { read: [] as VmInventoryFilter[], written: [] as number[] };
  const list = store.inventory.list.bind(store.inventory);
  store.inventory.list = (filter) => (seen.read.push(filter ?? {}), list(filter));
  const transaction = store.transaction.bind(store);
  store.transaction = (fn) =>
    transaction((tx) => {
      const upsertMany = tx.inventory.upsertMany.bind(tx.inventory);
      tx.inventory.upsertMany = (rows) => (seen.written.push(...rows.map((r) => r.vmid)), upsertMany(rows));
      return fn(tx);
    });
  return seen;
}

/** A small simulated cluster and a client for it. */
async function smallCluster(): Promise<{ sim: PveSim; api: ProxmoxClient; clusters: ClusterApis }> {
  const sim = await startPveSim({ timeScale: 100, scenario: structuredClone(presets.small!) });
  const api = new ProxmoxClient({
    clusterId: 'lab1',
    baseUrl: sim.url,
    auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret },
    tls: { fingerprint: sim.fingerprint },
    retry: { maxAttempts: 1 },
  });
  return { sim, api, clusters: { get: () => api, ids: () => ['lab1'] } };
}

/** Runs `test` on a small simulated cluster and a store of `engine`, then closes all three. */
async function onSmallCluster(
  engine: { open: () => Promise<Store> },
  test: (lab: { sim: PveSim; store: Store; clusters: ClusterApis }) => Promise<void>,
): Promise<void> {
  const { sim, api, clusters } = await smallCluster();
  const store = await engine.open();
  try {
    await test({ sim, store, clusters });
  } finally {
    await store.close();
    await api.close();
    await sim.close();
  }
}

describe.each(engines.map((e) => [e.name, e] as const))('a sync on %s', (_name, engine) => {
  it('reads whole, in a full sync, only the running VMs and those with details due, and keeps the others’ details', async () => {
    await onSmallCluster(engine, async ({ store, clusters }) => {
      const sync = new SyncEngine({ store, clusters, probe: { isOpen: async () => false } });
      await sync.fullSync();
      const before = await store.inventory.list({ clusterId: 'lab1', includeTemplates: true });
      const stopped = before.filter((r) => r.status !== 'running');
      expect(stopped.length).toBeGreaterThan(0);
      // What only a full sync's detail reads know of a stopped VM: it must survive a sync that skips its row.
      await store.inventory.update('lab1', stopped[0]!.vmid, { category: 'windows', syncError: 'config: kept' });
      const seen = watch(store);
      await sync.fullSync();
      const running = before.filter((r) => r.status === 'running').map((r) => r.vmid);
      expect(seen.read).toEqual([{ clusterId: 'lab1', vmids: running, includeTemplates: true, includeGone: true }]);
      expect(seen.written).toEqual([]);
      expect(await store.inventory.get('lab1', stopped[0]!.vmid)).toMatchObject({
        category: 'windows',
        syncError: 'config: kept',
      });
      // `refreshVm` (details due) reads that stopped VM whole, and its config again.
      const reads = watch(store);
      await sync.refreshVm('lab1', stopped[0]!.vmid);
      expect(reads.read[0]?.vmids).toEqual(expect.arrayContaining([stopped[0]!.vmid, ...running]));
      expect((await store.inventory.get('lab1', stopped[0]!.vmid))?.syncError).toBeNull();
    });
  });

  it('puts right at the next quick sync a listed field another writer changed without the whole row, and rows without a key', async () => {
    await onSmallCluster(engine, async ({ store, clusters }) => {
      const sync = new SyncEngine({ store, clusters, probe: { isOpen: async () => false } });
      await sync.fullSync();
      const stopped = (await store.inventory.list({ clusterId: 'lab1' })).find((r) => r.status === 'stopped')!;
      // Another process recorded a start that PVE does not show (it failed), and a rename.
      await store.inventory.update('lab1', stopped.vmid, { status: 'running', name: 'not-its-name' });
      const seen = watch(store);
      const [report] = await sync.quickSync();
      expect(report).toMatchObject({ ok: true, changed: 1 });
      expect(seen.written).toEqual([stopped.vmid]);
      expect(await store.inventory.get('lab1', stopped.vmid)).toMatchObject({ status: 'stopped', name: stopped.name });
      if (!(store instanceof KyselyStore)) return; // the memory store has no rows from before sync keys
      // Rows from before sync keys (an upgraded store) are read and written whole once, then keyed.
      await sql`update vm_inventory set sync_key = null`.execute(store.db);
      const all = (await store.inventory.list({ clusterId: 'lab1', includeTemplates: true })).map((r) => r.vmid);
      const upgraded = watch(store);
      await sync.quickSync();
      expect(upgraded.written.sort()).toEqual([...all].sort());
      const keyed = watch(store);
      await sync.quickSync();
      expect(keyed.read).toEqual([]);
      expect(keyed.written).toEqual([]);
    });
  });

  it('reads and writes whole, in a quick sync, only the rows that changed, records the change, the gone VM and the usage ledger', async () => {
    await onSmallCluster(engine, async ({ sim, store, clusters }) => {
      const sync = new SyncEngine({ store, clusters, probe: { isOpen: async () => false } });
      await sync.fullSync();
      const before = await store.inventory.list({ clusterId: 'lab1', includeTemplates: true });
      const running = before.filter((r) => r.status === 'running');
      expect(running.map((r) => r.vmid)).toEqual(expect.arrayContaining([100, 101]));
      // 100 stops, 101 goes, 102 is renamed; the other running VMs only move on (uptime).
      sim.ops.power('pve1', 100, 'qemu', 'stop', 'root@pam');
      sim.state.guests.delete(101);
      sim.editGuestConfig(102, { name: 'backup-renamed' });
      await new Promise((r) => setTimeout(r, 60));
      const seen = watch(store);
      const [report] = await sync.quickSync();

      expect(report).toMatchObject({ ok: true, changed: 2, gone: 1 });
      expect(seen.written.sort()).toEqual([100, 102]);
      // One read of whole rows: those written whole, by VMID.
      expect(seen.read).toEqual([{ clusterId: 'lab1', vmids: [100, 102], includeTemplates: true, includeGone: true }]);
      const after = await store.inventory.list({ clusterId: 'lab1', includeTemplates: true, includeGone: true });
      const row = (vmid: number) => after.find((r) => r.vmid === vmid)!;
      const was100 = before.find((r) => r.vmid === 100)!;
      expect(row(100)).toMatchObject({ status: 'stopped', ip: null, category: was100.category, memory: was100.memory });
      expect(row(101).goneAt).not.toBeNull();
      expect(row(102).name).toBe('backup-renamed');
      for (const r of running.filter((x) => x.vmid !== 100 && x.vmid !== 101))
        expect(row(r.vmid)).toMatchObject({ status: 'running', category: r.category });
      // Every VM still listed carries this sync's time, written whole or not.
      expect(new Set(after.filter((r) => r.goneAt === null).map((r) => r.lastUpdated)).size).toBe(1);
      // The ledger: the stopped and the gone VM's intervals closed, the others' still open.
      const intervals = await store.usage.intervals(running.map((r) => ({ clusterId: 'lab1', vmid: r.vmid })));
      const open = intervals.filter((i) => i.endedAt === null).map((i) => i.vmid);
      expect(open).not.toContain(100);
      expect(open).not.toContain(101);
      expect(open.sort()).toEqual(
        running
          .filter((r) => r.vmid !== 100 && r.vmid !== 101)
          .map((r) => r.vmid)
          .sort(),
      );
    });
  });
});

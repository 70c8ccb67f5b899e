import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmInventoryRecord } from '@lab/proxmox-sdk';
import { InventoryService } from '@lab/proxmox-sdk';
import { openStore, type KyselyStore } from '../src/index.js';
import { createScratchPostgresDatabase, postgresUnavailableReason } from './engines.js';

const T0 = 1_700_000_000_000;
const skipped = await postgresUnavailableReason();
if (skipped) console.log(`[inventory with sync states] PostgreSQL skipped: ${skipped}`);

function vm(vmid: number, patch: Partial<VmInventoryRecord> = {}): VmInventoryRecord {
  return {
    clusterId: 'lab',
    vmid,
    name: `vm-${vmid}`,
    node: 'pve1',
    status: 'running',
    ip: '10.0.0.9',
    type: 'qemu',
    category: 'linux',
    memory: 2048,
    cores: 2,
    diskSize: 34359738368,
    uptime: 100,
    cpuUsage: 0.1,
    memoryUsage: 0.4,
    isTemplate: false,
    tags: '',
    rdpAvailable: false,
    sshAvailable: true,
    lastUpdated: T0,
    lastStatusCheck: null,
    syncError: null,
    goneAt: null,
    ...patch,
  };
}

/** What the store's connections send while `fn` runs: each statement's text and whether it went named. */
let recording: Array<{ text: string; named: boolean }> | undefined;
async function statementsOf(fn: () => Promise<unknown>): Promise<Array<{ text: string; named: boolean }>> {
  recording = [];
  try {
    await fn();
    return recording;
  } finally {
    recording = undefined;
  }
}
const query = pg.Client.prototype.query;

describe.skipIf(skipped)('a person’s VMs with the sync states on PostgreSQL', () => {
  let store: KyselyStore;
  let drop: () => Promise<void>;
  let alice: number;
  beforeAll(async () => {
    // Before the store connects: its connections keep the `query` they found.
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const [first] = args as [string | { text: string; name?: string }];
      recording?.push(
        typeof first === 'string' ? { text: first, named: false } : { text: first.text, named: !!first.name },
      );
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    const scratch = await createScratchPostgresDatabase();
    drop = scratch.drop;
    store = await openStore(scratch.url, { poolSize: 2 });
    alice = (await store.classes.createPerson({ username: 'alice', displayName: 'A', role: 'student' }, T0)).id;
    await store.inventory.upsertMany([
      vm(100, { cpuUsage: Number.NaN, memoryUsage: Number.POSITIVE_INFINITY }),
      vm(101, { cpuUsage: Number.NEGATIVE_INFINITY, memoryUsage: 5e-324, uptime: 2 ** 53 - 1 }),
      vm(102, { cpuUsage: Number.MAX_VALUE, memoryUsage: -0.5, name: '\u0001 \\u0000 "}]', snapshots: 2 }),
      vm(103, { status: 'stopped' }),
    ]);
    for (const vmid of [100, 101, 102, 103])
      await store.classes.assignVm({ clusterId: 'lab', vmid, personId: alice, classId: null, role: 'student' }, T0);
    await store.sync.saveState({
      clusterId: 'lab',
      lastFullSyncAt: T0,
      lastQuickSyncAt: T0,
      lastSuccessAt: T0,
      consecutiveErrors: 0,
      lastError: null,
      nextAttemptAt: null,
    });
  });
  afterAll(async () => {
    pg.Client.prototype.query = query;
    await store?.close();
    await drop?.();
  });

  it('reads the rows the way list does: doubles that are not finite, the largest exact integers, odd names', async () => {
    const { vms } = await store.inventory.listWithSyncStates({ personId: alice });
    expect(vms).toEqual(await store.inventory.list({ personId: alice }));
    expect(vms.map((v) => [v.cpuUsage, v.memoryUsage])).toEqual([
      [Number.NaN, Number.POSITIVE_INFINITY],
      [Number.NEGATIVE_INFINITY, 5e-324],
      [Number.MAX_VALUE, -0.5],
      [0.1, 0.4],
    ]);
    expect(vms[1]!.uptime).toBe(2 ** 53 - 1);
    expect(vms[2]!.name).toBe('\u0001 \\u0000 "}]');
  });

  it('sends them as one named statement, and a student’s listVms sends nothing else', async () => {
    const sent = await statementsOf(() => store.inventory.listWithSyncStates({ personId: alice, limit: 2 }));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.named).toBe(true);
    expect(sent[0]!.text).toMatch(/sync_state/);
    const inventory = new InventoryService({
      store,
      clusterIds: () => ['lab'],
      clock: { now: () => T0 + 1_000, sleep: () => Promise.resolve() },
    });
    let result: Awaited<ReturnType<InventoryService['listVms']>> | undefined;
    const listed = await statementsOf(async () => {
      result = await inventory.listVms({ user: { personId: alice, username: 'alice', role: 'student' } });
    });
    expect(listed).toHaveLength(1);
    expect(result).toMatchObject({ stale: false, staleClusters: [], lastSyncAt: T0 });
    expect(result!.vms.map((v) => [v.vmid, v.ip])).toEqual([
      [100, '10.0.0.9'],
      [101, '10.0.0.9'],
      [102, '10.0.0.9'],
      [103, null],
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { ClassScheduler, SyncEngine, type Clock } from '@lab/proxmox-sdk';
import { pveResources } from '@lab/proxmox-sdk/pve';
import { startPveSim, type PveSim } from '@lab/pve-sim';
import { openStore } from '../src/index.js';
import { sharedStores } from './engines.js';
import { connectTo, seedClassOfVms, smallWithClassVms, spawnChild } from './fixtures/crash-lab.js';

const { engines, sharedUrl } = await sharedStores('scheduler crash');

const START = 'POST /nodes/{node}/qemu/{vmid}/status/start';
const BULK_START = 'POST /cluster/bulk-action/guest/start';
const VMIDS = [300, 301, 302, 303, 304, 305, 306, 307];

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A class of eight stopped VMs with a Monday 09:00 Berlin session; a `lab serve` stand-in (a child
 * process) leads the scheduler and is SIGKILLed once `killWhen` holds; a survivor then takes over.
 */
async function crashedSessionStart(
  engine: (typeof engines)[number],
  pveVersion: string,
  killWhen: (sim: PveSim, running: () => Promise<number>) => Promise<boolean>,
  settleMs: number,
  check: (ctx: { sim: PveSim; store: Awaited<ReturnType<typeof openStore>>; runningAtKill: number }) => Promise<void>,
): Promise<void> {
  const scenario = smallWithClassVms(VMIDS);
  // Real-time starts (2 s each, two at a time per node): a round of eight takes about 8 s.
  const sim = await startPveSim({ timeScale: 1, scenario, pveVersion });
  const { api, clusters } = connectTo(sim, 'lab1');
  const runningNow = async () =>
    (await pveResources(api).cluster.vms()).filter((r) => VMIDS.includes(r.vmid) && r.status === 'running').length;
  // Monday 07:52 UTC, inside the warm-up of the 09:00 Berlin session.
  const offset = Date.parse('2026-11-30T07:52:00Z') - Date.now();
  const clock: Clock = { now: () => Date.now() + offset, sleep: async (ms) => void (await pause(ms)) };
  const url = await sharedUrl(engine);
  const store = await openStore(url);
  try {
    const now = clock.now();
    await new SyncEngine({ store, clusters, clock, probe: { isOpen: async () => false } }).quickSync();
    await seedClassOfVms(store, 'lab1', VMIDS, now);
    await store.schedules.add({
      classId: 'cs101',
      days: 'mon',
      startTime: '09:00',
      endTime: '10:30',
      timezone: 'Europe/Berlin',
      startBeforeMin: 10,
      skipDates: [],
      createdBy: 'lovelace',
      createdAt: now,
    });
    sim.requests.reset();
    const crash = spawnChild('scheduler-child.mjs', sim, [url, String(offset)]);
    const { child, exited } = crash;
    let due = false;
    for (let i = 0; i < 600 && !due; i++) {
      due = await killWhen(sim, runningNow);
      if (!due) await pause(25);
    }
    expect(due, `the leader never reached the point to kill it: ${crash.stderr}`).toBe(true);
    child.kill('SIGKILL');
    expect(await exited).toBeNull();
    const runningAtKill = await runningNow();
    await pause(settleMs);

    // The next leader takes over once the dead one's lease expires, and records every outcome.
    const survivor = new ClassScheduler({
      store,
      clusters,
      clock,
      holderId: 'survivor',
      leaseTtlMs: 1000,
      pollIntervalMs: 50,
    });
    await survivor.runOnce();
    for (let i = 0; i < 100 && !survivor.isLeader; i++) {
      await pause(100);
      await survivor.runOnce();
    }
    expect(survivor.isLeader).toBe(true);
    const live = await pveResources(api).cluster.vms();
    for (const vmid of VMIDS) expect(live.find((r) => r.vmid === vmid)?.status, `VM ${vmid}`).toBe('running');
    const ok = (await store.audit.list({ actor: 'scheduler', action: 'vm.start' })).filter((a) => a.outcome === 'ok');
    expect(ok.map((a) => a.target).sort(), 'one ok entry per VM').toEqual(VMIDS.map((v) => `lab1/${v}`));
    expect(ok.filter((a) => a.details.reconciled !== undefined).length).toBeGreaterThan(0);
    await check({ sim, store, runningAtKill });
  } finally {
    await store.close();
    await api.close();
    await sim.close();
  }
}

// PVE 8 (one start request per VM): the crash lands between requests the lab sends itself.
describe.each(engines)(
  'scheduled starts of a leader SIGKILLed mid-round on %s, one request per VM (PVE 8)',
  (engine) => {
    it('leave an audit entry for every start that went out, and the next leader records each outcome once', async () => {
      await crashedSessionStart(
        engine,
        '8.4.1',
        // Once its second pair of starts is in flight.
        async (sim) => sim.requests.count(START) >= 3,
        // Let the starts PVE took finish: those VMs run, and the survivor reconciles them.
        3_000,
        async ({ sim, store }) => {
          expect(sim.requests.count(START), 'none started twice').toBe(VMIDS.length);
          const sent = (await store.audit.list({ actor: 'scheduler', action: 'vm.start' })).filter(
            (a) => a.outcome === 'sent',
          );
          expect(sent.length).toBeGreaterThanOrEqual(3);
        },
      );
    }, 90_000);
  },
);

// PVE 9: a session's starts are one bulk request that PVE runs as its own task, two guests at a
// time; the leader dies while that task is still starting guests.
describe.each(engines)('scheduled starts of a leader SIGKILLed during a bulk start on %s (PVE 9)', (engine) => {
  it('lets the bulk task finish instead of starting its guests again, and records each outcome once', async () => {
    await crashedSessionStart(
      engine,
      '9.1.2',
      async (sim, running) => sim.requests.count(BULK_START) === 1 && (await running()) >= 2,
      // The survivor takes over at once, while PVE's bulk task is still starting guests.
      0,
      async ({ sim, runningAtKill }) => {
        expect(runningAtKill, 'the kill landed while the bulk task was mid-way').toBeLessThan(VMIDS.length);
        expect(sim.requests.count(BULK_START), 'one bulk request for the session').toBe(1);
        expect(sim.requests.count(START), 'no guest started again one by one').toBe(0);
        const bulk = [...sim.state.tasks.tasks.values()].filter((t) => t.type === 'bulk-start');
        expect(bulk.map((t) => t.exitstatus)).toEqual(['OK']);
      },
    );
  }, 90_000);
});

import { afterEach, describe, expect, it } from 'vitest';
import { presets, type PveSim } from '@lab/pve-sim';
import { CloneTimeoutError, LinkedCloneUnsupportedError, TemplateMissingDiskError } from '../src/errors/index.js';
import { ProxmoxClient } from '../src/index.js';
import { cloneVm, type CloneProgress } from '../src/pve/index.js';
import { clientFor, expectSchemaValidRequests, fastSim } from './helpers.js';

let sim: PveSim;
const clients: ProxmoxClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await sim?.close();
});

function client(): ProxmoxClient {
  const c = clientFor(sim);
  clients.push(c);
  return c;
}

const CLONE_REQUESTS = 'POST /nodes/{node}/qemu/{vmid}/clone';
const fast = { pollIntervalMs: 20 };

describe('cloneVm', () => {
  it('makes a linked clone of a template and verifies it', async () => {
    sim = await fastSim();
    const result = await cloneVm(client(), { source: { node: 'pve1', vmid: 9000 }, name: 'cs101-alice', ...fast });
    expect(result).toMatchObject({ mode: 'linked', node: 'pve1', sourceVmid: 9000, attempts: 1 });
    expect(result.fallbackReason).toBeUndefined();
    // lvm-thin names a linked clone like any disk; the simulator keeps the thin origin PVE does not show.
    expect(result.bootDisk.volid).toBe(`local-lvm:vm-${result.vmid}-disk-0`);
    expect(sim.state.storageOn('pve1', 'local-lvm')!.volumes.get(`vm-${result.vmid}-disk-0`)?.thinOrigin).toBe(
      'base-9000-disk-0',
    );
    expect(sim.state.guests.get(result.vmid)?.config.lock).toBeUndefined();
    expectSchemaValidRequests(sim);
  });

  it('says once when the clone has begun its last allocation: its task log then names every drive it allocates', async () => {
    sim = await fastSim();
    const seen: string[][] = [];
    const result = await cloneVm(client(), {
      source: { node: 'pve1', vmid: 9000 },
      name: 'cs101-bob',
      ...fast,
      timeScale: 100,
      onLastAllocation: () => {
        const task = [...sim.state.tasks.tasks.values()].find((t) => t.type === 'qmclone');
        seen.push(task!.log.filter((l) => /^create (full|linked) clone of drive /.test(l)));
      },
    });
    expect(result.mode).toBe('linked');
    expect(seen).toHaveLength(1);
    // The template's cloud-init drive and its disk: the clone allocates both, one lock hold each.
    expect(seen[0]).toEqual([
      'create full clone of drive ide2 (local-lvm:vm-9000-cloudinit)',
      'create linked clone of drive scsi0 (local-lvm:base-9000-disk-0)',
    ]);
  });

  it('refuses a template with only a cloud-init drive and a CD-ROM before sending any clone request', async () => {
    sim = await fastSim();
    sim.editGuestConfig(9000, { scsi0: null, boot: 'order=ide2', ide0: 'local:iso/ubuntu.iso,media=cdrom' });
    const error = await cloneVm(client(), { source: { node: 'pve1', vmid: 9000 }, name: 'x', ...fast }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TemplateMissingDiskError);
    expect((error as Error).message).toBe('template 9000 on pve1 has no boot disk (only ide0, ide2); recreate it');
    expect(sim.requests.count(CLONE_REQUESTS)).toBe(0);
  });

  it('gives two parallel clones of one process distinct, verified VMIDs', async () => {
    sim = await fastSim();
    const api = client();
    const [a, b] = await Promise.all([
      cloneVm(api, { source: { node: 'pve1', vmid: 9000 }, name: 'a', ...fast }),
      cloneVm(api, { source: { node: 'pve1', vmid: 9000 }, name: 'b', ...fast }),
    ]);
    expect(a.vmid).not.toBe(b.vmid);
    expect(a.attempts + b.attempts).toBe(2);
  });

  it('recovers when another process takes the same VMID: one clone re-allocates and both end verified', async () => {
    sim = await fastSim();
    // The first clone request is held back 400 ms, so the other process clones into the same id first.
    sim.faults.add({ method: 'POST', path: '/nodes/{node}/qemu/{vmid}/clone', kind: 'delay', delayMs: 400, count: 1 });
    const [a, b] = await Promise.all([
      cloneVm(client(), { source: { node: 'pve1', vmid: 9000 }, name: 'a', ...fast }),
      cloneVm(client(), { source: { node: 'pve1', vmid: 9000 }, name: 'b', ...fast }),
    ]);
    expect(a.vmid).not.toBe(b.vmid);
    expect(a.attempts + b.attempts).toBe(3);
    expect(sim.requests.count(CLONE_REQUESTS)).toBe(3);
    for (const r of [a, b]) expect(sim.state.guests.get(r.vmid)?.config.name).toBe(r === a ? 'a' : 'b');
  });

  it('times out with diagnostics when the lock never clears although the task said OK', async () => {
    sim = await fastSim();
    sim.ops.stuckClones = 1;
    const error = (await cloneVm(client(), {
      source: { node: 'pve1', vmid: 9000 },
      name: 'stuck',
      timeoutMs: 1500,
      ...fast,
    }).catch((e: unknown) => e)) as CloneTimeoutError;
    expect(error).toBeInstanceOf(CloneTimeoutError);
    expect(error.code).toBe('LAB_CLONE_TIMEOUT');
    expect(error.data).toMatchObject({ waitingFor: 'lock', templateStillHasDisk: true, lastConfig: { lock: 'clone' } });
    expect((error.data.taskLogTail as string[]).at(-1)).toBe('TASK OK');
    expect(error.message).toMatch(
      /still waiting for its 'lock: clone' to clear\); the template still has its boot disk/,
    );
  });

  it('falls back to a full clone on a storage without linked clones, and says so', async () => {
    sim = await fastSim({ timeScale: 400 });
    const result = await cloneVm(client(), { source: { node: 'pve3', vmid: 9003 }, name: 'thick', ...fast });
    expect(result.mode).toBe('full');
    expect(result.fallbackReason).toBe("storage 'thick-lvm' (lvm) cannot hold linked clones");
    expect(sim.state.guests.get(result.vmid)?.config.scsi0).toMatch(/^thick-lvm:vm-\d+-disk-0,/);
  });

  it('falls back when PVE itself refuses the linked clone', async () => {
    sim = await fastSim({ timeScale: 400 });
    sim.faults.add({
      method: 'POST',
      path: '/nodes/{node}/qemu/{vmid}/clone',
      kind: 'http-500',
      count: 1,
      message: "Linked clone feature is not supported for 'local-lvm:base-9000-disk-0' (scsi0)",
    });
    const result = await cloneVm(client(), { source: { node: 'pve1', vmid: 9000 }, name: 'fallback', ...fast });
    expect(result).toMatchObject({
      mode: 'full',
      fallbackReason: "Linked clone feature is not supported for 'local-lvm:base-9000-disk-0' (scsi0)",
      attempts: 2,
    });
  });

  it('refuses a demanded linked clone where it is impossible, before cloning', async () => {
    sim = await fastSim();
    await expect(
      cloneVm(client(), { source: { node: 'pve3', vmid: 9003 }, name: 'x', mode: 'linked', ...fast }),
    ).rejects.toBeInstanceOf(LinkedCloneUnsupportedError);
    await expect(
      cloneVm(client(), { source: { node: 'pve1', vmid: 100 }, name: 'x', mode: 'linked', ...fast }),
    ).rejects.toThrow('VM 100 is not a template');
    expect(sim.requests.count(CLONE_REQUESTS)).toBe(0);
  });

  it('reports copy progress of a full clone from the task log', async () => {
    sim = await fastSim({ timeScale: 200 });
    const events: CloneProgress[] = [];
    const result = await cloneVm(client(), {
      source: { node: 'pve1', vmid: 9002 },
      name: 'full',
      mode: 'full',
      target: 'pve2',
      onProgress: (p) => events.push(p),
      ...fast,
    });
    expect(result).toMatchObject({ mode: 'full', node: 'pve2' });
    const phases = [...new Set(events.map((e) => e.phase))];
    expect(phases).toEqual(['verifying-source', 'allocating', 'cloning', 'waiting-for-lock', 'verifying', 'done']);
    const percents = events.filter((e) => e.phase === 'cloning' && e.percent !== undefined).map((e) => e.percent!);
    expect(percents.length).toBeGreaterThan(3);
    expect(percents.at(-1)).toBe(100);
  });

  it('retries clones that lost a storage-lock race until all are verified', async () => {
    sim = await fastSim({
      timeScale: 20,
      scenario: {
        ...structuredClone(presets.small!),
        timings: { linkedCloneSeconds: 4, storageLockTimeoutSeconds: 10 },
      },
    });
    const api = client();
    const results = await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        cloneVm(api, { source: { node: 'pve1', vmid: 9000 }, name: `s${i}`, pollIntervalMs: 50 }),
      ),
    );
    expect(new Set(results.map((r) => r.vmid)).size).toBe(5);
    expect(results.some((r) => r.attempts > 1)).toBe(true);
    for (const r of results) expect(sim.state.guests.get(r.vmid)?.config.lock).toBeUndefined();
  }, 60_000);
});

import { describe, expect, it } from 'vitest';
import type { PveSim } from '@lab/pve-sim';
import { InvalidUpidError, PveTaskFailedError, PveTaskTimeoutError } from '../src/errors/index.js';
import { ProxmoxClient } from '../src/index.js';
import { parseUpid, waitForTask } from '../src/pve/index.js';
import { clientFor, closeAfterEach, expectSchemaValidRequests, fastSim } from './helpers.js';
import { parseProgressPercent } from '../src/tasks/task-progress.js';
import { isTaskSuccess } from '../src/tasks/upid.js';

let sim: PveSim;
let client: ProxmoxClient;
const { track } = closeAfterEach();

describe('UPIDs', () => {
  it('parses a clone UPID whose id is the source vmid and whose user is a token', () => {
    const upid = parseUpid('UPID:pve1:00003836:1FE22F41:619510AC:qmclone:999:terraform-prov@pve!tf:');
    expect(upid).toMatchObject({
      node: 'pve1',
      pid: 0x3836,
      pstart: 0x1fe22f41,
      starttime: 0x619510ac,
      type: 'qmclone',
      id: '999',
      user: 'terraform-prov@pve!tf',
    });
  });

  it('accepts a 9-digit pstart and an empty id', () => {
    expect(parseUpid('UPID:node-2:0000ABCD:1FE22F41A:619510AC:vzdump::root@pam:')).toMatchObject({
      id: '',
      pstart: 0x1fe22f41a,
    });
  });

  it('rejects anything else with InvalidUpidError', () => {
    expect(() => parseUpid('UPID:pve1:xyz')).toThrow(InvalidUpidError);
    expect(() => parseUpid('UPID:pve1:00003836:1FE22F41:619510AC:qmclone:999:root@pam')).toThrow(
      /is not a PVE task id/,
    );
  });

  it('counts only OK and WARNINGS: N as success', () => {
    expect(isTaskSuccess('OK')).toBe(true);
    expect(isTaskSuccess('WARNINGS: 2')).toBe(true);
    expect(isTaskSuccess('unexpected status')).toBe(false);
    expect(isTaskSuccess("clone failed: can't lock file")).toBe(false);
  });

  it('reads percentages from modern, qemu-img and PVE 5 log lines', () => {
    expect(parseProgressPercent('drive-scsi0: transferred 1.4 GiB of 20.0 GiB (6.89%) in 5s')).toBe(6.89);
    expect(parseProgressPercent('transferred 1.0 GiB of 32.0 GiB (3.12%)')).toBe(3.12);
    expect(
      parseProgressPercent(
        'transferred: 100 bytes remaining: 900 bytes total: 1000 bytes progression: 10.00 % busy: 1 ready: 0',
      ),
    ).toBe(10);
    expect(parseProgressPercent('create full clone of drive scsi0 (local-lvm:base-9000-disk-0)')).toBeUndefined();
  });
});

describe('waitForTask', () => {
  it('follows a full clone to OK with rising progress from the task log', async () => {
    sim = track(await fastSim({ timeScale: 400 }));
    client = track(clientFor(sim));
    const upid = await client.post<string>('/nodes/pve1/qemu/9000/clone', { newid: 300, name: 'progress', full: true });
    const percents: number[] = [];
    const lines: string[] = [];
    const result = await waitForTask(client, upid, {
      pollIntervalMs: 20,
      maxPollIntervalMs: 40,
      onProgress: (p) => percents.push(p),
      onLog: (l) => lines.push(l),
    });
    expect(result.exitstatus).toBe('OK');
    expect(percents.length).toBeGreaterThan(3);
    expect(percents.at(-1)).toBe(100);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    // qemu-server clone_vm: the worker announces the clone, then copies drives in sorted order (cloud-init ide2 first).
    expect(lines.slice(0, 3)).toEqual([
      'creating a clone of VM 9000 with ID 300',
      'create full clone of drive ide2 (local-lvm:vm-9000-cloudinit)',
      'create full clone of drive scsi0 (local-lvm:base-9000-disk-0)',
    ]);
    expect(new Set(lines).size).toBe(lines.length);
    expectSchemaValidRequests(sim);
  });

  it('throws PveTaskFailedError with the exit status and log tail when a task fails', async () => {
    sim = track(
      await fastSim({
        scenario: {
          ...structuredClone((await import('@lab/pve-sim')).presets.small!),
          timings: { shutdownSeconds: 60 },
        },
      }),
    );
    client = track(clientFor(sim));
    const upid = await client.post<string>('/nodes/pve1/qemu/100/status/shutdown', { timeout: 5 });
    const error = (await waitForTask(client, upid, { pollIntervalMs: 20 }).catch(
      (e: unknown) => e,
    )) as PveTaskFailedError;
    expect(error).toBeInstanceOf(PveTaskFailedError);
    expect(error.exitstatus).toBe('VM quit/powerdown failed - got timeout');
    expect(error.logTail.at(-1)).toBe('TASK ERROR: VM quit/powerdown failed - got timeout');
  });

  it('throws PveTaskTimeoutError when the task outlives the deadline', async () => {
    sim = track(await fastSim({ timeScale: 1 }));
    client = track(clientFor(sim));
    const upid = await client.post<string>('/nodes/pve1/qemu/9001/clone', { newid: 301, full: true });
    const error = await waitForTask(client, upid, { timeoutMs: 600, pollIntervalMs: 30 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PveTaskTimeoutError);
    expect((error as PveTaskTimeoutError).logTail).toContain(
      'create full clone of drive efidisk0 (local-lvm:base-9001-disk-1)',
    );
  });
});

import { describe, expect, it } from 'vitest';
import type { DeploymentEvent } from '@lab/proxmox-sdk';
import { DeploymentProgress, RunningCommands, renderProgress, type ProgressUpdate } from '../src/index.js';

const d = 'dep-1';

describe('deployment progress', () => {
  it('counts registered VMs and shows clone percentages and failures from the typed events', () => {
    const updates: ProgressUpdate[] = [];
    const progress = new DeploymentProgress({ label: 'cs101', total: 3, progress: (u) => updates.push(u) });
    progress.start('planned');
    const events: DeploymentEvent[] = [
      { type: 'cloning', deploymentId: d, name: 'cs101-alice', node: 'pve1' },
      { type: 'cloning', deploymentId: d, name: 'cs101-bob', node: 'pve2', vmid: 201, percent: 42.7 },
      { type: 'registered', deploymentId: d, name: 'cs101-alice', vmid: 200, node: 'pve1', adopted: false },
      { type: 'failed', deploymentId: d, name: 'cs101-bob', reason: 'the storage is full', code: 'LAB_X' },
    ];
    for (const e of events) progress.onEvent(e);
    expect(updates.map((u) => u.done)).toEqual([0, 0, 0, 1, 1]);
    expect(updates[2]).toMatchObject({
      cloning: [{ name: 'cs101-alice' }, { name: 'cs101-bob', percent: 42.7 }],
      event: events[1],
    });
    expect(renderProgress(updates[2]!)).toBe(
      'cs101 ░░░░░░░░░░░░░░░░ 0/3 — planned\ncloning cs101-alice, cs101-bob 42%',
    );
    expect(renderProgress(updates.at(-1)!)).toBe(
      'cs101 ▓▓▓▓▓░░░░░░░░░░░ 1/3 — cs101-alice\nfailed cs101-bob: the storage is full',
    );
  });

  it('counts each step once, and only the steps the command names', () => {
    const updates: ProgressUpdate[] = [];
    const steps = new Set(['cs101-alice', 'delete:300']);
    const progress = new DeploymentProgress({
      label: 'cs101',
      total: 2,
      progress: (u) => updates.push(u),
      step: (e) =>
        e.type === 'registered' && steps.has(e.name) ? e.name : e.type === 'deleted' ? `delete:${e.vmid}` : undefined,
    });
    progress.onEvent({
      type: 'registered',
      deploymentId: d,
      name: 'cs101-alice',
      vmid: 200,
      node: 'pve1',
      adopted: false,
    });
    progress.onEvent({
      type: 'registered',
      deploymentId: d,
      name: 'cs101-alice',
      vmid: 200,
      node: 'pve1',
      adopted: false,
    });
    progress.onEvent({
      type: 'registered',
      deploymentId: d,
      name: 'cs101-teacher',
      vmid: 100,
      node: 'pve1',
      adopted: true,
    });
    progress.onEvent({ type: 'deleted', deploymentId: d, name: 'cs101-bob', vmid: 300 });
    expect(updates.map((u) => `${u.done}/${u.total} ${u.note}`)).toEqual([
      '1/2 cs101-alice',
      '1/2 cs101-alice',
      '1/2 cs101-alice',
      '2/2 cs101-bob',
    ]);
  });

  it('lists at most five clones and five failures, then counts the rest', () => {
    const names = Array.from({ length: 7 }, (_, i) => `vm${i}`);
    const text = renderProgress({
      label: 'cs101',
      done: 0,
      total: 7,
      cloning: names.map((name) => ({ name, percent: 10 })),
      failed: names.map((name) => ({ name, reason: 'boom' })),
    });
    expect(text.split('\n')).toEqual([
      'cs101 ░░░░░░░░░░░░░░░░ 0/7',
      'cloning vm0 10%, vm1 10%, vm2 10%, vm3 10%, vm4 10% and 2 more',
      ...names.slice(0, 5).map((n) => `failed ${n}: boom`),
      '… and 2 more failed',
    ]);
  });
});

describe('running commands', () => {
  it('waits for every tracked command, including ones started meanwhile, and reports rejections', async () => {
    const errors: unknown[] = [];
    const running = new RunningCommands((e) => errors.push(e));
    const finished: string[] = [];
    let releaseFirst: () => void = () => undefined;
    running.track(
      new Promise<void>((r) => (releaseFirst = r)).then(() => {
        finished.push('first');
        running.track(Promise.resolve().then(() => void finished.push('second')));
      }),
    );
    running.track(Promise.reject(new Error('failed command')));
    let idle = false;
    const waiting = running.idle().then(() => (idle = true));
    await new Promise((r) => setImmediate(r));
    expect(idle).toBe(false);
    releaseFirst();
    await waiting;
    expect(finished).toEqual(['first', 'second']);
    expect(errors).toEqual([new Error('failed command')]);
  });
});

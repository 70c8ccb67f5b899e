import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { ProgressBroadcaster } from '@lab/commands';
import { createLogger, type DeploymentRecord, type Store } from '@lab/proxmox-sdk';
import { createMemoryStore } from '@lab/proxmox-sdk/testing';
import { deployTopic, StoreProgressFeed } from '../src/store-progress-feed.js';

/** An SSE response stand-in that keeps what it was sent. */
class Sink extends EventEmitter {
  text = '';
  ended = false;
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  end(): void {
    this.ended = true;
  }
}

let now = 1_000_000;
const clock = { now: () => now };
const feeds: StoreProgressFeed[] = [];
afterEach(() => feeds.splice(0).forEach((f) => f.close()));

/** A feed whose timed rounds never come during a test: only a class's first browser starts one. */
function feedOver(store: Store, broadcaster: ProgressBroadcaster): StoreProgressFeed {
  const feed = new StoreProgressFeed({
    store,
    broadcaster,
    logger: createLogger({ level: 'error' }),
    clock,
    portalId: 'this-portal',
    pollMs: 3_600_000,
  });
  feeds.push(feed);
  return feed;
}

const deployment = (id: string, fields: Partial<DeploymentRecord> = {}): DeploymentRecord => ({
  id,
  classId: 'cs101',
  clusterId: 'lab',
  spec: { kind: 'reset', action: 'reset', classId: 'cs101' },
  status: 'running',
  createdBy: 'lovelace',
  createdAt: now,
  updatedAt: now,
  finishedAt: null,
  error: null,
  notify: null,
  ...fields,
});

const item = (deploymentId: string, name: string) => ({
  deploymentId,
  name,
  kind: 'student' as const,
  personId: null,
  node: 'pve1',
  vmid: null,
  status: 'pending' as const,
  attempt: 0,
  error: null,
  updatedAt: now,
});

describe('the store progress feed', () => {
  it('finishes the browsers of a deployment that started and ended between two of its rounds', async () => {
    const store = createMemoryStore();
    const broadcaster = new ProgressBroadcaster();
    const feed = feedOver(store, broadcaster);
    await feed.watch('cs101');
    const sink = new Sink();
    broadcaster.subscribe(deployTopic('cs101'), sink);

    now += 1_000;
    await store.deployments.create(deployment('short'), [item('short', 'cs101-alice')]);
    await store.deployments.updateItem('short', 'cs101-alice', { status: 'done', vmid: 101, updatedAt: now });
    await store.deployments.update('short', { status: 'done', finishedAt: now + 100 }, now + 100);
    // Another class's first browser starts a round now, which reads cs101 too.
    await feed.watch('cs202');

    expect(sink.ended).toBe(true);
    expect(sink.text).toMatch(
      /event: done\ndata: \{"text":"reset cs101: finished, 1 of 1 VM\(s\) done\.","error":false\}/,
    );
    broadcaster.close();
  });

  it("leaves this portal's own deployments to their events, and one finished before anyone watched alone", async () => {
    const store = createMemoryStore();
    await store.deployments.create(deployment('before', { status: 'done', finishedAt: now }), []);
    now += 1_000;
    await store.deployments.create(deployment('own', { notify: { platform: 'web', portal: 'this-portal' } }), [
      item('own', 'cs101-bob'),
    ]);
    const broadcaster = new ProgressBroadcaster();
    const feed = feedOver(store, broadcaster);
    await feed.watch('cs101');
    const sink = new Sink();
    broadcaster.subscribe(deployTopic('cs101'), sink);
    await store.deployments.update('own', { status: 'done', finishedAt: now + 5 }, now + 5);
    await feed.watch('cs202');
    expect(sink.ended).toBe(false);
    expect(sink.text).toBe('retry: 3000\n\n');
    expect(await feed.currentText('cs101')).toBeUndefined();
    broadcaster.close();
  });

  it("publishes a running deployment's items as the chat progress bar, once per change", async () => {
    const store = createMemoryStore();
    await store.deployments.create(deployment('running', { spec: { classId: 'cs101' } }), [
      item('running', 'cs101-alice'),
      item('running', 'cs101-bob'),
    ]);
    await store.deployments.updateItem('running', 'cs101-alice', { status: 'cloning', updatedAt: now });
    const broadcaster = new ProgressBroadcaster();
    const feed = feedOver(store, broadcaster);
    await feed.watch('cs101');
    const sink = new Sink();
    broadcaster.subscribe(deployTopic('cs101'), sink);
    expect(sink.text).toMatch(/event: progress\ndata: \{"text":"cs101 ░{16} 0\/2\\ncloning cs101-alice"/);
    expect(await feed.currentText('cs101')).toBe('cs101: 0 of 2 step(s) done, 1 under way.');
    await feed.watch('cs202');
    expect(sink.text.match(/event: progress/g)).toHaveLength(1);
    broadcaster.close();
  });
});

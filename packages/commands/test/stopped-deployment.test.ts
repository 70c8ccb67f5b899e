import * as commands from '../src/index.js';
import { describe, expect, it } from 'vitest';
import { DeploymentEngine, type Clock, type ClusterApis } from '@lab/proxmox-sdk';
import { ids, useLab } from './lab-fixture.js';

const current = useLab(commands);

/** A promise that never settles: what a stopped process's pending work is. */
const never = new Promise<never>(() => {});

describe('/lab deploy after the process of an earlier deployment stopped', () => {
  it('finishes that deployment first and says so, then answers with its own summary', async () => {
    const { services, router } = current();
    const { store, catalog, clusters } = services;
    // A process that stops after recording its deployment: its clones never come back and it never
    // renews its lease again.
    const stoppedClusters: ClusterApis = {
      ids: () => clusters.ids(),
      get: (id) => {
        const api = clusters.get(id);
        return new Proxy(api, {
          get: (target, key) => {
            if (key === 'post')
              return (path: string, ...rest: unknown[]) =>
                path.endsWith('/clone')
                  ? never
                  : (target.post as (...a: unknown[]) => unknown).call(target, path, ...rest);
            const value = Reflect.get(target, key, target) as unknown;
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        });
      },
    };
    const stoppedClock: Clock = { now: () => Date.now(), sleep: () => never };
    const stopped = new DeploymentEngine({
      store,
      clusters: stoppedClusters,
      catalog,
      clock: stoppedClock,
      leaseTtlMs: 200,
      instanceId: 'stopped-process',
    });
    const spec = { classId: 'cs101', count: 2, requestedBy: 'lovelace' };
    const recorded = await stopped.apply(await stopped.plan(spec));
    expect((await store.deployments.get(recorded.id))?.status).toMatch(/^(planned|running)$/);
    // Its lease runs out unrenewed.
    while (((await store.sync.getLease('deployment:cs101'))?.expiresAt ?? 0) >= Date.now())
      await new Promise((r) => setTimeout(r, 20));

    const reply = await router.invoke({
      platform: 'slack',
      userId: ids.teacher,
      command: 'lab',
      text: 'deploy cs101 2',
    });
    expect(reply.error, reply.text).toBeFalsy();
    const [first, second] = reply.text.split('\n');
    expect(first).toMatch(
      /^cs101: finished the deployment a stopped process had started \(lovelace, \d{4}-\d\d-\d\d \d\d:\d\d UTC\): 4 VM\(s\) ready\.$/,
    );
    expect(second).toMatch(/^cs101: 0 created, 4 kept, 0 deleted in [\d.]+ s\.$/);
    expect((await store.deployments.get(recorded.id))?.status).toBe('done');
  });
});

import type { PveSim, PveSimOptions } from '@lab/pve-sim';
import { afterAll, beforeAll } from 'vitest';
import type { ProxmoxClient } from '../client/proxmox-client.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../ports/clock.js';
import type { LabObserver } from '../ports/lab-observer.js';
import type { TemplateCatalog } from '../templates/template-catalog.js';
import { createMemoryStore } from './memory-store.js';
import { clientForSim } from './sim-client.js';
import { ClassNetworks } from '../network/class-networks.js';
import type { SdnSettings } from '../network/sdn-settings.js';
import type { ClassNetworksOf } from '../deploy/lab-networks.js';

/**
 * The part of `@lab/commands` a test lab is built with, typed structurally: the command layer's
 * sources (in its own tests) and its build (in the bots' tests) both fit.
 */
export interface TestLabCommands<R, S> {
  CommandRouter: new (services: S, plugins: never, options: { rateLimit: { perMinute: number } }) => R;
  builtinPlugins: unknown;
  createLabServices: (options: {
    store: Store;
    clusters: ClusterApis;
    sync: { probe: { isOpen: () => Promise<boolean> } };
    pollIntervalMs: number;
    clock?: Clock;
    networks?: ClassNetworksOf;
  }) => S;
}

/** A simulated cluster, a store with two classes and their people, and a command router over them. */
export interface TestLab<R, S> {
  sim: PveSim;
  api: ProxmoxClient;
  services: S;
  router: R;
  /** Closes the client and the simulator (not a store passed in). */
  close(): Promise<void>;
}

/** The chat ids (Slack's; Discord's are these lower-cased with `-discord`) of the test lab's people. */
export const testLabIds = {
  admin: 'UADMIN',
  teacher: 'UTEACH1',
  teacher2: 'UTEACH2',
  alice: 'UALICE',
  bob: 'UBOB',
  stranger: 'USTRANGER',
} as const;

/**
 * Starts `@lab/pve-sim` (an optional peer dependency, needed only here) 400× faster than a real
 * cluster and builds the test lab over it: admin `root`, teachers `lovelace` (owns cs101) and
 * `hopper` (owns cs202), students `alice` and `bob` in cs101, template `ubuntu` on pve1 and pve2.
 * cs101 and cs202 are pinned to pve1 (`class pin`), so the front ends' tests see a class on one node;
 * how placement spreads a class over nodes is tested in the SDK.
 * The store is a fresh memory store unless `options.store` is given; `options.clock` drives the
 * services' time (the scheduler's, the quotas'); `options.observer` sees every request of its client;
 * `options.sdn` gives the services the cluster's class networks (as `sdn` in lab.config.json does).
 */
export async function startTestLab<R, S extends { catalog: TemplateCatalog }>(
  commands: TestLabCommands<R, S>,
  options: { store?: Store; sim?: PveSimOptions; clock?: Clock; observer?: LabObserver; sdn?: SdnSettings } = {},
): Promise<TestLab<R, S>> {
  const { startPveSim } = await import('@lab/pve-sim');
  const { CommandRouter, builtinPlugins, createLabServices } = commands;
  const sim = await startPveSim({ timeScale: 400, ...options.sim });
  const api = clientForSim(sim, { retry: {}, ...(options.observer ? { observer: options.observer } : {}) });
  const clusters: ClusterApis = { get: () => api, ids: () => ['lab'] };
  const store = options.store ?? createMemoryStore();
  const networks = options.sdn
    ? new ClassNetworks({ store, api, settings: options.sdn, pollIntervalMs: 20 })
    : undefined;
  const services = createLabServices({
    store,
    clusters,
    sync: { probe: { isOpen: async () => false } },
    pollIntervalMs: 20,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(networks ? { networks: () => networks } : {}),
  });
  const person = async (username: string, role: 'admin' | 'teacher' | 'student', slackId: string) => {
    const p = await store.classes.createPerson({ username, displayName: username, role }, 1);
    await store.classes.linkIdentity({ personId: p.id, platform: 'slack', externalId: slackId });
    await store.classes.linkIdentity({
      personId: p.id,
      platform: 'discord',
      externalId: `${slackId.toLowerCase()}-discord`,
    });
    return p;
  };
  await person('root', 'admin', testLabIds.admin);
  const teacher = await person('lovelace', 'teacher', testLabIds.teacher);
  const teacher2 = await person('hopper', 'teacher', testLabIds.teacher2);
  const alice = await person('alice', 'student', testLabIds.alice);
  const bob = await person('bob', 'student', testLabIds.bob);
  const ubuntu = await services.catalog.create({
    name: 'ubuntu',
    memory: 2048,
    cores: 2,
    mappings: [
      { clusterId: 'lab', node: 'pve1', vmid: 9000 },
      { clusterId: 'lab', node: 'pve2', vmid: 9100 },
    ],
  });
  await store.classes.createClass(
    { id: 'cs101', name: 'CS 101', templateId: ubuntu.id, ownerId: teacher.id, pinnedNodes: ['pve1'] },
    1,
  );
  await store.classes.createClass(
    { id: 'cs202', name: 'CS 202', templateId: ubuntu.id, ownerId: teacher2.id, pinnedNodes: ['pve1'] },
    1,
  );
  for (const s of [alice, bob]) await store.classes.addMember({ classId: 'cs101', personId: s.id, role: 'student' });
  const router = new CommandRouter(services, builtinPlugins as never, { rateLimit: { perMinute: 1000 } });
  return {
    sim,
    api,
    services,
    router,
    close: async () => {
      await api.close();
      await sim.close();
    },
  };
}

/**
 * The test lab of {@link startTestLab} for one test file: opened before its tests, closed after
 * them. Read it inside tests or a later `beforeAll` (`const { router, services } = current()`).
 */
export function useTestLab<R, S extends { catalog: TemplateCatalog }>(
  commands: TestLabCommands<R, S>,
): () => TestLab<R, S> {
  let lab: TestLab<R, S> | undefined;
  beforeAll(async () => {
    lab = await startTestLab(commands);
  });
  afterAll(() => lab?.close());
  return () => lab!;
}

/**
 * Gives `username` a running Windows VM with a guest agent in class `win1` (deployed from the
 * simulator's template 9001), so `/myvm connect` has an address and an `.rdp` file to offer.
 */
export async function runningWindowsVm(
  lab: {
    sim: PveSim;
    services: {
      store: Store;
      catalog: TemplateCatalog;
      engine: { deploy: (spec: { classId: string; count: number; template: string }) => Promise<{ status: string }> };
    };
  },
  username: string,
): Promise<number> {
  const { store, catalog, engine } = lab.services;
  if (!(await store.templates.getByName('windows')))
    await catalog.create({
      name: 'windows',
      memory: 4096,
      cores: 2,
      mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9001 }],
    });
  if (!(await store.classes.getClass('win1')))
    await store.classes.createClass({ id: 'win1', name: 'Windows lab', templateId: null, ownerId: null }, 1);
  const person = (await store.classes.getPersonByUsername(username))!;
  await store.classes.addMember({ classId: 'win1', personId: person.id, role: 'student' });
  const summary = await engine.deploy({ classId: 'win1', count: 1, template: 'windows' });
  if (summary.status !== 'done') throw new Error(`win1 deploy ${summary.status}`);
  const vmid = (await store.classes.assignmentsOf(person.id)).find((a) => a.classId === 'win1')!.vmid;
  const guest = lab.sim.state.guests.get(vmid)!;
  guest.config.agent = '1';
  guest.status = 'running';
  guest.startedAt = 0;
  guest.agentReadyAt = 0;
  return vmid;
}

import { startPveSim, type PveSim } from '@lab/pve-sim';
import { afterAll, beforeAll } from 'vitest';
import { ProxmoxClient, createMemoryStore, type Clock, type ClusterApis, type Store } from '@lab/proxmox-sdk';
import type { TemplateCatalog } from '@lab/proxmox-sdk';

/**
 * The command-layer module to build with: the sources in this package's tests, the build in the
 * bots' (typed structurally, so both fit).
 */
interface CommandModule<R, S> {
  CommandRouter: new (services: S, plugins: never, options: { rateLimit: { perMinute: number } }) => R;
  builtinPlugins: unknown;
  createLabServices: (options: { store: Store; clusters: ClusterApis; sync: { probe: { isOpen: () => Promise<boolean> } }; pollIntervalMs: number; clock?: Clock }) => S;
}

/** People of the test lab with their Slack ids. */
export const ids = { admin: 'UADMIN', teacher: 'UTEACH1', teacher2: 'UTEACH2', alice: 'UALICE', bob: 'UBOB', stranger: 'USTRANGER' } as const;

/** A simulated cluster, a memory store with two classes and their people, and a router over them (on `clock` if given). */
export async function lab<R, S extends { catalog: TemplateCatalog }>(commands: CommandModule<R, S>, options: { store?: Store; clock?: Clock } = {}): Promise<{ sim: PveSim; api: ProxmoxClient; services: S; router: R; close: () => Promise<void> }> {
  const { CommandRouter, builtinPlugins, createLabServices } = commands;
  const sim = await startPveSim({ timeScale: 400 });
  const api = new ProxmoxClient({ clusterId: 'lab', baseUrl: sim.url, auth: { type: 'token', tokenId: sim.tokenId, secret: sim.tokenSecret }, tls: { fingerprint: sim.fingerprint } });
  const clusters: ClusterApis = { get: () => api, ids: () => ['lab'] };
  const store = options.store ?? createMemoryStore();
  const services = createLabServices({ store, clusters, sync: { probe: { isOpen: async () => false } }, pollIntervalMs: 20, ...(options.clock ? { clock: options.clock } : {}) });
  const person = async (username: string, role: 'admin' | 'teacher' | 'student', slackId: string) => {
    const p = await store.classes.createPerson({ username, displayName: username, role }, 1);
    await store.classes.linkIdentity({ personId: p.id, platform: 'slack', externalId: slackId });
    await store.classes.linkIdentity({ personId: p.id, platform: 'discord', externalId: `${slackId.toLowerCase()}-discord` });
    return p;
  };
  await person('root', 'admin', ids.admin);
  const teacher = await person('lovelace', 'teacher', ids.teacher);
  const teacher2 = await person('hopper', 'teacher', ids.teacher2);
  const alice = await person('alice', 'student', ids.alice);
  const bob = await person('bob', 'student', ids.bob);
  const ubuntu = await services.catalog.create({ name: 'ubuntu', memory: 2048, cores: 2, mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9000 }, { clusterId: 'lab', node: 'pve2', vmid: 9100 }] });
  await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: ubuntu.id, ownerId: teacher.id }, 1);
  await store.classes.createClass({ id: 'cs202', name: 'CS 202', templateId: ubuntu.id, ownerId: teacher2.id }, 1);
  for (const s of [alice, bob]) await store.classes.addMember({ classId: 'cs101', personId: s.id, role: 'student' });
  const router = new CommandRouter(services, builtinPlugins as never, { rateLimit: { perMinute: 1000 } });
  return { sim, api, services, router, close: async () => { await api.close(); await sim.close(); } };
}

type CommandsModule = typeof import('../src/index.js');
type LabOfCommands = Awaited<ReturnType<typeof lab<InstanceType<CommandsModule['CommandRouter']>, ReturnType<CommandsModule['createLabServices']>>>>;

/**
 * The lab of {@link lab} for one test file: opened before its tests, closed after them. Read it
 * inside tests or a later `beforeAll` (`const { router, services } = current()`). With `deploy`
 * (`'cs101 2'`), cs101's teacher deploys that first, through the router.
 */
export function useLab(commands: CommandsModule, options: { deploy?: string } = {}): () => LabOfCommands {
  let env: LabOfCommands | undefined;
  beforeAll(async () => {
    env = await lab(commands as unknown as CommandModule<InstanceType<CommandsModule['CommandRouter']>, ReturnType<CommandsModule['createLabServices']>>);
    if (options.deploy) {
      const deployed = await env.router.invoke({ platform: 'slack', userId: ids.teacher, command: 'lab', text: `deploy ${options.deploy}` });
      if (deployed.error) throw new Error(`deploy ${options.deploy} failed: ${deployed.text}`);
    }
  });
  afterAll(() => env?.close());
  return () => env!;
}

/**
 * Gives `username` a running Windows VM with a guest agent in class `win1` (deployed from the
 * simulator's template 9001), so `/myvm connect` has an address and an `.rdp` file to offer.
 */
export async function runningWindowsVm(env: { sim: PveSim; services: { store: Store; catalog: TemplateCatalog; engine: { deploy: (spec: { classId: string; count: number; template: string }) => Promise<{ status: string }> } } }, username: string): Promise<number> {
  const { store, catalog, engine } = env.services;
  if (!(await store.templates.getByName('windows'))) await catalog.create({ name: 'windows', memory: 4096, cores: 2, mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9001 }] });
  if (!(await store.classes.getClass('win1'))) await store.classes.createClass({ id: 'win1', name: 'Windows lab', templateId: null, ownerId: null }, 1);
  const person = (await store.classes.getPersonByUsername(username))!;
  await store.classes.addMember({ classId: 'win1', personId: person.id, role: 'student' });
  const summary = await engine.deploy({ classId: 'win1', count: 1, template: 'windows' });
  if (summary.status !== 'done') throw new Error(`win1 deploy ${summary.status}`);
  const vmid = (await store.classes.assignmentsOf(person.id)).find((a) => a.classId === 'win1')!.vmid;
  const guest = env.sim.state.guests.get(vmid)!;
  guest.config.agent = '1';
  guest.status = 'running';
  guest.startedAt = 0;
  guest.agentReadyAt = 0;
  return vmid;
}

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startPveSim, type PveSim } from '@lab/pve-sim';
import { Clusters, systemClock, type Clock } from '@lab/proxmox-sdk';
import { openStore, type KyselyStore } from '@lab/proxmox-store';
import { CommandRouter, builtinPlugins, createLabServices, type LabServices } from '@lab/commands';
import { createConsoleServer, openPveWebSocket, type ConsoleServer } from '../src/index.js';

/** A clock the test moves forward (`advance`); its `sleep` is a short real sleep so loops keep polling. */
export function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    sleep: (ms, signal) => systemClock.sleep(Math.min(ms, 25), signal),
    advance: (ms) => (offset += ms),
  };
}

/** People of the console lab: Slack ids by username. */
export const slackIds = { root: 'UROOT', lovelace: 'UTEACH', alice: 'UALICE', bob: 'UBOB', carol: 'UCAROL' } as const;

/** The console lab: a simulator (VMs 100 'dns' of alice, 101 'gitlab' of bob, 102 'backup' of carol, stopped), a SQLite store, the command router and the console endpoints on a loopback HTTP server. */
export interface ConsoleLab {
  sim: PveSim;
  store: KyselyStore;
  clusters: Clusters;
  services: LabServices;
  router: CommandRouter;
  console: ConsoleServer;
  clock: ReturnType<typeof movableClock>;
  /** `http://127.0.0.1:PORT`, the console's public URL. */
  url: string;
  /** Runs `/myvm console [vm]` as the Slack user of `username`; the link, or the refusal's text. */
  link(username: keyof typeof slackIds, vm?: string): Promise<{ url?: string; text: string }>;
  close(): Promise<void>;
}

export async function consoleLab(options: { watchIntervalMs?: number } = {}): Promise<ConsoleLab> {
  const dir = mkdtempSync(join(tmpdir(), 'lab-console-'));
  // Simulated time runs 5× faster (VNC tickets live 40 s of it); the lab's clock is the test's.
  const sim = await startPveSim({ timeScale: 5 });
  const store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
  const clusters = new Clusters([
    { id: 'lab', url: sim.url, tokenId: sim.tokenId, tokenSecret: sim.tokenSecret, fingerprint: sim.fingerprint },
  ]);
  const clock = movableClock();
  const mounted: { handler?: ConsoleServer } = {};
  const server: Server = createServer((req, res) => {
    if (!mounted.handler?.handleRequest(req, res)) res.writeHead(404).end();
  });
  server.on('upgrade', (req, socket, head) => {
    if (!mounted.handler?.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const services = createLabServices({
    store,
    clusters,
    clock,
    sync: { probe: { isOpen: async () => false } },
    console: { publicUrl: url },
  });
  const logger = services.logger;
  const handler = createConsoleServer({
    store,
    clusters,
    grants: services.console!.grants,
    clock,
    logger,
    publicUrl: url,
    watchIntervalMs: options.watchIntervalMs ?? 50,
    openPveSocket: async (clusterId, path) =>
      openPveWebSocket(await clusters.get(clusterId).webSocketRequest(path), { clusterId, logger }),
  });
  mounted.handler = handler;
  const person = async (username: keyof typeof slackIds, role: 'admin' | 'teacher' | 'student') => {
    const p = await store.classes.createPerson({ username, displayName: username, role }, 1);
    await store.classes.linkIdentity({ personId: p.id, platform: 'slack', externalId: slackIds[username] });
    return p;
  };
  await person('root', 'admin');
  const teacher = await person('lovelace', 'teacher');
  const alice = await person('alice', 'student');
  const bob = await person('bob', 'student');
  const carol = await person('carol', 'student');
  await store.classes.createClass({ id: 'cs101', name: 'CS 101', templateId: null, ownerId: teacher.id }, 1);
  await store.classes.createClass({ id: 'cs202', name: 'CS 202', templateId: null, ownerId: null }, 1);
  for (const s of [alice, bob]) await store.classes.addMember({ classId: 'cs101', personId: s.id, role: 'student' });
  await store.classes.addMember({ classId: 'cs202', personId: carol.id, role: 'student' });
  await store.classes.assignVm(
    { clusterId: 'lab', vmid: 100, personId: alice.id, classId: 'cs101', role: 'student' },
    1,
  );
  await store.classes.assignVm({ clusterId: 'lab', vmid: 101, personId: bob.id, classId: 'cs101', role: 'student' }, 1);
  await store.classes.assignVm(
    { clusterId: 'lab', vmid: 102, personId: carol.id, classId: 'cs202', role: 'student' },
    1,
  );
  await services.sync!.fullSync({ force: true });
  const router = new CommandRouter(services, builtinPlugins, { rateLimit: { perMinute: 1000 } });
  return {
    sim,
    store,
    clusters,
    services,
    router,
    console: handler,
    clock,
    url,
    async link(username, vm) {
      const reply = await router.invoke({
        platform: 'slack',
        userId: slackIds[username],
        command: 'myvm',
        text: `console${vm ? ` ${vm}` : ''}`,
      });
      const found = /(http:\/\/\S+\/console\/[A-Za-z0-9_-]{43})/.exec(reply.text);
      return { text: reply.text, ...(found ? { url: found[1] } : {}) };
    },
    async close() {
      await handler.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await services.sync?.stop();
      await clusters.close();
      await store.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An HTTP exchange with the console server. */
export function http(
  url: string,
  options: { method?: string; origin?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.origin ? { origin: options.origin } : {} },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A VNC viewer as noVNC is one, on the console's WebSocket; records every byte it receives. */
export interface TestViewer {
  ws: WebSocket;
  received: Buffer[];
  read(n: number): Promise<Buffer>;
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens the console WebSocket of a session; resolves with the viewer, or the HTTP refusal. */
export function openViewer(url: string, origin: string): Promise<TestViewer | { status: number }> {
  const ws = new WebSocket(url, ['binary'], { origin });
  const received: Buffer[] = [];
  let buffer = Buffer.alloc(0);
  let wake = (): void => undefined;
  ws.on('message', (data: Buffer) => {
    received.push(data);
    buffer = Buffer.concat([buffer, data]);
    wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const read = async (n: number): Promise<Buffer> => {
    while (buffer.length < n) {
      if (ws.readyState === WebSocket.CLOSED) throw new Error(`closed after ${buffer.length} of ${n} bytes`);
      await Promise.race([new Promise<void>((r) => (wake = r)), closed]);
    }
    const out = buffer.subarray(0, n);
    buffer = buffer.subarray(n);
    return out;
  };
  return new Promise((resolve) => {
    ws.once('open', () => resolve({ ws, received, read, closed }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.once('error', () => resolve({ status: 0 }));
  });
}

/** noVNC's side of the handshake the relay offers: RFB 3.8, security "None", ClientInit; returns the desktop name. */
export async function viewerHandshake(viewer: TestViewer): Promise<{ name: string; width: number; height: number }> {
  const version = (await viewer.read(12)).toString('latin1');
  if (version !== 'RFB 003.008\n') throw new Error(`unexpected version ${JSON.stringify(version)}`);
  viewer.ws.send(Buffer.from('RFB 003.008\n'));
  const types = [...(await viewer.read(2))];
  if (types.join() !== '1,1') throw new Error(`security types ${types.join()}`);
  viewer.ws.send(Buffer.from([1]));
  const result = (await viewer.read(4)).readUInt32BE(0);
  if (result !== 0) throw new Error(`security result ${result}`);
  viewer.ws.send(Buffer.from([1]));
  const init = await viewer.read(24);
  return {
    width: init.readUInt16BE(0),
    height: init.readUInt16BE(2),
    name: (await viewer.read(init.readUInt32BE(20))).toString(),
  };
}

/** Opens a link the way the page's script does: the page, then the same-origin POST; the session's WebSocket URL. */
export async function openLink(
  lab: ConsoleLab,
  link: string,
): Promise<{ wsUrl: string; vmName: string } | { status: number; body: string }> {
  const page = await http(link);
  if (page.status !== 200) return { status: page.status, body: page.body };
  const session = await http(`${link}/session`, { method: 'POST', origin: lab.url });
  if (session.status !== 200) return { status: session.status, body: session.body };
  const data = JSON.parse(session.body) as { sessionId: string; clusterId: string; vmid: number; vmName: string };
  return {
    wsUrl: `${lab.url.replace('http', 'ws')}/console/ws/${data.clusterId}/${data.vmid}/${data.sessionId}`,
    vmName: data.vmName,
  };
}

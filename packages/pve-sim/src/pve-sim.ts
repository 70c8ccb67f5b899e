import { randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerAccessRoutes } from './handlers/access-routes.js';
import { registerBulkActionRoutes } from './handlers/bulk-action-routes.js';
import { registerClusterRoutes } from './handlers/cluster-routes.js';
import { registerGuestRoutes } from './handlers/guest-routes.js';
import { registerCloudinitRoutes } from './handlers/cloudinit-routes.js';
import { registerSnapshotRoutes } from './handlers/snapshot-routes.js';
import { registerAgentPasswordRoutes } from './handlers/agent-password-routes.js';
import type { RouteTable, SimContext } from './handlers/route-table.js';
import { registerSdnRoutes } from './handlers/sdn-routes.js';
import { registerTaskRoutes } from './handlers/task-routes.js';
import { registerVncRoutes } from './handlers/vnc-routes.js';
import { handleVncUpgrade } from './http/vnc-websocket.js';
import { VncProxies } from './model/vnc-proxies.js';
import { WebSocketServer } from 'ws';
import { SimAuth } from './http/auth.js';
import { AccessControl } from './model/access-control.js';
import { handleControlRequest } from './http/control-api.js';
import { FaultInjector } from './http/fault-injector.js';
import { handlePveRequest } from './http/pve-request-handler.js';
import { RequestStats } from './http/request-stats.js';
import type { ClusterState } from './model/cluster-state.js';
import { GuestOperations } from './model/guest-operations.js';
import { buildClusterState, loadScenario, parseScenario, type Scenario, type ScenarioInput } from './scenario.js';
import { loadSchemaIndex } from './schema/schema-index.js';
import { seededRandom } from './seeded-random.js';
import { SimTime } from './sim-time.js';

/** Options of `startPveSim`. */
export interface PveSimOptions {
  /** A preset name (`small`, `school`, `large`), a scenario file path, or a scenario object. @defaultValue `'small'` */
  scenario?: string | ScenarioInput;
  /** @defaultValue `0` (any free port) */
  port?: number;
  /** Loopback only by default. @defaultValue `'127.0.0.1'` */
  host?: string;
  /** Runs every simulated duration this many times faster. @defaultValue `1` */
  timeScale?: number;
  /** Seed of every random choice (MACs, fault rates, generated guests). @defaultValue `1` */
  seed?: number;
  /** An API token as `USER@REALM!ID=SECRET`; one with a random secret is made when absent. */
  token?: string;
  /** PEM certificate and key to serve instead of the shipped test certificate. */
  tls?: { cert: string; key: string };
  /** Overrides the scenario's `races.cloneRate`: the share of clones that lose a lock race to another client. */
  cloneRaceRate?: number;
  /** Overrides the scenario's `pveVersion` (`8.4.1`, `9.1.3`): what differs between versions follows it. */
  pveVersion?: string;
  /**
   * Overrides the scenario's `races.crossNodeVmidRate`: the share of clones whose new VMID another
   * client takes on another node meanwhile, so the clone task fails with `… failed: File exists`.
   */
  crossNodeVmidRaceRate?: number;
  /** Overrides the scenario's `guestBehaviour.ignoreAcpiRate`: the share of guests that never power off on a shutdown request. */
  ignoreAcpiRate?: number;
}

/** A running simulator. */
export interface PveSim {
  /** `https://127.0.0.1:PORT`. */
  url: string;
  /** SHA-256 fingerprint of the served certificate, as PVE shows it (`AA:BB:…`). */
  fingerprint: string;
  /** PEM of the CA that signed the shipped certificate (trust it with `tls.ca`). */
  ca: string;
  tokenId: string;
  tokenSecret: string;
  state: ClusterState;
  ops: GuestOperations;
  auth: SimAuth;
  /** Users, groups, roles, ACLs and tokens: what every request is checked against. */
  access: AccessControl;
  faults: FaultInjector;
  /** VNC proxies `vncproxy` started and their connections. */
  vnc: VncProxies;
  requests: RequestStats;
  time: SimTime;
  scenario: Scenario;
  /** Sets a node online or offline (its VMs show `unknown`, proxied calls get 595). */
  setNodeOnline(node: string, online: boolean): void;
  /** Sets (string) or removes (null) raw config lines of a guest, bypassing PVE's checks. */
  editGuestConfig(vmid: number, changes: Record<string, string | null>): void;
  /** Makes a guest ignore (or obey) shutdown requests from now on. */
  setIgnoresAcpi(vmid: number, ignores: boolean): void;
  /**
   * Sets who is logged in to a running VM, as its guest agent's `get-users` reports them (login time
   * now); `[]` logs everyone out. A stop logs everyone out.
   */
  setGuestUsers(vmid: number, users: ReadonlyArray<string | { user: string; domain?: string }>): void;
  /** Counts of nodes, guests, templates, running guests and tasks. */
  summary(): Record<string, unknown>;
  close(): Promise<void>;
}

function assetPath(...parts: string[]): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const base of [resolve(here, '../assets'), resolve(here, '../../assets')]) {
    const candidate = resolve(base, ...parts);
    try {
      readFileSync(candidate);
      return candidate;
    } catch {
      // try the next layout (dist/ vs src/)
    }
  }
  throw new Error(`pve-sim: asset ${parts.join('/')} not found`);
}

/** Starts a simulated PVE cluster on an HTTPS loopback port. */
export async function startPveSim(options: PveSimOptions = {}): Promise<PveSim> {
  const loaded =
    typeof options.scenario === 'object' ? parseScenario(options.scenario) : loadScenario(options.scenario ?? 'small');
  if (options.pveVersion !== undefined && !/^\d+\.\d+(\.\d+)?$/.test(options.pveVersion))
    throw new Error(`pve-sim: pveVersion must look like 9.1.3, got '${options.pveVersion}'`);
  if (options.ignoreAcpiRate !== undefined && !(options.ignoreAcpiRate >= 0 && options.ignoreAcpiRate <= 1))
    throw new Error(`pve-sim: ignoreAcpiRate must be between 0 and 1, got ${options.ignoreAcpiRate}`);
  const scenario: Scenario = {
    ...loaded,
    ...(options.pveVersion !== undefined ? { pveVersion: options.pveVersion } : {}),
    ...(options.ignoreAcpiRate !== undefined ? { guestBehaviour: { ignoreAcpiRate: options.ignoreAcpiRate } } : {}),
  };
  const time = new SimTime(options.timeScale ?? 1);
  const random = seededRandom(options.seed ?? 1);
  const state = buildClusterState(scenario, time, random);
  const access = new AccessControl(
    {
      pools: () => state.pools,
      vmsOf: (pool) => [...state.guests.values()].filter((g) => g.pool === pool).map((g) => g.vmid),
      storagesOf: () => [],
    },
    scenario.pveVersion,
  );
  const auth = new SimAuth(time, access);
  for (const user of scenario.users) auth.addUser(user);
  for (const token of scenario.tokens) auth.addToken(token);
  for (const role of scenario.roles) {
    try {
      access.addRole(role.roleid, role.privs);
    } catch (error) {
      throw new Error(
        `pve-sim: scenario role '${role.roleid}': ${(error as Error).message} on PVE ${scenario.pveVersion}`,
      );
    }
  }
  for (const entry of scenario.acl) {
    for (const roleid of typeof entry.roles === 'string' ? entry.roles.split(',') : entry.roles) {
      for (const [type, ids] of [
        ['user', entry.users],
        ['group', entry.groups],
        ['token', entry.tokens],
      ] as const) {
        for (const ugid of ids) access.addAcl({ path: entry.path, roleid, type, ugid, propagate: entry.propagate });
      }
    }
  }
  let tokenId = 'root@pam!pve-sim';
  let tokenSecret: string = randomUUID();
  if (options.token) {
    const m = /^([^@!\s]+@[^@!\s]+![A-Za-z][A-Za-z0-9._-]*)=(.+)$/.exec(options.token);
    if (!m)
      throw new Error(
        `pve-sim: --token must look like USER@REALM!TOKENID=SECRET, got '${options.token.replace(/=.*/, '=…')}'`,
      );
    tokenId = m[1]!;
    tokenSecret = m[2]!;
  }
  auth.addToken({
    tokenId,
    secret: tokenSecret,
    privsep: scenario.tokens.find((t) => t.tokenId === tokenId)?.privsep ?? false,
  });
  // The simulator's own token is an administrator: root@pam's, or its user gets Administrator on /.
  const tokenUser = tokenId.split('!')[0]!;
  if (tokenUser !== 'root@pam' && !scenario.tokens.some((t) => t.tokenId === tokenId))
    access.addAcl({ path: '/', roleid: 'Administrator', type: 'user', ugid: tokenUser });

  const ops = new GuestOperations(state, random, access, scenario.pveVersion);
  ops.cloneRaceRate = options.cloneRaceRate ?? scenario.races.cloneRate;
  ops.crossNodeVmidRaceRate = options.crossNodeVmidRaceRate ?? scenario.races.crossNodeVmidRate;
  const cert = options.tls?.cert ?? readFileSync(assetPath('tls', 'server.pem'), 'utf8');
  const key = options.tls?.key ?? readFileSync(assetPath('tls', 'server-key.pem'), 'utf8');
  const ca = readFileSync(assetPath('tls', 'ca.pem'), 'utf8');
  const ctx: SimContext = {
    state,
    ops,
    auth,
    access,
    schema: loadSchemaIndex(),
    pveVersion: scenario.pveVersion,
    vnc: new VncProxies(time),
    caPem: ca,
  };
  const routes: RouteTable = new Map();
  registerClusterRoutes(routes);
  registerGuestRoutes(routes);
  registerCloudinitRoutes(routes);
  registerSnapshotRoutes(routes);
  registerAgentPasswordRoutes(routes);
  registerTaskRoutes(routes);
  registerAccessRoutes(routes);
  registerVncRoutes(routes);
  registerBulkActionRoutes(routes);
  registerSdnRoutes(routes);
  const faults = new FaultInjector(random);
  const requests = new RequestStats();

  const fingerprint = new X509Certificate(cert).fingerprint256;

  const sim: PveSim = {
    url: '',
    fingerprint,
    ca,
    tokenId,
    tokenSecret,
    state,
    ops,
    auth,
    access,
    faults,
    vnc: ctx.vnc,
    requests,
    time,
    scenario,
    setNodeOnline(node, online) {
      const n = state.requireNode(node);
      n.online = online;
      if (online) n.bootedAt = time.now();
      else for (const g of state.guests.values()) if (g.node === node) g.status = 'stopped';
    },
    editGuestConfig(vmid, changes) {
      const guest = state.guests.get(vmid);
      if (!guest) throw new Error(`no guest ${vmid}`);
      for (const [k, v] of Object.entries(changes)) {
        if (v === null) delete guest.config[k];
        else guest.config[k] = v;
      }
    },
    setIgnoresAcpi(vmid, ignores) {
      const guest = state.guests.get(vmid);
      if (!guest) throw new Error(`no guest ${vmid}`);
      guest.ignoresAcpi = ignores;
    },
    setGuestUsers(vmid, users) {
      const guest = state.guests.get(vmid);
      if (!guest) throw new Error(`no guest ${vmid}`);
      if (guest.status !== 'running') throw new Error(`guest ${vmid} is not running: no one can log in`);
      const known = new Map((guest.loggedIn ?? []).map((u) => [u.user, u]));
      guest.loggedIn = users.map((u) => {
        const { user, domain } = typeof u === 'string' ? { user: u, domain: undefined } : u;
        return known.get(user) ?? { user, loginAt: time.now(), ...(domain ? { domain } : {}) };
      });
    },
    summary() {
      const guests = [...state.guests.values()];
      return {
        cluster: state.name,
        nodes: [...state.nodes.values()].map((n) => ({ name: n.name, online: n.online })),
        guests: guests.length,
        templates: guests.filter((g) => g.config.template === '1').length,
        running: guests.filter((g) => g.status === 'running').length,
        tasksRunning: state.tasks.running().length,
        timeScale: time.timeScale,
      };
    },
    close: () => Promise.resolve(),
  };

  const server: Server = createServer({ cert, key }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://pve-sim');
    const work = url.pathname.startsWith('/_sim/')
      ? handleControlRequest(req, res, url, sim)
      : url.pathname.startsWith('/api2/json')
        ? handlePveRequest(req, res, url, { ctx, routes, faults, stats: requests })
        : Promise.resolve(
            void res.writeHead(404, { 'content-type': 'text/plain' }).end('pve-sim serves /api2/json and /_sim only\n'),
          );
    work.catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  server.keepAliveTimeout = 30_000;
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => handleVncUpgrade(req, socket, head, { ctx, wss, stats: requests }));
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolveListen());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  sim.url = `https://${host}:${address.port}`;
  sim.close = async () => {
    time.close();
    for (const client of wss.clients) client.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return sim;
}

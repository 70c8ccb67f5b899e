import { pvePath } from '@lab/proxmox-sdk';
import {
  auditConsole,
  authenticateToVncServer,
  ByteQueue,
  CONSOLE_END_MESSAGES,
  ConsoleVmNotRunningError,
  greetVncViewerWithoutAuth,
  isLabError,
  requestVncProxy,
  UnknownVmError,
  vncWebSocketPath,
  watchConsoleSession,
  type ClusterApis,
  type Clock,
  type ConsoleEndReason,
  type ConsoleGrant,
  type ConsoleGrants,
  type Logger,
  type Store,
} from '@lab/proxmox-sdk';
import type WebSocket from 'ws';
import { z } from 'zod';

/** What a relay needs. */
export interface ConsoleRelayDeps {
  store: Store;
  clusters: ClusterApis;
  grants: ConsoleGrants;
  clock: Clock;
  logger: Logger;
  /** Opens PVE's WebSocket at `path` (below `/api2/json`) with the lab's credentials. */
  openPveSocket: (clusterId: string, path: string) => Promise<WebSocket>;
  /** How often the session checks the VM and the person's access. @defaultValue `DefaultConsoleOptions.watchIntervalMs` */
  watchIntervalMs?: number;
}

/** WebSocket close codes the browser gets: the session ended (4000) or never started (4001). */
export const CONSOLE_CLOSE_CODES = { ended: 4000, failed: 4001 } as const;

const statusSchema = z.object({ status: z.string() }).loose();
/** A WebSocket close reason is at most 123 bytes. */
const closeReason = (text: string) =>
  Buffer.from(text)
    .subarray(0, 123)
    .toString()
    .replace(/\uFFFD$/, '');

/**
 * One console session: the browser's WebSocket on one side, PVE's `vncwebsocket` on the other.
 * The relay asks PVE for a VNC proxy with the lab's credentials, authenticates to it with the
 * proxy's password, greets the browser with security type "None" and then passes bytes both ways
 * unchanged, until the browser leaves, PVE closes, or `watchConsoleSession` ends it (time limit,
 * VM stopped, access revoked). The open and the close are audited with the chat identity.
 */
export class ConsoleRelay {
  readonly #deps: ConsoleRelayDeps;
  readonly #browser: WebSocket;
  readonly #grant: ConsoleGrant;
  readonly #abort = new AbortController();
  #pve: WebSocket | undefined;
  #openedAt: number | undefined;
  #ended: Promise<void> | undefined;
  /** Settles when the session has ended and its close is audited. */
  readonly done: Promise<void>;
  #resolveDone!: () => void;

  constructor(deps: ConsoleRelayDeps, browser: WebSocket, grant: ConsoleGrant) {
    this.#deps = deps;
    this.#browser = browser;
    this.#grant = grant;
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** Connects the two sides; never throws (failures close the browser's socket with a reason and are audited). */
  async start(): Promise<void> {
    const { store, clusters, grants, clock, logger } = this.#deps;
    const grant = this.#grant;
    const browserBytes = new ByteQueue();
    let relaying = false;
    this.#browser.on('message', (data: Buffer) => {
      if (relaying) this.#pve?.send(data);
      else browserBytes.push(data);
    });
    this.#browser.on('close', () => {
      browserBytes.end();
      void this.end('closed');
    });
    let node: string | undefined;
    try {
      const vm = await store.inventory.get(grant.clusterId, grant.vmid);
      if (!vm) throw new UnknownVmError(grant.clusterId, grant.vmid);
      node = vm.node;
      const api = clusters.get(grant.clusterId);
      const live = await api.get(pvePath`/nodes/${vm.node}/qemu/${vm.vmid}/status/current`, undefined, {
        schema: statusSchema,
      });
      if (live.status !== 'running')
        throw new ConsoleVmNotRunningError({
          clusterId: grant.clusterId,
          vmid: grant.vmid,
          name: vm.name,
          status: live.status,
        });
      const proxy = await requestVncProxy(api, vm.node, vm.vmid);
      const pve = await this.#deps.openPveSocket(grant.clusterId, vncWebSocketPath(proxy));
      this.#pve = pve;
      const pveBytes = new ByteQueue();
      pve.on('message', (data: Buffer) => {
        if (relaying) this.#browser.send(data);
        else pveBytes.push(data);
      });
      pve.on('close', () => {
        pveBytes.end();
        if (relaying) void this.#pveClosed(api, vm.node);
      });
      pve.on('error', (error) =>
        logger.warn('console: PVE WebSocket error', { clusterId: grant.clusterId, vmid: grant.vmid, error }),
      );
      try {
        await authenticateToVncServer(pveBytes, (bytes) => pve.send(bytes), proxy.password);
      } catch (error) {
        // PVE drops the proxy of a VM that stopped meanwhile before saying anything.
        const now = await api
          .get(pvePath`/nodes/${vm.node}/qemu/${vm.vmid}/status/current`, undefined, { schema: statusSchema })
          .catch(() => undefined);
        if (now && now.status !== 'running')
          throw new ConsoleVmNotRunningError({
            clusterId: grant.clusterId,
            vmid: grant.vmid,
            name: vm.name,
            status: now.status,
          });
        throw error;
      }
      await greetVncViewerWithoutAuth(browserBytes, (bytes) => this.#browser.send(bytes));
      relaying = true;
      const early = browserBytes.drain();
      if (early.length) pve.send(early);
      const fromPve = pveBytes.drain();
      if (fromPve.length) this.#browser.send(fromPve);
      this.#openedAt = clock.now();
      await auditConsole({ store, clock }, grant, 'open', 'ok', { node: vm.node, vmName: vm.name });
      logger.info('console session opened', {
        clusterId: grant.clusterId,
        vmid: grant.vmid,
        username: grant.person.username,
      });
      if (this.#ended) return;
      void watchConsoleSession(
        { api, grants, clock, logger },
        { grant, node: vm.node, openedAt: this.#openedAt },
        {
          signal: this.#abort.signal,
          ...(this.#deps.watchIntervalMs ? { intervalMs: this.#deps.watchIntervalMs } : {}),
        },
      ).then((reason) => this.end(reason));
    } catch (error) {
      if (this.#ended) {
        this.#pve?.terminate();
        return;
      }
      const message = isLabError(error)
        ? error.message
        : 'The console could not be opened; try again, and if it keeps failing tell your lab admin.';
      if (!isLabError(error))
        logger.error('console: could not open a session', { clusterId: grant.clusterId, vmid: grant.vmid, error });
      await auditConsole({ store, clock }, grant, 'open', 'failed', {
        ...(node ? { node } : {}),
        error: isLabError(error) ? error.code : 'error',
        message,
      });
      this.#close(CONSOLE_CLOSE_CODES.failed, message);
      this.#ended = Promise.resolve();
      this.#resolveDone();
    }
  }

  /** Ends the session (once) for `reason`, closing both sides and auditing the close. */
  end(reason: ConsoleEndReason): Promise<void> {
    this.#ended ??= (async () => {
      this.#abort.abort();
      this.#close(reason === 'closed' ? 1000 : CONSOLE_CLOSE_CODES.ended, CONSOLE_END_MESSAGES[reason]);
      if (this.#openedAt !== undefined) {
        const durationMs = this.#deps.clock.now() - this.#openedAt;
        await auditConsole({ store: this.#deps.store, clock: this.#deps.clock }, this.#grant, 'close', 'ok', {
          reason,
          durationMs,
        }).catch((error: unknown) => this.#deps.logger.error('console: could not audit a close', { error }));
        this.#deps.logger.info('console session closed', {
          clusterId: this.#grant.clusterId,
          vmid: this.#grant.vmid,
          reason,
          durationMs,
        });
      }
      this.#resolveDone();
    })();
    return this.#ended;
  }

  async #pveClosed(api: ReturnType<ClusterApis['get']>, node: string): Promise<void> {
    const now = await api
      .get(pvePath`/nodes/${node}/qemu/${this.#grant.vmid}/status/current`, undefined, { schema: statusSchema })
      .catch(() => undefined);
    await this.end(now && now.status !== 'running' ? 'vm-stopped' : 'closed');
  }

  #close(code: number, reason: string): void {
    const { readyState, OPEN, CONNECTING } = this.#browser;
    if (readyState === OPEN || readyState === CONNECTING) this.#browser.close(code, closeReason(reason));
    this.#pve?.terminate();
  }
}

import type { Duplex } from 'node:stream';
import { isLabError } from '../errors/lab-error.js';
import { UnknownVmError } from '../inventory/inventory-errors.js';
import type { Clock } from '../ports/clock.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import type { PveQemu } from '../pve/qemu-resource.js';
import { pveResources } from '../pve/pve-resources.js';
import type { Store } from '../store/store.js';
import { auditConsole } from './console-audit.js';
import { ConsoleVmNotRunningError } from './console-errors.js';
import type { ConsoleGrant, ConsoleGrants } from './console-grants.js';
import { CONSOLE_END_MESSAGES, watchConsoleSession, type ConsoleEndReason } from './console-watch.js';
import { authenticateToVncServer, greetVncViewerWithoutAuth } from './rfb-handshake.js';
import { streamReader } from './stream-reader.js';

/** What `relayVncConsole` needs. */
export interface VncConsoleRelayDeps {
  store: Store;
  clusters: ClusterApis;
  grants: ConsoleGrants;
  clock: Clock;
  logger?: Logger;
  /** How often the session checks the VM and the person's access. @defaultValue `DefaultConsoleOptions.watchIntervalMs` */
  watchIntervalMs?: number;
}

/** How a console session ended: `ended` once it was open, `failed` when it never opened. */
export type ConsoleOutcome =
  { kind: 'ended'; reason: ConsoleEndReason; message: string } | { kind: 'failed'; code: string; message: string };

/** The two sides of a session, as byte streams; the front end owns their transport. */
export interface VncConsoleEnds {
  /** The viewer's bytes (noVNC's WebSocket, as a stream). */
  viewer: Duplex;
  /** Opens PVE's `vncwebsocket` at `path` (below `/api2/json`) with the lab's credentials, as a byte stream. */
  openPve(path: string): Promise<Duplex>;
  /**
   * Closes the viewer's side and tells the person why where the transport can (a WebSocket close
   * code and reason). Called once, after the relay let go of the viewer's stream.
   */
  closeViewer(outcome: ConsoleOutcome): void;
}

/** One console session, running. */
export interface VncConsoleSession {
  /** Settles with the outcome once the session has ended and its close is audited. */
  readonly done: Promise<ConsoleOutcome>;
  /** Ends the session (once) for `reason`; the front end calls it with `closed` when the viewer leaves. */
  end(reason: ConsoleEndReason): Promise<ConsoleOutcome>;
  /** Bytes the relay holds in its stream buffers, waiting for the slower side. */
  readonly bufferedBytes: number;
}

const COULD_NOT_OPEN = 'The console could not be opened; try again, and if it keeps failing tell your lab admin.';

/**
 * Relays one console session between a viewer and PVE: checks that the VM runs, asks PVE for a
 * VNC proxy (`vncproxy`, WebSocket mode) with the lab's credentials, opens its `vncwebsocket`,
 * authenticates with the proxy's password, greets the viewer with security type "None" (so no
 * PVE credential ever reaches it) and then pipes bytes both ways unchanged, with backpressure: a
 * side that reads slowly pauses the other. The session ends when either side leaves, or when
 * `watchConsoleSession` ends it (time limit, VM stopped, access revoked); the open and the close
 * are audited with the chat identity. Never throws: failures reach `closeViewer` and `done`.
 *
 * @example
 * ```ts
 * const session = relayVncConsole(deps, grant, {
 *   viewer: createWebSocketStream(browserSocket),
 *   openPve: async (path) => createWebSocketStream(await openPveWebSocket(path)),
 *   closeViewer: (outcome) => browserSocket.close(outcome.kind === 'failed' ? 4001 : 4000, outcome.message),
 * });
 * browserSocket.on('close', () => void session.end('closed'));
 * ```
 */
export function relayVncConsole(
  deps: VncConsoleRelayDeps,
  grant: ConsoleGrant,
  ends: VncConsoleEnds,
): VncConsoleSession {
  const session = new ConsoleRelaySession(deps, grant, ends);
  void session.start();
  return session;
}

class ConsoleRelaySession implements VncConsoleSession {
  readonly #deps: VncConsoleRelayDeps;
  readonly #grant: ConsoleGrant;
  readonly #ends: VncConsoleEnds;
  readonly #logger: Logger;
  readonly #abort = new AbortController();
  #pve: Duplex | undefined;
  #openedAt: number | undefined;
  #ended: Promise<ConsoleOutcome> | undefined;
  #resolveDone!: (outcome: ConsoleOutcome) => void;
  readonly done: Promise<ConsoleOutcome>;

  constructor(deps: VncConsoleRelayDeps, grant: ConsoleGrant, ends: VncConsoleEnds) {
    this.#deps = deps;
    this.#grant = grant;
    this.#ends = ends;
    this.#logger = deps.logger ?? silentLogger;
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  get bufferedBytes(): number {
    const held = (s: Duplex | undefined) => (s ? s.writableLength + s.readableLength : 0);
    return held(this.#ends.viewer) + held(this.#pve);
  }

  async start(): Promise<void> {
    const { store, clusters, grants, clock } = this.#deps;
    const grant = this.#grant;
    const viewer = this.#ends.viewer;
    const facts = { clusterId: grant.clusterId, vmid: grant.vmid };
    viewer.on('error', (error) => this.#logger.debug('console: viewer stream error', { ...facts, error }));
    viewer.once('end', () => void this.end('closed'));
    viewer.once('close', () => void this.end('closed'));
    let node: string | undefined;
    try {
      const vm = await store.inventory.get(grant.clusterId, grant.vmid);
      if (!vm) throw new UnknownVmError(grant.clusterId, grant.vmid);
      node = vm.node;
      const qemu = pveResources(clusters.get(grant.clusterId)).qemu(vm.node, vm.vmid);
      const notRunning = (status: string) => new ConsoleVmNotRunningError({ ...facts, name: vm.name, status });
      const live = await qemu.status();
      if (live.status !== 'running') throw notRunning(live.status);
      const proxy = await qemu.vncProxy({ websocket: true });
      const pve = await this.#ends.openPve(qemu.vncWebSocketPath({ port: proxy.port, vncticket: proxy.ticket }));
      this.#pve = pve;
      pve.on('error', (error) => this.#logger.warn('console: PVE WebSocket error', { ...facts, error }));
      if (this.#ended) throw new Error('the viewer left');
      try {
        // PVE < 8.0 gives no `password`: the ticket is the VNC password there.
        await authenticateToVncServer(streamReader(pve), (bytes) => pve.write(bytes), proxy.password ?? proxy.ticket);
      } catch (error) {
        // PVE drops the proxy of a VM that stopped meanwhile before saying anything.
        const now = await qemu.status().catch(() => undefined);
        if (now && now.status !== 'running') throw notRunning(now.status);
        throw error;
      }
      await greetVncViewerWithoutAuth(streamReader(viewer), (bytes) => viewer.write(bytes));
      if (this.#ended) throw new Error('the viewer left');
      pve.once('end', () => void this.#pveClosed(qemu));
      pve.once('close', () => void this.#pveClosed(qemu));
      // What either side sent during the handshake is still in its stream's buffer: pipe delivers it first.
      pve.pipe(viewer, { end: false });
      viewer.pipe(pve, { end: false });
      this.#openedAt = clock.now();
      await auditConsole({ store, clock }, grant, 'open', 'ok', { node: vm.node, vmName: vm.name });
      this.#logger.info('console session opened', { ...facts, username: grant.person.username });
      if (this.#ended) return;
      void watchConsoleSession(
        { api: clusters.get(grant.clusterId), grants, clock, logger: this.#logger },
        { grant, node: vm.node, openedAt: this.#openedAt },
        {
          signal: this.#abort.signal,
          ...(this.#deps.watchIntervalMs ? { intervalMs: this.#deps.watchIntervalMs } : {}),
        },
      ).then((reason) => this.end(reason));
    } catch (error) {
      if (this.#ended) {
        this.#pve?.destroy();
        return;
      }
      const message = isLabError(error) ? error.message : COULD_NOT_OPEN;
      if (!isLabError(error)) this.#logger.error('console: could not open a session', { ...facts, error });
      await auditConsole({ store, clock }, grant, 'open', 'failed', {
        ...(node ? { node } : {}),
        error: isLabError(error) ? error.code : 'error',
        message,
      }).catch((auditError: unknown) =>
        this.#logger.error('console: could not audit a failed open', { error: auditError }),
      );
      await this.#finish({ kind: 'failed', code: isLabError(error) ? error.code : 'LAB_CONSOLE_ERROR', message });
    }
  }

  end(reason: ConsoleEndReason): Promise<ConsoleOutcome> {
    return this.#finish({ kind: 'ended', reason, message: CONSOLE_END_MESSAGES[reason] });
  }

  #finish(outcome: ConsoleOutcome): Promise<ConsoleOutcome> {
    this.#ended ??= (async () => {
      this.#abort.abort();
      const viewer = this.#ends.viewer;
      this.#pve?.unpipe(viewer);
      viewer.unpipe();
      try {
        this.#ends.closeViewer(outcome);
      } catch (error) {
        this.#logger.warn('console: could not close the viewer', { error });
      }
      this.#pve?.destroy();
      if (this.#openedAt !== undefined && outcome.kind === 'ended') {
        const durationMs = this.#deps.clock.now() - this.#openedAt;
        await auditConsole({ store: this.#deps.store, clock: this.#deps.clock }, this.#grant, 'close', 'ok', {
          reason: outcome.reason,
          durationMs,
        }).catch((error: unknown) => this.#logger.error('console: could not audit a close', { error }));
        this.#logger.info('console session closed', {
          clusterId: this.#grant.clusterId,
          vmid: this.#grant.vmid,
          reason: outcome.reason,
          durationMs,
        });
      }
      this.#resolveDone(outcome);
      return outcome;
    })();
    return this.#ended;
  }

  async #pveClosed(qemu: PveQemu): Promise<void> {
    if (this.#ended) return;
    const now = await qemu.status().catch(() => undefined);
    await this.end(now && now.status !== 'running' ? 'vm-stopped' : 'closed');
  }
}

import {
  relayVncConsole,
  type ClusterApis,
  type Clock,
  type ConsoleEndReason,
  type ConsoleGrant,
  type ConsoleGrants,
  type ConsoleOutcome,
  type Logger,
  type Store,
  type VncConsoleSession,
} from '@lab/proxmox-sdk';
import { createWebSocketStream, type WebSocket } from 'ws';

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

/** A WebSocket close reason is at most 123 bytes. */
const closeReason = (text: string) =>
  Buffer.from(text)
    .subarray(0, 123)
    .toString()
    .replace(/\uFFFD$/, '');

const closeCode = (outcome: ConsoleOutcome): number =>
  outcome.kind === 'failed'
    ? CONSOLE_CLOSE_CODES.failed
    : outcome.reason === 'closed'
      ? 1000
      : CONSOLE_CLOSE_CODES.ended;

/**
 * One console session over WebSockets: the browser's on one side, PVE's `vncwebsocket` on the
 * other, both as streams for the SDK's `relayVncConsole`, which does the rest (VNC handshakes,
 * piping with backpressure, watching, auditing). The browser learns why the session ended from
 * the close code (`CONSOLE_CLOSE_CODES`) and the close reason, a sentence for the person.
 */
export class ConsoleRelay {
  readonly #deps: ConsoleRelayDeps;
  readonly #browser: WebSocket;
  readonly #grant: ConsoleGrant;
  #pve: WebSocket | undefined;
  #session: VncConsoleSession | undefined;
  /** Settles when the session has ended and its close is audited. */
  readonly done: Promise<void>;
  #resolveDone!: () => void;

  constructor(deps: ConsoleRelayDeps, browser: WebSocket, grant: ConsoleGrant) {
    this.#deps = deps;
    this.#browser = browser;
    this.#grant = grant;
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** Bytes this session holds in memory for the slower side (stream buffers and unsent WebSocket frames). */
  get bufferedBytes(): number {
    return (this.#session?.bufferedBytes ?? 0) + this.#browser.bufferedAmount + (this.#pve?.bufferedAmount ?? 0);
  }

  /** Connects the two sides; never throws (a failure closes the browser's socket with a reason and is audited). */
  start(): void {
    const { clusterId } = this.#grant;
    this.#session = relayVncConsole(this.#deps, this.#grant, {
      viewer: createWebSocketStream(this.#browser),
      openPve: async (path) => {
        const pve = await this.#deps.openPveSocket(clusterId, path);
        this.#pve = pve;
        return createWebSocketStream(pve);
      },
      closeViewer: (outcome) => {
        const { readyState, OPEN, CONNECTING } = this.#browser;
        if (readyState === OPEN || readyState === CONNECTING)
          this.#browser.close(closeCode(outcome), closeReason(outcome.message));
      },
    });
    this.#browser.once('close', () => void this.#session?.end('closed'));
    void this.#session.done.then(() => this.#resolveDone());
  }

  /** Ends the session (once) for `reason`, closing both sides and auditing the close. */
  async end(reason: ConsoleEndReason): Promise<void> {
    if (this.#session) await this.#session.end(reason);
    else {
      this.#browser.terminate();
      this.#resolveDone();
    }
  }
}

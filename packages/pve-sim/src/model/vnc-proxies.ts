import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SimTime } from '../sim-time.js';
import { die } from '../sim-error.js';

/** A VNC proxy started by `POST …/vncproxy`, waiting for (or serving) its one connection. */
export interface SimVncProxy {
  port: number;
  node: string;
  vmid: number;
  /** The auth id that asked for it (`user@realm` or `user@realm!token`). */
  user: string;
  /** The VNC password (8 characters '!'..'`', PVE::Ticket::generate_vnc_password). */
  password: string;
  /** `<password>:PVEVNC:<hex time>::<signature>`, as PVE ≥ 8 answers it. */
  ticket: string;
  upid: string;
  /** Simulated ms it started; it accepts one connection within 10 s (qemu-server's `$timeout`). */
  startedAt: number;
  connected: boolean;
  /** Ends the proxy's task (called when its connection closes); `error` fails it. */
  finish: (error?: string) => void;
}

/** PVE's VNC ports: `PVE::Tools::next_vnc_port` picks from 5900–5999. */
const FIRST_PORT = 5900;
const LAST_PORT = 5999;
/** How long a VNC ticket is valid around its time (PVE::AccessControl `verify_vnc_ticket`: -20 … 40 s). */
const TICKET_MIN_AGE_S = -20;
const TICKET_MAX_AGE_S = 40;
/** How long the proxy waits for its connection (qemu-server `vncproxy`: `alarm $timeout`, 10 s). */
export const VNC_ACCEPT_TIMEOUT_MS = 10_000;
/** How long the VNC password works after the proxy started (qm `vncproxy`: `expire_password +30`). */
export const VNC_PASSWORD_LIFETIME_MS = 30_000;

/**
 * The node's VNC proxies and the tickets that authorise their WebSockets. Tickets are signed like
 * PVE's short-lived tickets (`PVEVNC:<hex time>::<signature>` over `user:/vms/<vmid>:port`), with
 * an HMAC key of this simulator instead of the cluster's RSA key.
 */
export class VncProxies {
  readonly #byPort = new Map<number, SimVncProxy>();
  readonly #key = randomBytes(32);

  constructor(private readonly time: SimTime) {}

  /** Starts a proxy for `vmid`, on the lowest free port. */
  open(facts: { node: string; vmid: number; user: string; upid: string; finish: SimVncProxy['finish'] }): SimVncProxy {
    this.#expire();
    let port = FIRST_PORT;
    while (this.#byPort.has(port)) port++;
    if (port > LAST_PORT) throw die(`unable to find free port (${FIRST_PORT}-${LAST_PORT})`);
    // PVE::Ticket::generate_vnc_password: 8 random bytes in '!'..'`'.
    const password = [...randomBytes(8)].map((b) => String.fromCharCode(0x21 + (b % 64))).join('');
    const proxy: SimVncProxy = {
      ...facts,
      port,
      password,
      ticket: `${password}:${this.#assemble(facts.user, facts.vmid, port)}`,
      startedAt: this.time.now(),
      connected: false,
    };
    this.#byPort.set(port, proxy);
    return proxy;
  }

  /** Whether `ticket` was made for `user`, VM `vmid` and `port`, and is still within its lifetime. */
  verify(ticket: string, user: string, vmid: number, port: number): boolean {
    const bare = /^.{8}:(PVEVNC:.*)$/.exec(ticket)?.[1] ?? ticket;
    const match = /^PVEVNC:([0-9A-F]{8})::(.+)$/.exec(bare);
    if (!match) return false;
    const expected = this.#sign(match[1]!, user, vmid, port);
    const given = Buffer.from(match[2]!);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
    const age = this.time.nowSeconds() - parseInt(match[1]!, 16);
    return age >= TICKET_MIN_AGE_S && age <= TICKET_MAX_AGE_S;
  }

  /** Takes the proxy on `port` for its one connection; undefined when none listens (gone, taken or timed out). */
  connect(port: number): SimVncProxy | undefined {
    this.#expire();
    const proxy = this.#byPort.get(port);
    if (!proxy || proxy.connected) return undefined;
    proxy.connected = true;
    return proxy;
  }

  /** Frees the proxy's port. */
  close(port: number): void {
    this.#byPort.delete(port);
  }

  /** Proxies still open (listening or connected). */
  list(): SimVncProxy[] {
    return [...this.#byPort.values()];
  }

  #expire(): void {
    const now = this.time.now();
    for (const proxy of this.#byPort.values()) {
      if (!proxy.connected && now - proxy.startedAt > VNC_ACCEPT_TIMEOUT_MS) {
        this.#byPort.delete(proxy.port);
        proxy.finish('connection timed out');
      }
    }
  }

  #assemble(user: string, vmid: number, port: number): string {
    const hex = this.time.nowSeconds().toString(16).toUpperCase().padStart(8, '0');
    return `PVEVNC:${hex}::${this.#sign(hex, user, vmid, port).toString()}`;
  }

  #sign(hex: string, user: string, vmid: number, port: number): Buffer {
    return Buffer.from(
      createHmac('sha256', this.#key).update(`PVEVNC:${hex}:${user}:/vms/${vmid}:${port}`).digest('base64'),
    );
  }
}

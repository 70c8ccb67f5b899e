import { connect } from 'node:net';

/** TCP readiness checks (SSH 22, RDP 3389); injectable so tests can point them at loopback listeners. */
export interface PortProbe {
  /** Whether a TCP connection to `host:port` opens within `timeoutMs`. Never throws. */
  isOpen(host: string, port: number, timeoutMs: number): Promise<boolean>;
}

/** Options of `createTcpPortProbe`. */
export interface TcpPortProbeOptions {
  /** Connect to another port than the one asked (e.g. `{ 22: 10022 }` for a test listener). */
  portOverrides?: Readonly<Record<number, number>>;
}

/** A `PortProbe` that opens a real TCP connection and closes it at once. */
export function createTcpPortProbe(options: TcpPortProbeOptions = {}): PortProbe {
  return {
    isOpen: (host, port, timeoutMs) =>
      new Promise((resolve) => {
        const socket = connect({ host, port: options.portOverrides?.[port] ?? port });
        const done = (open: boolean): void => {
          clearTimeout(timer);
          socket.destroy();
          resolve(open);
        };
        const timer = setTimeout(() => done(false), timeoutMs);
        socket.once('connect', () => done(true));
        socket.once('error', () => done(false));
      }),
  };
}

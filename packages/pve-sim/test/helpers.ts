import { Agent, request } from 'node:https';
import { startPveSim, type PveSim, type PveSimOptions } from '../src/index.js';

/** What one raw call to the simulator returned. */
export interface CallResult {
  status: number;
  /** The HTTP reason phrase (PVE puts its error text there). */
  reason: string;
  body: { data?: unknown; errors?: Record<string, string>; message?: string };
}

const agents = new WeakMap<PveSim, Agent>();

/** A raw HTTPS call to the simulator over a real socket, trusting its CA. */
export function call(
  sim: PveSim,
  method: string,
  path: string,
  options: { params?: Record<string, string | number>; headers?: Record<string, string>; auth?: 'token' | 'none' } = {},
): Promise<CallResult> {
  const form = new URLSearchParams(
    Object.entries(options.params ?? {}).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
  const inBody = method === 'POST' || method === 'PUT';
  const headers: Record<string, string> = { ...options.headers };
  if ((options.auth ?? 'token') === 'token') headers.authorization = `PVEAPIToken=${sim.tokenId}=${sim.tokenSecret}`;
  if (inBody) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = String(Buffer.byteLength(form));
  }
  let agent = agents.get(sim);
  if (!agent) {
    agent = new Agent({ ca: sim.ca, keepAlive: true });
    agents.set(sim, agent);
  }
  const url = new URL(`${sim.url}/api2/json${path}${!inBody && form ? `?${form}` : ''}`);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', body: text ? JSON.parse(text) : {} });
        } catch (err) {
          reject(new Error(`answer of ${method} ${path} is not JSON: ${(err as Error).message}`));
        }
      });
    });
    req.on('error', reject);
    if (inBody) req.write(form);
    req.end();
  });
}

/** Starts a simulator that runs 100× faster than a real cluster (unless told otherwise). */
export function fastSim(options: PveSimOptions = {}): Promise<PveSim> {
  return startPveSim({ timeScale: 100, ...options });
}

/** Polls a task until it stops; returns its final status body. */
export async function waitTask(
  sim: PveSim,
  upid: string,
  timeoutMs = 20_000,
): Promise<{ status: string; exitstatus?: string }> {
  const node = upid.split(':')[1]!;
  const started = Date.now();
  for (;;) {
    const r = await call(sim, 'GET', `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`);
    const data = r.body.data as { status: string; exitstatus?: string };
    if (data.status === 'stopped') return data;
    if (Date.now() - started > timeoutMs) throw new Error(`task ${upid} still running after ${timeoutMs} ms`);
    await new Promise((r2) => setTimeout(r2, 20));
  }
}

/** The full log of a task. */
export async function taskLog(sim: PveSim, upid: string): Promise<string[]> {
  const node = upid.split(':')[1]!;
  const r = await call(sim, 'GET', `/nodes/${node}/tasks/${encodeURIComponent(upid)}/log`, {
    params: { limit: 10000 },
  });
  return (r.body.data as Array<{ t: string }>).map((l) => l.t);
}

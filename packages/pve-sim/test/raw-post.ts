import { Agent, request } from 'node:https';
import type { PveSim } from '../src/index.js';

/**
 * A POST with a body written by the test (repeated form keys for PVE's array parameters, JSON for
 * the control API) to any path of the simulator, trusting its CA; the API token is sent for
 * `/api2/json` paths unless another `authorization` is given.
 */
export function rawPost(
  sim: PveSim,
  path: string,
  body: string,
  options: { contentType?: string; authorization?: string } = {},
): Promise<{ status: number; reason: string; json: { data?: unknown; errors?: Record<string, string> } }> {
  const agent = new Agent({ ca: sim.ca });
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? 'application/x-www-form-urlencoded',
    'content-length': String(Buffer.byteLength(body)),
  };
  if (path.startsWith('/api2/json'))
    headers.authorization = options.authorization ?? `PVEAPIToken=${sim.tokenId}=${sim.tokenSecret}`;
  return new Promise((resolve, reject) => {
    const req = request(`${sim.url}${path}`, { method: 'POST', agent, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => {
        agent.destroy();
        resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', json: text ? JSON.parse(text) : {} });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

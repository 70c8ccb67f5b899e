import type { IncomingMessage } from 'node:http';
import { PveSimError } from '../sim-error.js';
import type { RawParam } from '../schema/validate-parameters.js';

const MAX_BODY = 1024 * 1024;

/** Reads a request body (max 1 MiB). */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new PveSimError(413, 'request entity too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Adds form or JSON parameters to `into`; repeated keys become arrays. */
export function addParams(into: Record<string, RawParam>, body: string, contentType: string | undefined): void {
  if (!body) return;
  if ((contentType ?? '').includes('application/json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new PveSimError(400, 'unable to parse JSON body');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new PveSimError(400, 'JSON body must be an object');
    for (const [k, v] of Object.entries(parsed)) {
      into[k] = Array.isArray(v) ? v.map(String) : typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
    }
    return;
  }
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = into[k];
    into[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
}

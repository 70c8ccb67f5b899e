import type { ServerResponse } from 'node:http';

const FILLER = Buffer.alloc(64 * 1024, 'x');
const HEAD = Buffer.from('{"data":"');
const TAIL = Buffer.from('"}');

function writable(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Answers 200 with a JSON body of exactly `sizeBytes` bytes (at least 11), produced 64 KiB at a
 * time under backpressure, so the simulator never holds it in memory. Stops writing as soon as
 * the client goes away; `onBytes` hears every chunk written.
 */
export async function sendHugeBody(
  res: ServerResponse,
  sizeBytes: number,
  onBytes: (bytes: number) => void,
): Promise<void> {
  const size = Math.max(sizeBytes, HEAD.length + TAIL.length);
  res.writeHead(200, 'OK', {
    'content-type': 'application/json;charset=UTF-8',
    'content-length': size,
    server: 'pve-api-daemon/3.0',
  });
  const write = async (chunk: Buffer): Promise<boolean> => {
    if (res.destroyed) return false;
    const ok = res.write(chunk);
    onBytes(chunk.length);
    if (!ok) await writable(res);
    return !res.destroyed;
  };
  if (!(await write(HEAD))) return;
  for (let left = size - HEAD.length - TAIL.length; left > 0; left -= FILLER.length) {
    if (!(await write(left >= FILLER.length ? FILLER : FILLER.subarray(0, left)))) return;
  }
  if (res.destroyed) return;
  onBytes(TAIL.length);
  res.end(TAIL);
}

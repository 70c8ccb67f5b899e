import type { Readable } from 'node:stream';
import { VncHandshakeError } from './console-errors.js';

/** Reads exact byte counts, as a protocol handshake does. */
export interface ByteReader {
  /** Exactly `n` bytes, once they have arrived; rejects when the stream ends first. One read at a time. */
  read(n: number): Promise<Buffer>;
}

/**
 * A `ByteReader` over `stream` in paused mode: bytes stay in the stream's buffer until read (so a
 * peer that sends early fills the buffer, not memory, and is slowed by backpressure), and what the
 * handshake did not read is still there for whoever pipes the stream afterwards.
 */
export function streamReader(stream: Readable): ByteReader {
  return {
    async read(n) {
      for (;;) {
        const chunk = stream.read(n) as Buffer | null;
        if (chunk !== null) {
          if (chunk.length === n) return chunk;
          throw new VncHandshakeError(`the connection closed after ${chunk.length} of ${n} bytes`);
        }
        if (stream.readableEnded || stream.destroyed) throw new VncHandshakeError('the connection closed');
        await new Promise<void>((resolve) => {
          const wake = () => {
            stream.off('readable', wake).off('end', wake).off('close', wake).off('error', wake);
            resolve();
          };
          stream.on('readable', wake).on('end', wake).on('close', wake).on('error', wake);
        });
      }
    },
  };
}

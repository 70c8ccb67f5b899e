import { VncHandshakeError } from './console-errors.js';

/**
 * Bytes arriving in chunks (WebSocket messages), read back in exact lengths during a protocol
 * handshake. After the handshake, `drain` hands over whatever arrived early.
 */
export class ByteQueue {
  #chunks: Buffer[] = [];
  #length = 0;
  #waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  #ended: Error | undefined;

  /** Adds a chunk. */
  push(chunk: Uint8Array): void {
    this.#chunks.push(Buffer.from(chunk));
    this.#length += chunk.length;
    this.#wake();
  }

  /** No more bytes will come; pending and later reads fail with `error`. */
  end(error: Error = new VncHandshakeError('the connection closed')): void {
    this.#ended ??= error;
    this.#wake();
  }

  /** Exactly `n` bytes, once they have arrived. Only one read may wait at a time. */
  read(n: number): Promise<Buffer> {
    if (this.#waiter) return Promise.reject(new Error('ByteQueue: one read at a time'));
    return new Promise((resolve, reject) => {
      this.#waiter = { n, resolve, reject };
      this.#wake();
    });
  }

  /** Every byte not read yet. */
  drain(): Buffer {
    const all = Buffer.concat(this.#chunks);
    this.#chunks = [];
    this.#length = 0;
    return all;
  }

  #wake(): void {
    const waiter = this.#waiter;
    if (!waiter) return;
    if (this.#length >= waiter.n) {
      this.#waiter = undefined;
      const all = Buffer.concat(this.#chunks);
      this.#chunks = all.length > waiter.n ? [all.subarray(waiter.n)] : [];
      this.#length = all.length - waiter.n;
      waiter.resolve(all.subarray(0, waiter.n));
    } else if (this.#ended) {
      this.#waiter = undefined;
      waiter.reject(this.#ended);
    }
  }
}

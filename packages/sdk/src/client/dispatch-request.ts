import type { Dispatcher } from 'undici';

/** What came back from one HTTP exchange. */
export interface RawResponse {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: string;
}

/** An HTTP failure with what is known about whether the request reached the server. */
export class DispatchFailure extends Error {
  constructor(
    override readonly cause: Error,
    readonly requestSent: boolean,
  ) {
    super(cause.message);
  }
}

/** The answer's body grew past the caller's limit; reading stopped there. */
export class BodyTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`response body larger than ${limitBytes} bytes`);
  }
}

/**
 * One HTTP exchange over `dispatcher`, keeping the reason phrase (PVE puts its error text there)
 * and whether the request was fully written before any failure (so callers know if a POST may
 * have taken effect). A body longer than `maxBodyBytes` aborts the exchange at once with
 * `BodyTooLargeError`. The promise always settles: every failure, including one while decoding
 * the body, rejects with `DispatchFailure`.
 */
export function dispatchRequest(
  dispatcher: Dispatcher,
  options: {
    method: string;
    path: string;
    headers: Record<string, string>;
    body?: string;
    signal?: AbortSignal;
    maxBodyBytes: number;
  },
): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    let requestSent = false;
    let status = 0;
    let statusText = '';
    const headers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    let abortRequest: ((err?: Error) => void) | undefined;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      chunks.length = 0;
      reject(new DispatchFailure(err, requestSent));
    };
    const stop = (reason: Error): void => {
      if (abortRequest) abortRequest(reason);
      fail(reason);
    };
    const onAbort = (): void => {
      stop(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'));
    };
    if (options.signal?.aborted) {
      fail(options.signal.reason instanceof Error ? options.signal.reason : new Error('aborted'));
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const handler = {
      onConnect(abort: (err?: Error) => void) {
        abortRequest = abort;
        if (options.signal?.aborted) onAbort();
      },
      onRequestSent() {
        requestSent = true;
      },
      onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null, _resume: () => void, text: string) {
        requestSent = true;
        status = statusCode;
        statusText = text ?? '';
        const list = rawHeaders ?? [];
        for (let i = 0; i + 1 < list.length; i += 2) {
          headers[String(list[i]).toLowerCase()] = String(list[i + 1]);
        }
        return !settled;
      },
      onData(chunk: Buffer) {
        if (settled) return false;
        received += chunk.length;
        if (received > options.maxBodyBytes) {
          stop(new BodyTooLargeError(options.maxBodyBytes));
          return false;
        }
        chunks.push(chunk);
        return true;
      },
      onComplete() {
        if (settled) return;
        let body: string;
        try {
          body = Buffer.concat(chunks).toString('utf8');
        } catch (err) {
          fail(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        resolve({ status, statusText, headers, body });
      },
      onError(err: Error) {
        fail(err);
      },
    };
    try {
      dispatcher.dispatch(
        {
          method: options.method,
          path: options.path,
          headers: options.headers,
          body: options.body,
        },
        handler,
      );
    } catch (err) {
      fail(err as Error);
    }
  });
}

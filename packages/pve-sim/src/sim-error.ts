/** An error the simulator answers the way PVE would: HTTP status, reason phrase, `errors` map. */
export class PveSimError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, string>,
    /**
     * Where pveproxy raised it: `http` (authentication before any handler: no body, no
     * Content-Type) or `api` (a handler's error: the JSON envelope). @defaultValue `'api'`
     */
    readonly layer: 'http' | 'api' = 'api',
  ) {
    super(message);
  }
}

/** A `die` inside a PVE handler: HTTP 500 with the text as reason phrase and `message`. */
export function die(message: string): PveSimError {
  return new PveSimError(500, message);
}

/** PVE's parameter exception: HTTP 400 "Parameter verification failed." with an `errors` map. */
export function paramError(errors: Record<string, string>): PveSimError {
  return new PveSimError(400, 'Parameter verification failed.', errors);
}

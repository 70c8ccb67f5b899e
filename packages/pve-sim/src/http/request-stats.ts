/** Counts requests per `METHOD /schema/template`, for benchmarks and tests that count API calls. */
export class RequestStats {
  readonly #counts = new Map<string, number>();
  #total = 0;
  #inFlight = 0;
  /** The most requests that were being served at once since the last reset. */
  maxInFlight = 0;
  /** Requests PVE's schema refused (unknown path or method, bad parameters), newest last. */
  readonly schemaViolations: Array<{
    method: string;
    path: string;
    status: number;
    message: string;
    errors?: Record<string, string>;
  }> = [];

  /** Marks a request as being served; call the returned function when it is answered. */
  begin(): () => void {
    this.#inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#inFlight--;
    };
  }

  /** Records one request. */
  record(method: string, template: string): void {
    const key = `${method} ${template}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    this.#total++;
  }

  /** Requests since the last reset, in all. */
  get total(): number {
    return this.#total;
  }

  /** Requests to one endpoint (`'GET /cluster/resources'`), or to every endpoint matching a predicate. */
  count(keyOrFilter: string | ((key: string) => boolean)): number {
    if (typeof keyOrFilter === 'string') return this.#counts.get(keyOrFilter) ?? 0;
    let n = 0;
    for (const [key, c] of this.#counts) if (keyOrFilter(key)) n += c;
    return n;
  }

  /** Every endpoint's count. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.#counts].sort((a, b) => b[1] - a[1]));
  }

  /** Starts counting from zero. */
  reset(): void {
    this.#counts.clear();
    this.#total = 0;
    this.maxInFlight = this.#inFlight;
    this.schemaViolations.length = 0;
  }
}

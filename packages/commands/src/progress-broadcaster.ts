import type { ProgressUpdate } from './command-plugin.js';
import { renderProgress } from './render.js';
import { COMMAND_DEFAULTS } from './defaults.js';

/** Where a broadcaster writes: a Server-Sent Events response (`ServerResponse`, Fastify's `reply.raw`). */
export interface SseSink {
  /** False when the socket's buffer is full; the sink says `drain` when it empties. */
  write(chunk: string): boolean;
  end(): void;
  once(event: 'close' | 'drain', listener: () => void): unknown;
}

/** Options of {@link ProgressBroadcaster}. */
export interface ProgressBroadcasterOptions {
  /** How often an idle stream gets a comment, so proxies keep it open. @defaultValue 15 s */
  keepAliveMs?: number;
  /** How long a finished topic's last frame is kept for late subscribers. @defaultValue 5 minutes */
  keepFinishedMs?: number;
}

/** What a browser receives as the `data` of a `progress` event. */
export interface ProgressFrame {
  /** The same text the chat front ends show (`renderProgress`). */
  text: string;
  label: string;
  done: number;
  total: number;
  /** The deployment event behind the update (`registered`, `cloning`, `failed`…). */
  event?: string;
}

interface Topic {
  sinks: Map<SseSink, { congested: boolean }>;
  /** The last frame, for subscribers that arrive late and for congested ones once they drain. */
  last?: string;
  finished: boolean;
  seq: number;
  expiry?: NodeJS.Timeout;
}

/**
 * Fans a deployment's progress out to the browsers watching it, as Server-Sent Events: each
 * update (from {@link DeploymentProgress}, fed by the deployment's typed events) is rendered and
 * serialised once and written to every open stream of its topic (e.g. the deployment's class). A
 * late subscriber gets the last frame at once; a slow one skips to the newest frame when its
 * socket drains instead of queuing every step. `finish` sends the final sentence and closes them.
 */
export class ProgressBroadcaster {
  readonly #topics = new Map<string, Topic>();
  readonly #keepFinishedMs: number;
  readonly #keepAlive: NodeJS.Timeout;

  constructor(options: ProgressBroadcasterOptions = {}) {
    this.#keepFinishedMs = options.keepFinishedMs ?? COMMAND_DEFAULTS.keepFinishedMs;
    this.#keepAlive = setInterval(() => this.#ping(), options.keepAliveMs ?? COMMAND_DEFAULTS.keepAliveMs);
    this.#keepAlive.unref();
  }

  /** Streams `topic` to `sink` until it closes; returns a function that stops it. */
  subscribe(topic: string, sink: SseSink): () => void {
    const t = this.#topic(topic);
    if (t.finished && t.last !== undefined) {
      sink.write(`retry: 3000\n\n${t.last}`);
      sink.end();
      return () => undefined;
    }
    const state = { congested: !sink.write(`retry: 3000\n\n${t.last ?? ''}`) };
    t.sinks.set(sink, state);
    if (state.congested) this.#awaitDrain(t, sink, state);
    const stop = () => {
      t.sinks.delete(sink);
      this.#forgetIfUnused(topic, t);
    };
    sink.once('close', stop);
    return stop;
  }

  /** Sends a progress update to every subscriber of `topic`. */
  publish(topic: string, update: ProgressUpdate): void {
    const frame: ProgressFrame = {
      text: renderProgress(update),
      label: update.label,
      done: update.done,
      total: update.total,
      ...(update.event ? { event: update.event.type } : {}),
    };
    this.#send(topic, 'progress', frame);
  }

  /** Sends the final sentence (`error` when it failed) and closes every stream of `topic`. */
  finish(topic: string, result: { text: string; error?: boolean }): void {
    const t = this.#send(topic, 'done', { text: result.text, error: result.error === true });
    t.finished = true;
    for (const sink of t.sinks.keys()) sink.end();
    t.sinks.clear();
    clearTimeout(t.expiry);
    t.expiry = setTimeout(() => this.#topics.delete(topic), this.#keepFinishedMs);
    t.expiry.unref();
  }

  /** The text of the topic's last frame (its progress or its final sentence), for a page without JavaScript. */
  lastText(topic: string): string | undefined {
    const last = this.#topics.get(topic)?.last;
    const data = last && /^data: (.*)$/m.exec(last)?.[1];
    return data ? (JSON.parse(data) as { text: string }).text : undefined;
  }

  /** Open streams of `topic` (for `/metrics` and tests). */
  subscribers(topic: string): number {
    return this.#topics.get(topic)?.sinks.size ?? 0;
  }

  /** Ends every stream and the keep-alive timer. */
  close(): void {
    clearInterval(this.#keepAlive);
    for (const t of this.#topics.values()) {
      clearTimeout(t.expiry);
      for (const sink of t.sinks.keys()) sink.end();
    }
    this.#topics.clear();
  }

  #send(topic: string, event: 'progress' | 'done', data: unknown): Topic {
    const t = this.#topic(topic);
    if (t.finished) {
      t.finished = false;
      clearTimeout(t.expiry);
    }
    t.last = `id: ${++t.seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const [sink, state] of t.sinks) {
      if (state.congested) continue;
      if (!sink.write(t.last)) {
        state.congested = true;
        this.#awaitDrain(t, sink, state);
      }
    }
    return t;
  }

  #awaitDrain(t: Topic, sink: SseSink, state: { congested: boolean }): void {
    const sent = t.seq;
    sink.once('drain', () => {
      state.congested = false;
      if (t.seq !== sent && t.sinks.has(sink) && t.last !== undefined && !sink.write(t.last)) {
        state.congested = true;
        this.#awaitDrain(t, sink, state);
      }
    });
  }

  #topic(topic: string): Topic {
    let t = this.#topics.get(topic);
    if (!t) {
      t = { sinks: new Map(), finished: false, seq: 0 };
      this.#topics.set(topic, t);
    }
    return t;
  }

  #forgetIfUnused(topic: string, t: Topic): void {
    if (t.sinks.size === 0 && t.last === undefined) this.#topics.delete(topic);
  }

  #ping(): void {
    for (const t of this.#topics.values())
      for (const [sink, state] of t.sinks) if (!state.congested) sink.write(': keep-alive\n\n');
  }
}

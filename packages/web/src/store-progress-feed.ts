import type { Clock, DeploymentItemRecord, DeploymentRecord, Logger, Store } from '@lab/proxmox-sdk';
import type { ProgressBroadcaster, ProgressUpdate } from '@lab/commands';
import { WEB_DEFAULTS } from './defaults.js';

/** Options of {@link StoreProgressFeed}. */
export interface StoreProgressFeedOptions {
  store: Store;
  broadcaster: ProgressBroadcaster;
  logger: Logger;
  /** The clock deployments are recorded with (their `finishedAt`). */
  clock: Pick<Clock, 'now'>;
  /**
   * This portal's id in the `notify` of the deployments it starts: their progress reaches its
   * browsers from the deployment's own events, so the feed leaves them alone.
   */
  portalId: string;
  /** How often the store is read while someone watches. @defaultValue 250 ms */
  pollMs?: number;
}

/** The SSE topic of a class's deployments. */
export const deployTopic = (classId: string): string => `deploy:${classId}`;

/**
 * Brings the progress of deployments that another process runs (another portal, a chat bot, the
 * CLI, a take-over) to this portal's browsers, from the store alone — the deployment and its items'
 * states, never PVE. One reader for the whole process: while any browser watches a class, each round
 * reads the unfinished deployments once and the items of each watched one once, whatever the number
 * of browsers; the {@link ProgressBroadcaster} fans each changed frame out to all of them.
 */
export class StoreProgressFeed {
  readonly #options: StoreProgressFeedOptions;
  readonly #pollMs: number;
  /** Watched classes and how many browsers watch each. */
  readonly #watchers = new Map<string, number>();
  /** The deployment the feed follows per class, and the text it last published. */
  readonly #following = new Map<string, { id: string; text: string }>();
  /** Per watched class, since when a deployment that finished between two rounds is still news. */
  readonly #since = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #closed = false;

  constructor(options: StoreProgressFeedOptions) {
    this.#options = options;
    this.#pollMs = options.pollMs ?? WEB_DEFAULTS.progressPollMs;
  }

  /**
   * Follows `classId`'s deployments until the returned function is called; resolves once the topic
   * holds the running deployment's progress, so a browser subscribing next starts from it.
   */
  async watch(classId: string): Promise<() => void> {
    const first = !this.#watchers.has(classId);
    this.#watchers.set(classId, (this.#watchers.get(classId) ?? 0) + 1);
    if (first) this.#since.set(classId, this.#options.clock.now());
    if (!this.#closed) {
      if (this.#round) await this.#round;
      else if (first || !this.#timer) await this.#startRound();
    }
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      const left = (this.#watchers.get(classId) ?? 1) - 1;
      if (left > 0) this.#watchers.set(classId, left);
      else {
        this.#watchers.delete(classId);
        this.#following.delete(classId);
        this.#since.delete(classId);
      }
    };
  }

  /**
   * The progress of `classId`'s running deployment that another process runs, as text read now (for
   * a page without JavaScript); undefined when there is none.
   */
  async currentText(classId: string): Promise<string | undefined> {
    const running = newestOf(
      (await this.#options.store.deployments.unfinished()).filter(
        (d) => d.classId === classId && d.notify?.portal !== this.#options.portalId,
      ),
    );
    if (!running) return undefined;
    return progressText(running, await this.#options.store.deployments.items(running.id));
  }

  /** Stops reading the store. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Reads the store now, then every `pollMs` while someone watches; rounds never overlap. */
  #startRound(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const round = this.#read()
      .catch((error: unknown) => this.#options.logger.warn('cannot read deployment progress', { error }))
      .finally(() => {
        this.#round = undefined;
        if (this.#watchers.size > 0 && !this.#closed) {
          this.#timer = setTimeout(() => void this.#startRound(), this.#pollMs);
          this.#timer.unref();
        }
      });
    this.#round = round;
    return round;
  }

  async #read(): Promise<void> {
    const unfinished = await this.#options.store.deployments.unfinished();
    for (const classId of [...this.#watchers.keys()]) await this.#readClass(classId, unfinished);
  }

  /**
   * Finishes the topic with a deployment of the class that started and finished between two rounds
   * (a short reset), so its browsers are not left waiting.
   */
  async #finishMissed(classId: string): Promise<void> {
    const { store, broadcaster, portalId } = this.#options;
    const since = this.#since.get(classId);
    if (since === undefined) return;
    const missed = newestOf(
      (await store.deployments.list({ classId })).filter(
        (d) => d.finishedAt !== null && d.finishedAt >= since && d.notify?.portal !== portalId,
      ),
    );
    if (!missed || !this.#watchers.has(classId)) return;
    this.#since.set(classId, missed.finishedAt! + 1);
    broadcaster.finish(deployTopic(classId), finishedText(missed, await store.deployments.items(missed.id)));
  }

  /** Publishes the class's running deployment's progress when it changed, and finishes the one it followed. */
  async #readClass(classId: string, unfinished: readonly DeploymentRecord[]): Promise<void> {
    const { store, broadcaster, portalId } = this.#options;
    const running = newestOf(unfinished.filter((d) => d.classId === classId && d.notify?.portal !== portalId));
    const followed = this.#following.get(classId);
    if (followed && followed.id !== running?.id) {
      this.#following.delete(classId);
      const ended = await store.deployments.get(followed.id);
      if (ended && this.#watchers.has(classId)) {
        this.#since.set(classId, (ended.finishedAt ?? this.#options.clock.now()) + 1);
        broadcaster.finish(deployTopic(classId), finishedText(ended, await store.deployments.items(ended.id)));
      }
    }
    if (!this.#watchers.has(classId)) return;
    if (!running) {
      if (!followed) await this.#finishMissed(classId);
      return;
    }
    const update = progressUpdate(running, await store.deployments.items(running.id));
    const text = JSON.stringify(update);
    if (this.#following.get(classId)?.text === text) return;
    this.#following.set(classId, { id: running.id, text });
    broadcaster.publish(deployTopic(classId), update);
  }
}

function newestOf(deployments: readonly DeploymentRecord[]): DeploymentRecord | undefined {
  return deployments.reduce<DeploymentRecord | undefined>(
    (newest, d) => (!newest || d.createdAt > newest.createdAt ? d : newest),
    undefined,
  );
}

/** `cs101`, `reset cs101`, `rebuild cs101`, `publish cs101`: what the deployment is, as the chat bar says. */
function labelOf(d: DeploymentRecord): string {
  const spec = (d.spec ?? {}) as { kind?: string; action?: string };
  if (spec.kind === 'reset') return `${spec.action ?? 'reset'} ${d.classId}`;
  if (spec.kind === 'publish') return `publish ${d.classId}`;
  return d.classId;
}

/** A deployment's progress from its items' states: done (or deleted), under way, failed. */
function progressUpdate(d: DeploymentRecord, items: readonly DeploymentItemRecord[]): ProgressUpdate {
  const finished = items.filter((i) => i.status === 'done' || i.status === 'deleted');
  const last = finished.reduce<DeploymentItemRecord | undefined>(
    (newest, i) => (!newest || i.updatedAt >= newest.updatedAt ? i : newest),
    undefined,
  );
  const underWay = items.filter((i) => i.status === 'cloning' || i.status === 'verifying');
  const failed = items.filter((i) => i.status === 'failed');
  return {
    label: labelOf(d),
    done: finished.length,
    total: items.length,
    ...(last ? { note: last.name } : {}),
    ...(underWay.length ? { cloning: underWay.map((i) => ({ name: i.name })) } : {}),
    ...(failed.length ? { failed: failed.map((i) => ({ name: i.name, reason: i.error ?? 'failed' })) } : {}),
  };
}

function progressText(d: DeploymentRecord, items: readonly DeploymentItemRecord[]): string {
  const update = progressUpdate(d, items);
  return `${update.label}: ${update.done} of ${update.total} step(s) done${update.cloning?.length ? `, ${update.cloning.length} under way` : ''}${update.failed?.length ? `, ${update.failed.length} failed` : ''}.`;
}

/** How a deployment another process ran ended, from the store: its count of VMs, or what failed. */
function finishedText(d: DeploymentRecord, items: readonly DeploymentItemRecord[]): { text: string; error: boolean } {
  const update = progressUpdate(d, items);
  const failures = (update.failed ?? []).map((f) => `failed ${f.name}: ${f.reason}`);
  if (d.status === 'done')
    return {
      text: [`${update.label}: finished, ${update.done} of ${update.total} VM(s) done.`, ...failures].join('\n'),
      error: failures.length > 0,
    };
  const why = d.error ? `: ${d.error}` : '';
  return {
    text: [
      ...failures,
      `${update.label}: the deployment ${d.status === 'cancelled' ? 'was cancelled' : 'failed'}${why}.`,
    ].join('\n'),
    error: true,
  };
}

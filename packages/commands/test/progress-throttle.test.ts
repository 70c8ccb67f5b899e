import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressThrottle, type ProgressUpdate } from '../src/index.js';

const at = (done: number, total = 5): ProgressUpdate => ({ label: 'cs101', done, total });

describe('the progress throttle', () => {
  beforeEach(() => void vi.useFakeTimers({ now: 0 }));
  afterEach(() => void vi.useRealTimers());

  const throttle = (intervalMs = 1000) => {
    const shown: Array<{ at: number; done: number }> = [];
    const errors: unknown[] = [];
    const t = new ProgressThrottle({
      intervalMs,
      send: (u) => void shown.push({ at: Date.now(), done: u.done }),
      onError: (e) => errors.push(e),
    });
    return { t, shown, errors };
  };

  it('shows the first update at once and the last one of a burst when the interval ends, never staying behind', async () => {
    const { t, shown } = throttle();
    t.push(at(0));
    await vi.advanceTimersByTimeAsync(100);
    t.push(at(1));
    await vi.advanceTimersByTimeAsync(100);
    t.push(at(2));
    await vi.advanceTimersByTimeAsync(1000);
    expect(shown).toEqual([
      { at: 0, done: 0 },
      { at: 1000, done: 2 },
    ]);
    // At 1200 ms, shortly after "2/5" was shown, the third and fourth VMs register: "4/5" appears one
    // interval after the last send, not whenever a later update happens to come.
    t.push(at(3));
    t.push(at(4));
    await vi.advanceTimersByTimeAsync(799);
    expect(shown.at(-1)).toEqual({ at: 1000, done: 2 });
    await vi.advanceTimersByTimeAsync(1);
    expect(shown.at(-1)).toEqual({ at: 2000, done: 4 });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(shown).toHaveLength(3);
  });

  it('shows a finished count at once, and an update after a quiet interval at once', async () => {
    const { t, shown } = throttle();
    t.push(at(0));
    await vi.advanceTimersByTimeAsync(10);
    t.push(at(5));
    await vi.advanceTimersByTimeAsync(0);
    expect(shown).toEqual([
      { at: 0, done: 0 },
      { at: 10, done: 5 },
    ]);
    await vi.advanceTimersByTimeAsync(5000);
    t.push(at(3));
    await vi.advanceTimersByTimeAsync(0);
    expect(shown.at(-1)).toEqual({ at: 5010, done: 3 });
  });

  it('drops a waiting update on stop and waits for the sends already made', async () => {
    let release: () => void = () => undefined;
    const shown: number[] = [];
    const t = new ProgressThrottle({
      intervalMs: 1000,
      send: (u) =>
        new Promise<void>(
          (r) =>
            (release = () => {
              shown.push(u.done);
              r();
            }),
        ),
      onError: () => undefined,
    });
    t.push(at(0));
    t.push(at(1));
    let stopped = false;
    const stopping = t.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    release();
    await stopping;
    await vi.advanceTimersByTimeAsync(5000);
    expect(shown).toEqual([0]);
  });

  it('reports a failed send and keeps sending later updates in order', async () => {
    const shown: number[] = [];
    const errors: unknown[] = [];
    const t = new ProgressThrottle({
      intervalMs: 0,
      send: (u) => (u.done === 1 ? Promise.reject(new Error('rate limited')) : void shown.push(u.done)),
      onError: (e) => errors.push(e),
    });
    for (const done of [0, 1, 2, 3]) t.push(at(done));
    await t.stop();
    expect(shown).toEqual([0, 2, 3]);
    expect(errors).toEqual([new Error('rate limited')]);
  });
});

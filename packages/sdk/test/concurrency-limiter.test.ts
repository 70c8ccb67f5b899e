import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter } from '../src/util/concurrency-limiter.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('ConcurrencyLimiter', () => {
  it('hands freed slots to callers that asked first before the others, each group in arrival order', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const granted: Array<{ name: string; release: () => void }> = [];
    const ask = (name: string, first = false) =>
      limiter.acquire({ first }).then((release) => granted.push({ name, release }));
    granted.push({ name: 'holder', release: await limiter.acquire() });
    const all = [ask('a'), ask('b'), ask('copy1', true), ask('copy2', true)];
    await tick();
    expect(limiter.waiting).toBe(4);
    for (let i = 0; i < 4; i++) {
      const current = granted.at(-1)!;
      current.release();
      current.release(); // a second release frees nothing more
      await tick();
      expect(limiter.active).toBe(1);
    }
    await Promise.all(all);
    expect(granted.map((g) => g.name)).toEqual(['holder', 'copy1', 'copy2', 'a', 'b']);
    granted.at(-1)!.release();
    expect(limiter.active).toBe(0);
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { SimTime } from '../src/sim-time.js';

/** Resolves after every timer already due at 0 ms has fired (timers of one delay fire in order). */
const afterDueTimers = () => new Promise<void>((r) => setTimeout(r, 0));

afterEach(() => vi.restoreAllMocks());

describe('simulated time', () => {
  it('stands still while paused, ends no sleep until resumed, then runs on from where it stopped', async () => {
    let real = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => real);
    const time = new SimTime(100);
    real += 10;
    expect(time.now()).toBe(1_000_000 + 1000);
    time.pause();
    expect(time.paused).toBe(true);
    real += 50;
    expect(time.now()).toBe(1_000_000 + 1000);
    let woke = false;
    const sleeping = time.sleep(0).then(() => (woke = true));
    await afterDueTimers();
    await afterDueTimers();
    expect(woke).toBe(false);
    time.resume();
    expect(time.now()).toBe(1_000_000 + 1000);
    real += 1;
    expect(time.now()).toBe(1_000_000 + 1100);
    await sleeping;
    expect(woke).toBe(true);
    time.close();
  });
});

import { ConfigError } from '../errors/pve-errors.js';

/**
 * The longest delay Node's `setTimeout` honours: 2^31 − 1 ms (about 24.8 days). A longer one
 * overflows and fires after 1 ms, so every millisecond setting that reaches a timer stays below it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The text a schema shows for a millisecond setting above `MAX_TIMER_MS`. */
export const TIMER_MS_MESSAGE = `must be at most ${MAX_TIMER_MS} ms (about 24.8 days; Node timers overflow above that)`;

/** Throws `ConfigError` naming `key` unless `value` is a whole number of ms in `[min, MAX_TIMER_MS]`. */
export function assertTimerMs(value: number, key: string, min = 1): void {
  if (!Number.isInteger(value) || value < min || value > MAX_TIMER_MS) {
    throw new ConfigError(
      `${key} ${value > MAX_TIMER_MS ? TIMER_MS_MESSAGE : `must be a whole number of ms, at least ${min}`} (got ${value})`,
      { key },
    );
  }
}

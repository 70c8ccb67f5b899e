/** What the command layer uses when its options leave a value out. */
export const COMMAND_DEFAULTS = {
  /** How long a "Confirm" button stays valid. */
  confirmationTtlMs: 10 * 60_000,
  /** How long a command's id is remembered, so a front end's retry runs it once. */
  deliveryTtlMs: 15 * 60_000,
  /** How long a finished progress stream is kept for late watchers. */
  keepFinishedMs: 5 * 60_000,
  /** How often an open progress stream is pinged so proxies keep it open. */
  keepAliveMs: 15_000,
} as const satisfies Record<string, number>;

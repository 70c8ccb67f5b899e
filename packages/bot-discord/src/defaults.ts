/** What the Discord front end uses when its options leave a value out. */
export const DISCORD_DEFAULTS = {
  /** Least time between two edits of a progress message (Discord rate-limits edits). */
  progressIntervalMs: 1000,
  /** Largest interaction body accepted before the signature is checked. */
  maxBodyBytes: 64 * 1024,
  /** How far an interaction's timestamp may be from this host's clock. */
  maxClockSkewS: 300,
} as const satisfies Record<string, number>;

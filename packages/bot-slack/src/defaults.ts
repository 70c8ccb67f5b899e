/** What the Slack front end uses when its options leave a value out. */
export const SLACK_DEFAULTS = {
  /** Least time between two edits of a progress message (Slack rate-limits `chat.update`). */
  progressIntervalMs: 1000,
  /** Largest request body accepted before the signature is checked. */
  maxBodyBytes: 64 * 1024,
  /** How far a request's timestamp may be from this host's clock (Slack's own guidance: 5 minutes). */
  maxClockSkewS: 300,
} as const satisfies Record<string, number>;

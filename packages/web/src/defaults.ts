/** What the web portal uses when its options leave a value out. */
export const WEB_DEFAULTS = {
  /** How often the store is read for progress a page is watching. */
  progressPollMs: 250,
  /** How long an OpenID Connect provider may take to answer (discovery, token exchange). */
  oidcTimeoutSeconds: 10,
} as const satisfies Record<string, number>;

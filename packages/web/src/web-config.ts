import { z } from 'zod';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** True for `http(s)://127.0.0.1…`, `localhost` and `[::1]`. */
export function isLoopbackUrl(url: string): boolean {
  return LOOPBACK.has(new URL(url).hostname);
}

const httpsUnlessLoopback = (what: string) =>
  z
    .url({ protocol: /^https?$/, error: `${what}: an https:// address (http:// only on loopback)` })
    .refine((u) => u.startsWith('https:') || isLoopbackUrl(u), {
      error: `${what} must be https:// (http:// is allowed only on 127.0.0.1 or localhost, for trying it out)`,
    });

/** The `web` key of lab.config.json: the portal's address, the school's OpenID provider and session limits. */
export const webConfigSchema = z
  .object({
    publicUrl: httpsUnlessLoopback("the portal's public address, e.g. https://lab.school.example"),
    port: z.number().int().min(0).max(65_535).optional(),
    host: z.string().min(1).optional(),
    oidc: z
      .object({
        issuer: httpsUnlessLoopback("the OpenID provider's issuer"),
        clientId: z.string().min(1, 'the client id the provider gave the portal'),
        clientSecretFile: z.string().min(1, 'a file holding the client secret the provider gave the portal'),
        usernameClaim: z.string().min(1).default('preferred_username'),
        usernameDomain: z
          .string()
          .regex(/^[a-z0-9.-]+$/i, 'a domain such as school.example')
          .optional()
          .describe("a username claim 'st01@<usernameDomain>' (Entra ID's UPN) maps to the lab username 'st01'"),
        emailClaim: z.string().min(1).default('email'),
        groupsClaim: z
          .string()
          .min(1)
          .default('groups')
          .describe('the claim whose group names or ids directory.groups maps to classes at every sign-in'),
        mapBy: z.enum(['username', 'email']).default('username'),
      })
      .strict(),
    session: z
      .object({
        idleMinutes: z
          .number()
          .int()
          .min(1)
          .max(24 * 60)
          .default(60),
        absoluteHours: z.number().int().min(1).max(168).default(12),
      })
      .strict()
      .default({ idleMinutes: 60, absoluteHours: 12 }),
  })
  .strict();

/** A validated `web` configuration. */
export type WebConfig = z.output<typeof webConfigSchema>;

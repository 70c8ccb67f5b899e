import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, MAX_TIMER_MS, TIMER_MS_MESSAGE, clusterConfigSchema } from '@lab/proxmox-sdk';
import { webConfigSchema } from '@lab/web';

/** `lab.config.json`, validated; errors name the key to fix. */
export const labConfigSchema = z
  .object({
    store: z.string().default('sqlite:./lab.db'),
    clusters: z.array(clusterConfigSchema).min(1, 'configure at least one cluster'),
    sync: z
      .object({
        enabled: z.boolean().default(true),
        fullIntervalMs: z.number().int().min(10_000).max(MAX_TIMER_MS, TIMER_MS_MESSAGE).optional(),
        quickIntervalMs: z.number().int().min(1_000).max(MAX_TIMER_MS, TIMER_MS_MESSAGE).optional(),
      })
      .strict()
      .default({ enabled: true }),
    deploy: z
      .object({
        global: z.number().int().min(1).optional(),
        perNode: z.number().int().min(1).optional(),
        perStorage: z.number().int().min(1).optional(),
      })
      .strict()
      .default({}),
    cli: z.object({ defaultUser: z.string().optional() }).strict().default({}),
    slack: z
      .object({
        signingSecret: z.string().optional(),
        botToken: z.string().optional(),
        socketMode: z.boolean().default(false),
        appToken: z.string().optional(),
        port: z.number().int().optional(),
        host: z.string().min(1).optional(),
        apiUrl: z.url().optional(),
      })
      .strict()
      .optional(),
    console: z
      .object({
        publicUrl: z
          .url({
            protocol: /^https?$/,
            error: "the bot's public address, e.g. https://lab.school.example (what the reverse proxy serves)",
          })
          .optional(),
        linkTtlSeconds: z.number().int().min(10).max(3600).default(60),
        sessionMinutes: z
          .number()
          .int()
          .min(1)
          .max(24 * 60)
          .default(30),
      })
      .strict()
      .optional(),
    discord: z
      .object({
        mode: z.enum(['http', 'gateway']).default('http'),
        token: z.string().optional(),
        applicationId: z.string().optional(),
        publicKey: z.string().optional(),
        guildId: z.string().optional(),
        port: z.number().int().optional(),
        host: z.string().min(1).optional(),
        apiUrl: z.url().optional(),
      })
      .strict()
      .optional(),
    /** The web portal (`lab serve web`): its public address, the school's OpenID provider, session limits. */
    web: webConfigSchema.optional(),
  })
  .strict();

/** A validated configuration. */
export type LabConfig = z.output<typeof labConfigSchema>;

/**
 * Reads and validates the configuration at `path` (or `LAB_CONFIG`, or `./lab.config.json`).
 * Secrets may come from the environment: `SLACK_SIGNING_SECRET`, `SLACK_BOT_TOKEN`, `DISCORD_TOKEN`,
 * `DISCORD_PUBLIC_KEY`, `LAB_STORE`; cluster secrets from `LAB_CLUSTER_<ID>_TOKEN_SECRET`.
 */
export function loadLabConfig(path?: string, env: Record<string, string | undefined> = process.env): LabConfig {
  const file = path ?? env.LAB_CONFIG ?? './lab.config.json';
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot read the configuration ${file} (${(error as NodeJS.ErrnoException).code}); run lab init, or pass --config FILE or set LAB_CONFIG`,
      { file },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file} is not valid JSON: ${(error as Error).message}`, { file });
  }
  const result = labConfigSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(`${file}: config key '${issue.path.join('.') || '(root)'}': ${issue.message}`, {
      file,
      key: issue.path.join('.'),
    });
  }
  const config = result.data;
  config.store = env.LAB_STORE ?? resolveStoreUrl(config.store, dirname(resolve(file)));
  if (config.web) config.web.oidc.clientSecretFile = resolve(dirname(resolve(file)), config.web.oidc.clientSecretFile);
  if (env.SLACK_SIGNING_SECRET || env.SLACK_BOT_TOKEN)
    config.slack = {
      socketMode: false,
      ...config.slack,
      ...(env.SLACK_SIGNING_SECRET ? { signingSecret: env.SLACK_SIGNING_SECRET } : {}),
      ...(env.SLACK_BOT_TOKEN ? { botToken: env.SLACK_BOT_TOKEN } : {}),
    };
  if (env.DISCORD_TOKEN || env.DISCORD_PUBLIC_KEY)
    config.discord = {
      mode: 'http',
      ...config.discord,
      ...(env.DISCORD_TOKEN ? { token: env.DISCORD_TOKEN } : {}),
      ...(env.DISCORD_PUBLIC_KEY ? { publicKey: env.DISCORD_PUBLIC_KEY } : {}),
    };
  return config;
}

/**
 * A `sqlite:` store with a relative path, resolved against `baseDir` — the configuration file's
 * directory, so `lab --config /etc/proxmox-lab/lab.config.json` finds the same store from any
 * working directory (and a systemd unit from its own). Other URLs are returned as they are.
 */
export function resolveStoreUrl(store: string, baseDir: string): string {
  if (!store.startsWith('sqlite:')) return store;
  const path = store.slice('sqlite:'.length);
  if (!path || path === ':memory:' || path.startsWith('//') || isAbsolute(path)) return store;
  return `sqlite:${resolve(baseDir, path)}`;
}

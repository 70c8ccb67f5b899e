import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '@lab/proxmox-sdk/errors';
import {
  MAX_TIMER_MS,
  TIMER_MS_MESSAGE,
  DEFAULT_AUDIT_RETENTION_DAYS,
  clusterConfigSchema,
  costRatesSchema,
  directoryConfigSchema,
} from '@lab/proxmox-sdk';
import type { FrontEndRegistry } from '@lab/commands';
import type { SlackConfig } from '@lab/bot-slack/front-end';
import type { DiscordConfig } from '@lab/bot-discord/front-end';
import type { CliConfig } from './cli-front-end.js';
import { labFrontEnds } from './front-ends.js';

/** True for a time zone name `Intl` knows (`Europe/Berlin`, `UTC`). */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** How long `lab serve` lets running commands finish after SIGTERM, when `serve.drainSeconds` is not set. */
export const DEFAULT_DRAIN_SECONDS = 20;

/** The sections of lab.config.json that are no front end's: the store, the clusters, sync, deploy limits, the console. */
const labConfigBaseSchema = z
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
        copiesPerStorage: z.number().int().min(1).optional(),
      })
      .strict()
      .default({}),
    timezone: z
      .string()
      .refine(isTimeZone, 'not a time zone name; use an IANA name such as Europe/Berlin')
      .default('UTC'),
    serve: z
      .object({
        drainSeconds: z
          .number()
          .int('whole seconds')
          .min(0, 'at least 0 seconds')
          .max(3_600, 'at most 3600 seconds; keep it below the service manager’s stop timeout')
          .default(DEFAULT_DRAIN_SECONDS),
      })
      .strict()
      .default({ drainSeconds: DEFAULT_DRAIN_SECONDS }),
    endOfTerm: z
      .object({
        graceDays: z.number().int().min(0).max(365).default(14),
      })
      .strict()
      .default({ graceDays: 14 }),
    sdn: z
      .object({
        prefix: z
          .string()
          .regex(/^[a-zA-Z][a-zA-Z0-9]{0,2}$/, '1 to 3 letters or digits, starting with a letter (e.g. lab)'),
        pool: z.string().optional(),
        subnetBits: z.number().int().min(8).max(29).optional(),
        tags: z
          .object({ from: z.number().int().min(1), to: z.number().int().min(1) })
          .strict()
          .optional(),
        dhcp: z.boolean().optional(),
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
        maxSessionsPerPerson: z.number().int().min(1).max(20).default(3),
        maxSessionsPerVm: z.number().int().min(1).max(20).default(2),
        // PVE gives each node 100 VNC ports (5900–5999) for every console, its own GUI's included.
        maxSessionsPerNode: z.number().int().min(1).max(80).default(40),
        linksPerMinute: z.number().int().min(1).max(120).default(10),
      })
      .strict()
      .optional(),
    directory: directoryConfigSchema.optional(),
    costs: costRatesSchema.optional(),
    audit: z
      .object({
        retentionDays: z
          .number()
          .int('whole days')
          .min(30, 'keep at least 30 days')
          .max(3_650, 'at most 3650 days (ten years)')
          .default(DEFAULT_AUDIT_RETENTION_DAYS),
      })
      .strict()
      .default({ retentionDays: DEFAULT_AUDIT_RETENTION_DAYS }),
  })
  .strict();

/**
 * `lab.config.json` with the sections of `frontEnds` (each front end's `configSchema` under its id:
 * `slack`, `discord`, `cli`, …), validated strictly; errors name the key to fix.
 */
export function labConfigSchemaFor(frontEnds: FrontEndRegistry): z.ZodType<LabConfig> {
  const sections = Object.fromEntries(
    frontEnds.list().flatMap((f) => (f.configSchema ? [[f.id, f.configSchema.optional()]] : [])),
  );
  return labConfigBaseSchema
    .extend(sections)
    .strict()
    .transform((config) => ({
      ...config,
      cli: (config as { cli?: CliConfig }).cli ?? {},
    })) as unknown as z.ZodType<LabConfig>;
}

/** `lab.config.json` with the sections of the front ends `lab` knows ({@link labFrontEnds}). */
export const labConfigSchema: z.ZodType<LabConfig> = labConfigSchemaFor(labFrontEnds);

/**
 * A validated configuration: the shared sections, the built-in front ends' sections typed, and any
 * other registered front end's section under its id (read it through its definition).
 */
export type LabConfig = z.output<typeof labConfigBaseSchema> & {
  cli: CliConfig;
  slack?: SlackConfig;
  discord?: DiscordConfig;
  [frontEndSection: string]: unknown;
};

/**
 * Reads and validates the configuration at `path` (or `LAB_CONFIG`, or `./lab.config.json`), with a
 * section for each of `frontEnds`. Secrets may come from the environment (each front end's
 * `configFromEnvironment`): `SLACK_SIGNING_SECRET`, `SLACK_BOT_TOKEN`, `DISCORD_TOKEN`,
 * `DISCORD_PUBLIC_KEY`, `LAB_STORE`; cluster secrets from `LAB_CLUSTER_<ID>_TOKEN_SECRET`.
 */
export function loadLabConfig(
  path?: string,
  env: Record<string, string | undefined> = process.env,
  frontEnds: FrontEndRegistry = labFrontEnds,
): LabConfig {
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
    // A byte order mark (Windows editors save UTF-8 with one) is not JSON; the rest of the file may be.
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new ConfigError(`${file} is not valid JSON: ${(error as Error).message}`, { file });
  }
  const result = labConfigSchemaFor(frontEnds).safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(`${file}: config key '${issue.path.join('.') || '(root)'}': ${issue.message}`, {
      file,
      key: issue.path.join('.'),
    });
  }
  const config: Record<string, unknown> = { ...result.data };
  config.store = env.LAB_STORE ?? resolveStoreUrl(result.data.store, dirname(resolve(file)));
  for (const frontEnd of frontEnds.list()) {
    if (!frontEnd.configFromEnvironment) continue;
    const section = frontEnd.configFromEnvironment(config[frontEnd.id], env);
    if (section !== undefined) config[frontEnd.id] = section;
  }
  return config as LabConfig;
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

import { readFileSync } from 'node:fs';
import { pino, type DestinationStream, type Logger as Pino } from 'pino';
import { redact, scrub, type LogFields, type Logger, type LogLevel } from '@lab/proxmox-sdk';
import type { FrontEndRegistry } from '@lab/commands';
import type { LabConfig } from '../lab-config.js';
import { labFrontEnds } from '../front-ends.js';

/** Options of {@link createPinoLogger}. */
export interface PinoLoggerOptions {
  /** Lowest level written. @defaultValue `'info'` */
  level?: LogLevel;
  /**
   * Exact secret strings (cluster token secrets and passwords, the Slack signing secret, bot and app
   * tokens) scrubbed from every message and field, on top of the secret-named keys the SDK's
   * `redact` replaces. Strings shorter than four characters are ignored.
   */
  secrets?: readonly string[];
  /** Fields on every line (`{ service: 'lab-serve', kind: 'slack' }`). */
  bindings?: LogFields;
  /** Where lines go. @defaultValue standard error, written synchronously (no line lost on exit) */
  destination?: DestinationStream;
}

/**
 * The `Logger` port on pino: one JSON line per record (`level` as a name, ISO `time`, `msg`, then
 * the fields), for log shippers. Redaction is the SDK logger's, applied before pino sees a record:
 * every field whose name looks secret becomes `[REDACTED]`, errors become `{name, message, code}`,
 * and every listed secret is scrubbed from any text, the message included.
 */
export function createPinoLogger(options: PinoLoggerOptions = {}): Logger {
  const secrets = [...(options.secrets ?? [])];
  const base = pino(
    {
      level: options.level ?? 'info',
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 2, sync: true }),
  );
  return wrap(options.bindings ? base.child(redact(options.bindings, secrets) as LogFields) : base, secrets);
}

function wrap(p: Pino, secrets: readonly string[]): Logger {
  const write = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (!p.isLevelEnabled(level)) return;
    p[level]((fields ? redact(fields, secrets) : {}) as object, scrub(message, secrets));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (bindings) => wrap(p.child(redact(bindings, secrets) as LogFields), secrets),
  };
}

/** `LAB_LOG_LEVEL` as a level: `debug`, `info` (the default, also for anything else), `warn`, `error`. */
export function logLevelFrom(value: string | undefined): LogLevel {
  const v = value?.trim().toLowerCase();
  return v === 'debug' || v === 'warn' || v === 'error' ? v : 'info';
}

/**
 * Every secret value a configuration holds, to scrub from logs by value: cluster token secrets
 * (inline, from `tokenSecretFile`, or `LAB_CLUSTER_<ID>_TOKEN_SECRET`) and passwords, and each
 * front end's (`secrets`: the Slack signing secret, bot and app tokens, the Discord bot token, …).
 */
export function configSecrets(
  config: LabConfig,
  env: Record<string, string | undefined> = process.env,
  frontEnds: FrontEndRegistry = labFrontEnds,
): string[] {
  const secrets: Array<string | undefined> = frontEnds.list().flatMap((f) => f.secrets?.(config[f.id]) ?? []);
  for (const c of config.clusters) {
    secrets.push(c.tokenSecret, c.password);
    if (c.tokenSecretFile) {
      try {
        secrets.push(readFileSync(c.tokenSecretFile, 'utf8').trim());
      } catch {
        // Clusters reports an unreadable file; nothing to scrub then
      }
    }
  }
  for (const [key, value] of Object.entries(env))
    if (/^(LAB_CLUSTER_.+_(TOKEN_SECRET|PASSWORD)|SLACK_.*(SECRET|TOKEN)|DISCORD_TOKEN)$/.test(key))
      secrets.push(value);
  return [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4))];
}

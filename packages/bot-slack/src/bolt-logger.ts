import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { LogFields, Logger } from '@lab/proxmox-sdk';

const RANK: Record<LogLevel, number> = {
  [LogLevel.DEBUG]: 10,
  [LogLevel.INFO]: 20,
  [LogLevel.WARN]: 30,
  [LogLevel.ERROR]: 40,
};

/** Bolt's arguments as our message and fields: texts joined, an error as `error`, anything else as `details`. */
function record(args: unknown[]): { message: string; fields?: LogFields } {
  const texts = args.filter((a): a is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof a));
  const error = args.find((a) => a instanceof Error);
  const others = args.filter((a) => a !== error && !texts.includes(a as never) && a !== undefined && a !== null);
  const fields: LogFields = {
    ...(error ? { error } : {}),
    ...(others.length ? { details: others.length === 1 ? others[0] : others } : {}),
  };
  return {
    message: texts.join(' ') || (error instanceof Error ? error.message : 'Bolt'),
    ...(Object.keys(fields).length ? { fields } : {}),
  };
}

/**
 * Bolt's logger (its App, HTTP receiver, Socket Mode client and Web API client log through it) on
 * ours, so every line is structured and goes through our redaction: `{ source: 'bolt' }` on each.
 * Bolt's debug lines are dropped whatever the level: they carry whole request bodies (the legacy
 * verification token, `response_url`s) as JSON text, which no key-based redaction can see into.
 */
export function boltLogger(logger: Logger): BoltLogger {
  const bolt = logger.child({ source: 'bolt' });
  let level: LogLevel = LogLevel.INFO;
  const at =
    (target: LogLevel, write: (message: string, fields?: LogFields) => void) =>
    (...args: unknown[]): void => {
      if (RANK[target] < RANK[level]) return;
      const { message, fields } = record(args);
      write(message, fields);
    };
  return {
    debug: () => undefined,
    info: at(LogLevel.INFO, (m, f) => bolt.info(m, f)),
    warn: at(LogLevel.WARN, (m, f) => bolt.warn(m, f)),
    error: at(LogLevel.ERROR, (m, f) => bolt.error(m, f)),
    setLevel: (next) => {
      level = RANK[next] < RANK[LogLevel.INFO] ? LogLevel.INFO : next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

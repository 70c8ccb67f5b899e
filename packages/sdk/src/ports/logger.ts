import { redact } from '../util/redact.js';

/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** Level names, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A structured logger. Implementations must redact secrets (see `redact`). */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `bindings` to every line. */
  child(bindings: LogFields): Logger;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** One log line as handed to a sink, already redacted. */
export interface LogRecord {
  time: string;
  level: LogLevel;
  msg: string;
  [field: string]: unknown;
}

/** Options for `createLogger`. */
export interface CreateLoggerOptions {
  /** Lowest level written. @defaultValue `'info'` */
  level?: LogLevel;
  /** Where records go. @defaultValue one JSON line per record on stderr */
  sink?: (record: LogRecord) => void;
  /** Exact secret strings to scrub from any field or message, in addition to secret-named keys. */
  secrets?: readonly string[];
  /** Fields added to every record. */
  bindings?: LogFields;
}

/** A JSON-lines logger that redacts secret-named fields and any listed secret value. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const threshold = LEVELS[options.level ?? 'info'];
  const sink = options.sink ?? ((record: LogRecord) => process.stderr.write(`${JSON.stringify(record)}\n`));
  const secrets = options.secrets ?? [];
  const bindings = options.bindings ?? {};
  const write = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (LEVELS[level] < threshold) return;
    const record = redact({ time: new Date().toISOString(), level, msg, ...bindings, ...fields }, secrets) as LogRecord;
    sink(record);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (more) => createLogger({ ...options, bindings: { ...bindings, ...more } }),
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

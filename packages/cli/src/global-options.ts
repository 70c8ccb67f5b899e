import type { Command } from 'commander';

/** The flags every `lab` command takes. */
export interface GlobalOptions {
  config?: string;
  as?: string;
  json?: boolean;
  yes?: boolean;
}

/** The global flags as `command` sees them (its own options and its parents'). */
export const globals = (command: Command): GlobalOptions => command.optsWithGlobals<GlobalOptions>();

/** Prints one result on stdout, with a trailing newline. */
export const out = (text: string): void => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);

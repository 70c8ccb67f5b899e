import type { Command } from 'commander';
import { ProgressThrottle, renderProgress, renderReplyText, type Reply } from '@lab/commands';
import { asCliWording } from './cli-wording.js';
import { globals, out } from './global-options.js';
import { LabExit } from './lab-exit.js';
import { loadLabConfig, type LabConfig } from './lab-config.js';
import { operatorName } from './operator.js';
import type { PluginCall } from './plugin-commands.js';
import { confirm, interactive } from './prompt.js';

/** Least time between two redraws of the progress on the terminal. */
const PROGRESS_INTERVAL_MS = 100;

/**
 * The CLI's own part after the router answered (writing files the reply describes): returns what
 * `lab` prints. Runs only for a reply that is not an error, so the router has authorized the caller.
 */
export type DeliverReply = (
  reply: Reply,
  context: { config: LabConfig; json: boolean; command: Command },
) => string | Promise<string>;

/**
 * Runs one router subcommand as the caller the flags name: `--as`, else `cli.defaultUser`, else the
 * local operator (an admin, audited as `cli:<os user>`). Asks before destructive commands on a
 * terminal; elsewhere they need `--yes`. `deliver` replaces printing the reply.
 */
export async function runThroughRouter(call: PluginCall, deliver?: DeliverReply): Promise<void> {
  const flags = globals(call.command);
  const config = loadLabConfig(flags.config);
  const { openLabRuntime } = await import('./lab-runtime.js');
  const runtime = await openLabRuntime(config);
  try {
    const as = flags.as ?? config.cli.defaultUser;
    const who = as ? { userId: as } : { userId: operatorName(), operator: true };
    const tty = Boolean(process.stderr.isTTY) && !flags.json;
    const invoke = async (confirmed: boolean) => {
      // Progress is shown on the terminal only: the bar (one line, rewritten) and below it the clones under way and failures.
      let lines = 0;
      const clear = (): void => void process.stderr.write(`\r\x1b[K${'\x1b[1A\x1b[K'.repeat(lines)}`);
      const throttle = new ProgressThrottle({
        intervalMs: PROGRESS_INTERVAL_MS,
        send: (u) => {
          const text = renderProgress(u);
          clear();
          process.stderr.write(text);
          lines = text.split('\n').length - 1;
        },
        onError: () => undefined,
      });
      const answer = await runtime.router.invoke({
        platform: 'cli',
        ...who,
        command: call.plugin,
        subcommand: call.subcommand,
        options: call.options,
        confirmed,
        ...(tty ? { onProgress: throttle.push } : {}),
      });
      await throttle.stop();
      if (tty) clear();
      return { ...answer, text: asCliWording(answer.text) };
    };
    let reply = await invoke(flags.yes ?? false);
    if (reply.confirm && !reply.error) {
      if (flags.json || !interactive()) {
        const [first, ...rest] = reply.text.split('\n');
        throw new LabExit(`${first} Re-run with --yes to confirm.`, 1, rest);
      }
      if (!(await confirm(`${reply.text} ${reply.confirm.prompt}`))) throw new LabExit('Nothing was changed.');
      reply = await invoke(true);
    }
    // A refusal is one line on stderr; a command that ran and partly failed (a sync with a cluster
    // down, a deployment with failed clones) prints its whole report, then exits 1.
    if (reply.error && reply.data === undefined) throw new LabExit(reply.text);
    if (deliver && !reply.error) {
      out(await deliver(reply, { config, json: flags.json ?? false, command: call.command }));
      return;
    }
    const written = reply.attachments?.length
      ? await writeAttachments(reply.attachments, call.command.opts<{ out?: string }>().out ?? '.')
      : [];
    out(
      flags.json
        ? JSON.stringify(withFiles(reply.data ?? { text: reply.text }, written))
        : [renderReplyText(reply), ...written.map((f) => `wrote ${f}`)].join('\n'),
    );
    if (reply.error) process.exitCode = 1;
  } finally {
    await runtime.close();
  }
}

/** The JSON of a reply with the paths of the files written for it (`files`), when there are any. */
function withFiles(data: unknown, files: readonly string[]): unknown {
  if (!files.length) return data;
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? { ...data, files } : { data, files };
}

/** Writes a reply's files (an `.rdp` file from `lab myvm connect`) into `dir`; returns their paths. */
async function writeAttachments(files: NonNullable<Reply['attachments']>, dir: string): Promise<string[]> {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const path = await import('node:path');
  mkdirSync(dir, { recursive: true });
  return files.map((f) => {
    const file = path.join(dir, path.basename(f.filename));
    writeFileSync(file, f.content);
    return file;
  });
}

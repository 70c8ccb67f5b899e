import type { CommandRouter, ProgressUpdate, Reply } from '@lab/commands';

/** What a Discord interaction asks the command layer to do. */
export interface DiscordInvocation {
  command: string;
  subcommand: string;
  options: Record<string, unknown>;
  confirmed: boolean;
}

const CONFIRM = 'lab_confirm:';

/**
 * Whether the deferred reply must be ephemeral. Decided at defer time, since Discord cannot change
 * it afterwards: personal-data commands, confirmations and unknown commands answer privately.
 */
export function deferAsEphemeral(router: CommandRouter, invocation: DiscordInvocation): boolean {
  const definition = router.plugins.get(invocation.command)?.subcommands[invocation.subcommand];
  return !definition || definition.ephemeral === true || invocation.confirmed;
}

/** The message components of a reply: a danger button that re-runs the command confirmed. */
export function replyComponents(reply: Reply, invocation: DiscordInvocation): unknown[] {
  if (!reply.confirm) return [];
  const customId = `${CONFIRM}${JSON.stringify({ c: invocation.command, s: invocation.subcommand, o: invocation.options })}`.slice(0, 100);
  return [{ type: 1, components: [{ type: 2, style: 4, label: reply.confirm.prompt.slice(0, 80), custom_id: customId }] }];
}

/** The invocation a Confirm button carries, or undefined for other components. */
export function confirmedInvocation(customId: string): DiscordInvocation | undefined {
  if (!customId.startsWith(CONFIRM)) return undefined;
  const saved = JSON.parse(customId.slice(CONFIRM.length)) as { c: string; s: string; o: Record<string, unknown> };
  return { command: saved.c, subcommand: saved.s, options: saved.o, confirmed: true };
}

/**
 * A progress handler that sends at most one edit per `intervalMs` (always the last one), chained so
 * edits arrive in order; `flush()` waits for the edits sent so far.
 */
export function throttledEdits(intervalMs: number, send: (update: ProgressUpdate) => Promise<unknown>, onError: (error: unknown) => void): { onProgress: (update: ProgressUpdate) => void; flush: () => Promise<unknown> } {
  let last = 0;
  let chain: Promise<unknown> = Promise.resolve();
  return {
    onProgress: (update) => {
      if (Date.now() - last < intervalMs && update.done !== update.total) return;
      last = Date.now();
      chain = chain.then(() => send(update)).catch(onError);
    },
    flush: () => chain,
  };
}

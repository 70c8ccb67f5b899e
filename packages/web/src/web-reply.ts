import type { ZodType } from 'zod';
import { describeOption, type CommandRouter, type Reply } from '@lab/commands';

/**
 * A reply as the portal shows it: an option the router refused becomes a sentence naming the form
 * field, without the chat usage line (`Usage: /lab …`) that `text` carries for chat.
 */
export function replyForTheWeb(router: CommandRouter, command: string, subcommand: string, reply: Reply): Reply {
  if (!reply.invalid) return reply;
  const sub = router.plugins.get(command)?.subcommands[subcommand];
  const schema = sub ? (sub.options.shape as Record<string, ZodType>)[reply.invalid.option] : undefined;
  const problem = reply.invalid.problem.replace(/\.$/, '');
  const text = schema
    ? `Check the field “${describeOption(schema) || reply.invalid.option}”: ${problem}. Correct it and send the form again.`
    : `The form is not complete: ${problem}. Correct it and send the form again.`;
  return { ...reply, text };
}

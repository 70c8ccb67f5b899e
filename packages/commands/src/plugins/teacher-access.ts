import { z } from 'zod';
import { classesTaughtBy } from '@lab/proxmox-sdk';
import { NotAllowedError, UnknownClassError } from '@lab/proxmox-sdk/errors';
import { subcommand, type CommandContext, type Reply, type Subcommand } from '../command-plugin.js';

/** A class id option, e.g. `cs101`. */
export const classId = z
  .string({ error: 'name a class, e.g. cs101' })
  .regex(/^[a-z][a-z0-9-]{1,30}$/, 'a class id is lower-case letters, digits and dashes, e.g. cs101')
  .describe('class id, e.g. cs101');

/**
 * Teachers act on the classes they teach; admins on all. A class that does not exist →
 * `UnknownClassError` (naming the classes the caller may act on); one the caller does not teach →
 * `NotAllowedError`.
 */
export async function mustTeach(ctx: CommandContext, klass: string, action: string): Promise<void> {
  const { viewer } = ctx.caller;
  const { store } = ctx.services;
  const taught = viewer.role === 'admin' ? null : await classesTaughtBy(store, viewer.personId!);
  if (!(await store.classes.getClass(klass)))
    throw new UnknownClassError(klass, taught ?? (await store.classes.listClasses()).map((c) => c.id));
  if (taught && !taught.includes(klass))
    throw new NotAllowedError({
      actor: viewer.username,
      action,
      target: `class ${klass}`,
      reason: taught.length ? `you teach ${taught.join(', ')}` : 'you teach no class yet',
    });
}

/** The classes the caller may act on as a teacher (all for admins), for autocomplete. */
export async function classNames(ctx: CommandContext): Promise<string[]> {
  const { viewer } = ctx.caller;
  return viewer.role === 'admin'
    ? (await ctx.services.store.classes.listClasses()).map((c) => c.id)
    : classesTaughtBy(ctx.services.store, viewer.personId!);
}

/**
 * A teacher's look at one class (`/lab status cs101`, `grid`): the class is the one
 * option, positional and autocompleted; the caller must teach it; replies are for the caller only.
 */
export function classViewSubcommand(definition: {
  description: string;
  /** What a caller who does not teach the class is refused (`NotAllowedError`), e.g. "see the grid of". */
  action: string;
  run(ctx: CommandContext, o: { class: string }): Promise<Reply>;
}): Subcommand {
  return subcommand({
    description: definition.description,
    options: z.object({ class: classId }),
    positional: ['class'],
    role: 'teacher',
    ephemeral: true,
    autocomplete: { class: classNames },
    async run(ctx, o) {
      await mustTeach(ctx, o.class, definition.action);
      return definition.run(ctx, o);
    },
  });
}

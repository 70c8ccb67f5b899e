import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { formatHours, parseTopUpHours, studentUsage, topUpQuota } from '@lab/proxmox-sdk';
import { TopUpAmountError } from '@lab/proxmox-sdk/errors';
import { subcommand } from '../command-plugin.js';
import { classId, classNames, mustTeach } from './teacher-access.js';
import { usernameOption } from './onboarding-options.js';

/** A top-up amount: `+5h`, `1.5h`, `+30m`; read into hours, anything else refused with the reason. */
const topUpAmount = z
  .string({ error: 'say how much to add, e.g. +5h or +30m' })
  .transform((text, ctx) => {
    try {
      return parseTopUpHours(text);
    } catch (error) {
      if (!(error instanceof TopUpAmountError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message });
      return z.NEVER;
    }
  })
  .describe('hours or minutes to add, e.g. +5h or +30m');

/**
 * `/lab quota <class> <student> +5h [--key K]`: gives one student more hours of the class's quota
 * (outside sessions). Applied and audited once per `--key` (a retry with the same key changes
 * nothing); chat deliveries are replay-guarded already, so the key matters for scripts and the CLI.
 */
export const quotaSubcommand = subcommand({
  description: "Give a student more hours of the class's quota (e.g. +5h), audited",
  options: z.object({
    class: classId,
    student: usernameOption.describe('the student (lab username)'),
    amount: topUpAmount,
    key: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'a key is 1–100 letters, digits, dots, dashes, colons or underscores')
      .optional()
      .describe('idempotency key: a retry with the same key applies the top-up once'),
  }),
  positional: ['class', 'student', 'amount'],
  role: 'teacher',
  autocomplete: { class: classNames },
  async run(ctx, o) {
    await mustTeach(ctx, o.class, 'give hours in');
    const { store, clock } = ctx.services;
    const person = await store.classes.getPersonByUsername(o.student);
    const enrolled =
      person &&
      ((await store.classes.members(o.class)).some((m) => m.personId === person.id && m.role === 'student') ||
        (await store.classes.assignmentsOf(person.id)).some((a) => a.classId === o.class && a.role === 'student'));
    if (!person || !enrolled)
      return { text: `${o.student} is not a student of ${o.class}; check the name.`, ephemeral: true, error: true };
    const outcome = await topUpQuota(store, {
      classId: o.class,
      person: { id: person.id, username: person.username },
      hours: o.amount,
      idempotencyKey: o.key ? `key:${o.class}:${o.key}` : `once:${randomUUID()}`,
      actor: ctx.caller.person.username,
      at: clock.now(),
    });
    const added = formatHours(outcome.topUp.hours * 3_600_000);
    if (!outcome.applied && (outcome.topUp.personId !== person.id || outcome.topUp.hours !== o.amount)) {
      const other = await store.classes.getPerson(outcome.topUp.personId);
      return {
        text: `The key ${o.key} was used already in ${o.class} for another top-up (${added} for ${other?.username ?? 'another student'}, by ${outcome.topUp.actor}); nothing was added. Give each top-up its own --key.`,
        ephemeral: true,
        error: true,
      };
    }
    const usage = await studentUsage(store, o.class, person.id, clock.now());
    const now = `${person.username} now has ${formatHours(usage.quotaMs ?? 0)} in ${o.class} (${formatHours(usage.leftMs ?? 0)} left).`;
    return {
      text: outcome.applied
        ? `Added ${added} to ${person.username}'s hours in ${o.class}. ${now}`
        : `This top-up (key ${o.key}) was applied already, ${added} by ${outcome.topUp.actor}; nothing was added again. ${now}`,
      data: { applied: outcome.applied, topUp: outcome.topUp, usage },
    };
  },
});

import { z, type ZodType } from 'zod';
import { classesTaughtBy, USERNAME, type ClassRecord, type PersonRecord } from '@lab/proxmox-sdk';
import { NotAllowedError, UnknownClassError, UnknownPersonError } from '@lab/proxmox-sdk/errors';
import type { CommandContext } from '../command-plugin.js';

/** A class id option. */
export const classIdOption = z
  .string({ error: 'name a class, e.g. cs101' })
  .regex(/^[a-z][a-z0-9-]{1,30}$/, 'a class id is lower-case letters, digits and dashes, e.g. cs101')
  .describe('class id, e.g. cs101');

/** A lab username option. */
export const usernameOption = z
  .string({ error: 'name a lab user' })
  .regex(USERNAME, 'a username is 2–32 lower-case letters, digits, dots, dashes or underscores, starting with a letter')
  .describe('lab username');

/** A person role option. */
export const roleOption = z
  .enum(['student', 'teacher', 'admin'], { error: 'a role is student, teacher or admin' })
  .describe('student, teacher or admin');

/** An email option; Slack's auto-link `<mailto:a@b.c|a@b.c>` is unwrapped. */
export const emailOption = z
  .preprocess(
    (v) => (typeof v === 'string' ? v.replace(/^<mailto:([^|>]+)(\|[^>]*)?>$/, '$1') : v),
    z.string().regex(/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/, 'not an email address'),
  )
  .describe('email address');

/**
 * A list option: repeated (`--map a --map b`), comma-separated (`--map a,b`, as Discord sends one
 * string) or the remaining positional words (`enrol cs101 alice bob`).
 */
export function listOf<T extends ZodType>(item: T, description: string) {
  return z
    .preprocess(
      (v) => (typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean) : v),
      z.array(item).min(1, 'give at least one'),
    )
    .describe(description);
}

/**
 * Text of several words, as the list of its words: the remaining positional words in Slack and CLI
 * text (`sshkey add ssh-ed25519 AAAA… me@laptop`), or the one string Discord sends, kept whole.
 */
export function wordsOf() {
  return z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(z.string()));
}

/** The person with this username, or `UnknownPersonError`. */
export async function personNamed(ctx: CommandContext, username: string): Promise<PersonRecord> {
  const person = await ctx.services.store.classes.getPersonByUsername(username);
  if (!person) throw new UnknownPersonError(username);
  return person;
}

/** The class with this id, or `UnknownClassError` listing the classes there are. */
export async function classNamed(ctx: CommandContext, classId: string): Promise<ClassRecord> {
  const klass = await ctx.services.store.classes.getClass(classId);
  if (!klass)
    throw new UnknownClassError(
      classId,
      (await ctx.services.store.classes.listClasses()).map((c) => c.id),
    );
  return klass;
}

/** Teachers act on the classes they teach; admins on all. Refusals are audited as denied. */
export async function mustTeachClass(ctx: CommandContext, classId: string, action: string): Promise<void> {
  const { viewer } = ctx.caller;
  if (viewer.role === 'admin') return;
  const taught = viewer.personId === null ? [] : await classesTaughtBy(ctx.services.store, viewer.personId);
  if (!taught.includes(classId))
    throw new NotAllowedError({
      actor: viewer.username,
      action,
      target: `class ${classId}`,
      reason: taught.length ? `you teach ${taught.join(', ')}` : 'you teach no class yet',
    });
}

/** Class ids the caller may manage, for autocomplete. */
export async function manageableClasses(ctx: CommandContext): Promise<string[]> {
  const { viewer } = ctx.caller;
  if (viewer.role === 'admin') return (await ctx.services.store.classes.listClasses()).map((c) => c.id);
  return viewer.personId === null ? [] : classesTaughtBy(ctx.services.store, viewer.personId);
}

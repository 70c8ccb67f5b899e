import { z } from 'zod';
import { MAX_TIMER_MS, TIMER_MS_MESSAGE } from '../util/timer-limit.js';

const CLASS_ID = /^[a-z][a-z0-9-]{1,30}$/;

/** What one directory group grants: a class as student or teacher, or the lab's admin role. */
export const groupGrantSchema = z.union([
  z
    .object({
      class: z.string().regex(CLASS_ID, 'a class id is lower-case letters, digits and dashes, e.g. cs101'),
      role: z.enum(['student', 'teacher'], { error: "role is 'student' or 'teacher' (or use { \"admin\": true })" }),
    })
    .strict(),
  z.object({ admin: z.literal(true) }).strict(),
]);

/** A group grant as configured. */
export type GroupGrantConfig = z.output<typeof groupGrantSchema>;

/**
 * `directory.groups`: a group's name (its `cn`, or the value an OpenID provider puts in the
 * `groups` claim) or its DN → one grant or a list of grants.
 */
export const directoryGroupsSchema = z.record(
  z.string().trim().min(1, 'a group name or DN cannot be empty'),
  z.union([groupGrantSchema, z.array(groupGrantSchema).min(1, 'give at least one grant')]),
);

/** `directory.groups` as configured. */
export type DirectoryGroupsConfig = z.output<typeof directoryGroupsSchema>;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/i;

/** Whether `host` (as in a URL, IPv6 in brackets) is this machine. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

const FILTER = /^\(.*\)$/s;
const FILTER_MESSAGE = 'an LDAP filter in parentheses, e.g. (objectClass=person)';
const FINGERPRINT = /^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/;

/** `directory.ldap`: where and how to read people and groups. */
export const ldapConfigSchema = z
  .object({
    url: z
      .string()
      .refine((u) => /^ldaps?:\/\/[^/?#@]+\/?$/.test(u), 'ldaps://host[:port] or ldap://host[:port], no path or user'),
    /** Upgrade an `ldap://` connection with StartTLS (required unless the server is on loopback). */
    startTls: z.boolean().default(false),
    bindDn: z.string().min(1, 'the DN (or user@domain on Active Directory) of the service account'),
    password: z.string().min(1).optional(),
    passwordFile: z.string().min(1).optional(),
    fingerprint: z
      .string()
      .regex(FINGERPRINT, "a SHA-256 fingerprint, 64 hex digits, colons optional ('AA:BB:…')")
      .optional(),
    ca: z.string().min(1).optional(),
    caFile: z.string().min(1).optional(),
    userBase: z.string().min(1, 'the DN under which people are searched, e.g. ou=people,dc=school,dc=example'),
    userFilter: z.string().regex(FILTER, FILTER_MESSAGE).default('(objectClass=person)'),
    groupBase: z.string().min(1).optional(),
    groupFilter: z
      .string()
      .min(1)
      .default('(|(objectClass=group)(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))'),
    attributes: z
      .object({
        username: z.string().min(1).default('uid'),
        displayName: z.string().min(1).default('displayName'),
        email: z.string().min(1).default('mail'),
      })
      .strict()
      .default({ username: 'uid', displayName: 'displayName', email: 'mail' }),
    /** How nested groups are resolved: AD's in-chain rule, walking the groups, or the server decides. */
    nested: z.enum(['auto', 'in-chain', 'walk']).default('auto'),
    pageSize: z.number().int().min(10).max(5000).default(500),
    timeoutMs: z.number().int().min(1000).max(MAX_TIMER_MS, TIMER_MS_MESSAGE).default(30_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    const url = new URL(c.url);
    const plain = url.protocol === 'ldap:';
    if (plain && !c.startTls && !isLoopbackHost(url.hostname))
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message:
          'plain LDAP would send the service password in clear; use ldaps:// or set startTls: true (plain ldap:// only on loopback)',
      });
    if (c.password && c.passwordFile)
      ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'give password or passwordFile, not both' });
    if (c.ca && c.caFile) ctx.addIssue({ code: 'custom', path: ['caFile'], message: 'give ca or caFile, not both' });
  });

/** `directory.ldap` as configured. */
export type LdapConfig = z.output<typeof ldapConfigSchema>;

/** The `directory` key of `lab.config.json`. */
export const directoryConfigSchema = z
  .object({
    groups: directoryGroupsSchema.default({}),
    /** A sync that would unenrol more than this share of a class's students stops and asks. @defaultValue 0.2 */
    maxUnenrolShare: z.number().min(0).max(1).default(0.2),
    ldap: ldapConfigSchema.optional(),
    /** How often `lab serve` syncs from LDAP (one process of the school, under a lease). @defaultValue 3600000 */
    intervalMs: z.number().int().min(60_000).max(MAX_TIMER_MS, TIMER_MS_MESSAGE).default(3_600_000),
    /** False keeps `lab serve` from syncing on a schedule (`lab directory sync` still works). */
    scheduled: z.boolean().default(true),
  })
  .strict();

/** The `directory` configuration. */
export type DirectoryConfig = z.output<typeof directoryConfigSchema>;

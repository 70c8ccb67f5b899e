import { z, type ZodType } from 'zod';
import { isLabError, type PersonRole } from '@lab/proxmox-sdk';
import { describeOption, type Caller, type CommandContext, type CommandPlugin, type LabServices, type Platform, type ProgressUpdate, type Reply, type RequiredRole } from './command-plugin.js';

/** One command invocation as a front end hands it over. */
export interface Invocation {
  platform: Platform;
  /** The caller's id on that platform (Slack `U…`, Discord snowflake, CLI username). */
  userId: string;
  /** `lab` or `myvm`. */
  command: string;
  /** The words after the command (Slack, CLI): `deploy cs101 10`. */
  text?: string;
  /** Already-typed options (Discord): subcommand plus option values. */
  subcommand?: string;
  options?: Record<string, unknown>;
  confirmed?: boolean;
  onProgress?: (update: ProgressUpdate) => void;
  /**
   * CLI only: the caller is the local operator, who holds the configuration and so the cluster
   * token. They act as an admin without a person record (`person.id` 0, `viewer.personId` null),
   * recorded in the audit log as `cli:<userId>` (the OS user). Ignored on other platforms.
   */
  operator?: boolean;
}

const RANK: Record<PersonRole, number> = { student: 1, teacher: 2, admin: 3 };
const NEEDED: Record<RequiredRole, number> = { student: 1, teacher: 2, admin: 3 };

/** How many commands one person may run per minute. */
export interface RateLimit {
  perMinute: number;
}

/**
 * The one place every front end sends commands: resolves the caller from their platform identity,
 * checks the role, validates options (zod), rate-limits, runs the plugin, writes the audit log and
 * renders errors as plain replies. Slack, Discord and the CLI only translate in and out.
 */
export class CommandRouter {
  readonly plugins: ReadonlyMap<string, CommandPlugin>;
  readonly #services: LabServices;
  readonly #rate: RateLimit;
  readonly #recent = new Map<string, number[]>();

  constructor(services: LabServices, plugins: readonly CommandPlugin[], options: { rateLimit?: RateLimit } = {}) {
    this.#services = services;
    this.plugins = new Map(plugins.map((p) => [p.name, p]));
    this.#rate = options.rateLimit ?? { perMinute: 30 };
  }

  /** Runs one invocation and returns its final reply (progress goes to `onProgress`). Never throws for user errors. */
  async invoke(invocation: Invocation): Promise<Reply> {
    const { services } = { services: this.#services };
    const plugin = this.plugins.get(invocation.command);
    if (!plugin) return { text: `Unknown command /${invocation.command}. Commands: ${[...this.plugins.keys()].map((k) => `/${k}`).join(', ')}`, ephemeral: true, error: true };
    const words = (invocation.text ?? '').trim().split(/\s+/).filter(Boolean);
    const subName = invocation.subcommand ?? words.shift() ?? 'help';
    if (subName === 'help') return { text: this.usage(plugin.name), ephemeral: true };
    const sub = plugin.subcommands[subName];
    if (!sub) return { text: `Unknown subcommand '${subName}'.\n${this.usage(plugin.name)}`, ephemeral: true, error: true };
    const target = `/${plugin.name} ${subName}`;

    const caller = await this.#resolveCaller(invocation.platform, invocation.userId, invocation.operator);
    if (!caller) {
      return {
        text: invocation.platform === 'cli'
          ? `No lab user '${invocation.userId}'. Create it first (lab people add) or run as an existing user with --as.`
          : "You are not enrolled in Proxmox Lab yet. Ask your teacher to run `/lab link @you <your-username>`.",
        ephemeral: true,
        error: true,
      };
    }
    const actor = caller.person.username;
    if (RANK[caller.person.role] < NEEDED[sub.role]) {
      await services.store.audit.record({ at: services.clock.now(), actor, action: `command.${plugin.name}.${subName}`, target, outcome: 'denied', details: { role: caller.person.role, needed: sub.role } });
      return { text: `${target} is for ${sub.role === 'admin' ? 'admins' : 'teachers and admins'}; you are a ${caller.person.role}.`, ephemeral: true, error: true };
    }
    if (!this.#allow(actor)) return { text: `Too many commands; wait a minute and try again (limit ${this.#rate.perMinute} per minute).`, ephemeral: true, error: true };

    const raw: Record<string, unknown> = { ...(invocation.options ?? {}) };
    sub.positional.forEach((name, i) => {
      if (words[i] !== undefined && raw[name] === undefined) raw[name] = words[i];
    });
    if (words.length > sub.positional.length) return { text: `Too many words for ${target}.\n${this.#subUsage(plugin.name, subName)}`, ephemeral: true, error: true };
    const parsed = sub.options.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const name = String(issue.path[0] ?? 'options');
      return { text: `${name}: ${issue.message}\nUsage: ${this.#subUsage(plugin.name, subName)}`, ephemeral: true, error: true };
    }
    const ctx: CommandContext = { caller, services, progress: (u) => invocation.onProgress?.(u), confirmed: invocation.confirmed ?? false };
    try {
      const reply = await sub.run(ctx, parsed.data);
      await services.store.audit.record({ at: services.clock.now(), actor, action: `command.${plugin.name}.${subName}`, target, outcome: reply.error ? 'denied' : 'ok', details: { options: parsed.data as Record<string, unknown>, platform: invocation.platform } });
      return { ...(sub.ephemeral ? { ephemeral: true } : {}), ...reply };
    } catch (error) {
      const message = isLabError(error) ? error.message : 'Something went wrong on our side; the error was logged.';
      services.logger.error('command failed', { command: target, actor, error });
      await services.store.audit.record({ at: services.clock.now(), actor, action: `command.${plugin.name}.${subName}`, target, outcome: isLabError(error) && error.code === 'LAB_NOT_ALLOWED' ? 'denied' : 'failed', details: { error: message } });
      return { text: message, ephemeral: true, error: true };
    }
  }

  /** Suggestions for one option (Discord autocomplete); empty for unknown callers. */
  async autocomplete(invocation: { platform: Platform; userId: string; command: string; subcommand: string; option: string; partial: string }): Promise<string[]> {
    const sub = this.plugins.get(invocation.command)?.subcommands[invocation.subcommand];
    const complete = sub?.autocomplete?.[invocation.option];
    const caller = await this.#resolveCaller(invocation.platform, invocation.userId);
    if (!complete || !caller) return [];
    const all = await complete({ caller, services: this.#services, progress: () => undefined, confirmed: false }, invocation.partial);
    return all.filter((v) => v.toLowerCase().startsWith(invocation.partial.toLowerCase())).slice(0, 25);
  }

  /** Usage text of a command (Slack help, CLI help). */
  usage(command: string): string {
    const plugin = this.plugins.get(command);
    if (!plugin) return '';
    return [`/${plugin.name} — ${plugin.description}`, ...Object.keys(plugin.subcommands).map((s) => `  ${this.#subUsage(command, s)}`)].join('\n');
  }

  #subUsage(command: string, subName: string): string {
    const sub = this.plugins.get(command)!.subcommands[subName]!;
    const shape = sub.options.shape as Record<string, ZodType>;
    const words = sub.positional.map((name) => (shape[name]!.safeParse(undefined).success ? `[${name}]` : `<${name}>`));
    return `/${command} ${subName}${words.length ? ` ${words.join(' ')}` : ''} — ${sub.description}`;
  }

  /** Discord application-command definitions, generated from the same schemas. */
  discordCommands(): unknown[] {
    return [...this.plugins.values()].map((plugin) => ({
      name: plugin.name,
      description: plugin.description.slice(0, 100),
      type: 1,
      options: Object.entries(plugin.subcommands).map(([name, sub]) => ({
        type: 1,
        name,
        description: sub.description.slice(0, 100),
        options: Object.entries(sub.options.shape as Record<string, ZodType>).map(([option, schema]) => ({
          type: discordType(schema),
          name: option,
          description: (describeOption(schema) || option).slice(0, 100),
          required: !schema.safeParse(undefined).success,
          ...(sub.autocomplete?.[option] ? { autocomplete: true } : {}),
        })).sort((a, b) => Number(b.required) - Number(a.required)),
      })),
    }));
  }

  async #resolveCaller(platform: Platform, userId: string, operator = false): Promise<Caller | undefined> {
    if (platform === 'cli' && operator) {
      const username = `cli:${userId}`;
      return { platform, platformUserId: userId, person: { id: 0, username, displayName: username, role: 'admin', createdAt: 0 }, viewer: { personId: null, username, role: 'admin' } };
    }
    const store = this.#services.store;
    const person = platform === 'cli' ? ((await store.classes.findByIdentity('cli', userId)) ?? (await store.classes.getPersonByUsername(userId))) : await store.classes.findByIdentity(platform, userId);
    if (!person) return undefined;
    return { platform, platformUserId: userId, person, viewer: { personId: person.id, username: person.username, role: person.role } };
  }

  #allow(actor: string): boolean {
    const now = this.#services.clock.now();
    const recent = (this.#recent.get(actor) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= this.#rate.perMinute) return false;
    recent.push(now);
    this.#recent.set(actor, recent);
    return true;
  }
}

/** Discord option type of a zod schema: 4 integer, 5 boolean, 3 string. */
function discordType(schema: ZodType): number {
  const probe = (value: unknown) => schema.safeParse(value).success;
  // Integers first: a coercing number schema also accepts `true` (as 1).
  if (probe(7) && !probe(7.5) && !probe('abc')) return 4;
  if (probe(true) && probe(false) && !probe('x') && !probe(7)) return 5;
  return 3;
}

/** A zod schema for a whole number given as a word (`10`) or a number. */
export const wholeNumber = (description: string, min: number, max: number) =>
  z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`).describe(description);

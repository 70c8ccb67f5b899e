import { randomBytes } from 'node:crypto';
import { assertIdentityPlatformId, isLabError, looksLikePrivateKey, type PersonRole } from '@lab/proxmox-sdk';
import { PrivateKeyGivenError } from '@lab/proxmox-sdk/errors';
import { parseCommandText, splitWords } from './parse-command-text.js';
import { readOptionShapes } from './option-shapes.js';
import { isRefusal } from './refusal-or-failure.js';
import {
  type Caller,
  type CommandContext,
  type CommandPlugin,
  type LabServices,
  type Platform,
  type ProgressUpdate,
  type Reply,
  type RequiredRole,
  type Suggestion,
} from './command-plugin.js';
import { COMMAND_DEFAULTS } from './defaults.js';

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
  /**
   * The caller already confirmed (the CLI's `--yes`). Chat front ends confirm through
   * {@link CommandRouter.confirm} instead, so a button cannot be replayed or pressed by someone else.
   */
  confirmed?: boolean;
  onProgress?: (update: ProgressUpdate) => void;
  /**
   * Where the front end shows this command's progress (Slack `{ platform, channel, responseUrl, ts? }`,
   * Discord `{ platform, applicationId, token, channelId, expiresAt }`), so a deployment finished by
   * another process can post its summary there. The front end may add to the same object later
   * (Slack's `ts` once its first message is posted).
   */
  notify?: Record<string, unknown>;
  /**
   * CLI only: the caller is the local operator, who holds the configuration and so the cluster
   * token. They act as an admin without a person record (`person.id` 0, `viewer.personId` null),
   * recorded in the audit log as `cli:<userId>` (the OS user). Ignored on other platforms.
   */
  operator?: boolean;
}

/**
 * An invocation checked up to the point of running: either the reply already (help, a refusal, a bad
 * option), or a run whose replies are private when `ephemeral` — so Discord can defer with the
 * right visibility. The run itself may still refuse (a plugin's ownership check); such replies are
 * `ephemeral` too.
 */
export type PreparedCommand =
  | { reply: Reply; ephemeral?: undefined; run?: undefined }
  | { reply?: undefined; ephemeral: boolean; run(): Promise<Reply> };

/** A pressed Confirm or Cancel button: the id it carries and who pressed it. */
export interface ConfirmationClick {
  id: string;
  platform: Platform;
  userId: string;
  onProgress?: (update: ProgressUpdate) => void;
  notify?: Record<string, unknown>;
}

/** What a pending confirmation keeps in the store until it is pressed, cancelled or expires. */
interface PendingConfirmation {
  platform: Platform;
  userId: string;
  /** The lab username of who asked, to name them to anyone else who presses the button. */
  askedBy?: string;
  command: string;
  text?: string;
  subcommand?: string;
  options?: Record<string, unknown>;
}

/** Options of the router. */
export interface CommandRouterOptions {
  rateLimit?: RateLimit;
  /** How long a Confirm button works. @defaultValue 10 minutes */
  confirmationTtlMs?: number;
  /** How long a delivery id (Slack `trigger_id`, Discord interaction id) is remembered as handled. @defaultValue 15 minutes */
  deliveryTtlMs?: number;
  /**
   * Told when each command finishes (a refusal in {@link CommandRouter.prepare} included), for metrics.
   * Called synchronously; what it throws is dropped.
   */
  onCommandFinished?: (record: CommandRecord) => void;
}

/** One finished command as {@link CommandRouterOptions.onCommandFinished} sees it. */
export interface CommandRecord {
  platform: Platform;
  /** `myvm start`, `lab deploy`; `unknown` for a command or subcommand no plugin has (bounded for metrics labels). */
  command: string;
  /**
   * `ok`; `refused` when the lab said no, before running (unknown user, role, option, rate limit) or
   * while running (an ownership check, a quota or running limit, a reply that asks for something
   * else); `error` when something failed (a Proxmox or store error, a deployment that did not finish:
   * `Reply.failed`).
   */
  outcome: 'ok' | 'refused' | 'error';
  /** From the router receiving it to its final reply (the plugin's run included). */
  durationMs: number;
}

const RANK: Record<PersonRole, number> = { student: 1, teacher: 2, admin: 3 };
const NEEDED: Record<RequiredRole, number> = { student: 1, teacher: 2, admin: 3 };
const PRUNE_INTERVAL_MS = 60_000;

/** The answer to a Confirm or Cancel button that no longer (or never did) belong to the presser. */
export const EXPIRED_CONFIRMATION = 'This confirmation has expired or was already used; run the command again.';

/** How many commands one person may run per minute. */
export interface RateLimit {
  perMinute: number;
}

/**
 * The one place every front end sends commands: resolves the caller from their platform identity,
 * checks the role, validates options (zod), rate-limits, runs the plugin, writes the audit log,
 * keeps pending confirmations and renders errors as plain replies. Slack, Discord and the CLI only
 * translate in and out.
 *
 * Audit entries name the lab username as `actor` (an unknown chat user as `<platform>:<id>`) and
 * always carry `details.platformUserId` (`slack:U0123`), the chat account that acted.
 */
export class CommandRouter {
  readonly plugins: ReadonlyMap<string, CommandPlugin>;
  readonly #services: LabServices;
  readonly #rate: RateLimit;
  readonly #confirmationTtlMs: number;
  readonly #deliveryTtlMs: number;
  readonly #recent = new Map<string, number[]>();
  readonly #onCommandFinished: ((record: CommandRecord) => void) | undefined;
  #lastPrune = 0;

  constructor(services: LabServices, plugins: readonly CommandPlugin[], options: CommandRouterOptions = {}) {
    this.#services = services;
    this.plugins = new Map(plugins.map((p) => [p.name, p]));
    this.#rate = options.rateLimit ?? { perMinute: 30 };
    this.#confirmationTtlMs = options.confirmationTtlMs ?? COMMAND_DEFAULTS.confirmationTtlMs;
    this.#deliveryTtlMs = options.deliveryTtlMs ?? COMMAND_DEFAULTS.deliveryTtlMs;
    this.#onCommandFinished = options.onCommandFinished;
  }

  /** Runs one invocation and returns its final reply (progress goes to `onProgress`). Never throws for user errors. */
  async invoke(invocation: Invocation): Promise<Reply> {
    const prepared = await this.prepare(invocation);
    return prepared.reply ?? prepared.run();
  }

  /**
   * The fast part of {@link invoke}: resolves the caller, checks the role, rate limit and options.
   * A refusal is audited here; the run audits its own outcome. Never throws for user errors.
   */
  async prepare(invocation: Invocation): Promise<PreparedCommand> {
    const observe = this.#onCommandFinished;
    if (!observe) return this.#prepare(invocation);
    const started = performance.now();
    const plugin = this.plugins.get(invocation.command);
    const subName = invocation.subcommand ?? splitWords(invocation.text ?? '')[0] ?? 'help';
    const command =
      plugin && (subName === 'help' || plugin.subcommands[subName]) ? `${plugin.name} ${subName}` : 'unknown';
    const finish = (outcome: CommandRecord['outcome']): void => {
      try {
        observe({ platform: invocation.platform, command, outcome, durationMs: performance.now() - started });
      } catch {
        // metrics never break a command
      }
    };
    const prepared = await this.#prepare(invocation);
    if (prepared.reply) {
      finish(prepared.reply.error ? 'refused' : 'ok');
      return prepared;
    }
    return {
      ephemeral: prepared.ephemeral,
      run: async () => {
        const reply = await prepared.run();
        finish(reply.error ? (reply.failed ? 'error' : 'refused') : 'ok');
        return reply;
      },
    };
  }

  async #prepare(invocation: Invocation): Promise<PreparedCommand> {
    const services = this.#services;
    if (holdsPrivateKey(invocation)) return { reply: await this.#refusePrivateKey(invocation) };
    const plugin = this.plugins.get(invocation.command);
    if (!plugin)
      return {
        reply: {
          text: `Unknown command /${invocation.command}. Commands: ${[...this.plugins.keys()].map((k) => `/${k}`).join(', ')}`,
          ephemeral: true,
          error: true,
        },
      };
    const words = splitWords(invocation.text ?? '');
    const subName = invocation.subcommand ?? words.shift() ?? 'help';
    if (subName === 'help') return { reply: { text: this.usage(plugin.name), ephemeral: true } };
    const sub = plugin.subcommands[subName];
    if (!sub)
      return {
        reply: { text: `Unknown subcommand '${subName}'.\n${this.usage(plugin.name)}`, ephemeral: true, error: true },
      };
    const target = `/${plugin.name} ${subName}`;
    const action = `command.${plugin.name}.${subName}`;
    const platformUserId = `${invocation.platform}:${invocation.userId}`;
    const audit = (actor: string, outcome: 'ok' | 'denied' | 'failed', details: Record<string, unknown>) =>
      services.store.audit.record({
        at: services.clock.now(),
        actor,
        action,
        target,
        outcome,
        details: { platformUserId, ...details },
      });
    const tooMany: Reply = {
      text: `Too many commands; wait a minute and try again (limit ${this.#rate.perMinute} per minute).`,
      ephemeral: true,
      error: true,
    };

    const caller =
      (await this.#resolveCaller(invocation.platform, invocation.userId, invocation.operator)) ??
      (sub.allowUnknown ? guestCaller(invocation.platform, invocation.userId) : undefined);
    if (!caller) {
      if (!this.#allow(platformUserId)) return { reply: tooMany };
      await audit(platformUserId, 'denied', { reason: 'unknown user' });
      return {
        reply: {
          text:
            invocation.platform === 'cli'
              ? `No lab user '${invocation.userId}'. Create it first (lab people add) or run as an existing user with --as.`
              : 'You are not enrolled in Proxmox Lab yet. If your teacher gave you an invite code, type `/lab join <code>`; otherwise ask them to run `/lab link @you <your-username>`.',
          ephemeral: true,
          error: true,
        },
      };
    }
    const actor = caller.person.username;
    if (RANK[caller.person.role] < NEEDED[sub.role]) {
      await audit(actor, 'denied', { role: caller.person.role, needed: sub.role });
      return {
        reply: {
          text: `${target} is for ${sub.role === 'admin' ? 'admins' : 'teachers and admins'}; you are a ${caller.person.role}.`,
          ephemeral: true,
          error: true,
        },
      };
    }
    if (!this.#allow(actor)) return { reply: tooMany };

    const fromText = parseCommandText(words, sub.options, sub.positional, invocation.options ?? {});
    if (!fromText.ok)
      return {
        reply: {
          text: `${fromText.error}\nUsage: ${this.#subUsage(plugin.name, subName)}`,
          ephemeral: true,
          error: true,
        },
      };
    if (fromText.extraWords > 0)
      return {
        reply: {
          text: `Too many words for ${target}.\n${this.#subUsage(plugin.name, subName)}`,
          ephemeral: true,
          error: true,
        },
      };
    const raw: Record<string, unknown> = { ...fromText.options, ...(invocation.options ?? {}) };
    const parsed = sub.options.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const name = String(issue.path[0] ?? 'options');
      return {
        reply: {
          text: `${name}: ${issue.message}\nUsage: ${this.#subUsage(plugin.name, subName)}`,
          ephemeral: true,
          error: true,
          invalid: { option: name, problem: issue.message },
        },
      };
    }
    const ctx: CommandContext = {
      caller,
      services,
      progress: (u) => invocation.onProgress?.(u),
      confirmed: invocation.confirmed ?? false,
      ...(invocation.notify ? { notify: invocation.notify } : {}),
    };
    const run = async (): Promise<Reply> => {
      try {
        const reply = await sub.run(ctx, parsed.data);
        await audit(actor, reply.error ? 'denied' : 'ok', {
          options: withoutSensitive(parsed.data, sub.sensitiveOptions),
          platform: invocation.platform,
        });
        const confirm = reply.confirm && {
          ...(reply.confirm.action ? { action: reply.confirm.action } : {}),
          ...(await this.#requestConfirmation(reply.confirm.prompt, invocation, actor)),
        };
        const ephemeral =
          sub.ephemeral === true || reply.ephemeral === true || reply.error === true || confirm !== undefined;
        return { ...reply, ...(ephemeral ? { ephemeral } : {}), ...(confirm ? { confirm } : {}) };
      } catch (error) {
        const message = isLabError(error) ? error.message : 'Something went wrong on our side; the error was logged.';
        if (isRefusal(error))
          services.logger.info('command refused', {
            command: target,
            actor,
            code: (error as { code: string }).code,
            reason: message,
          });
        else services.logger.error('command failed', { command: target, actor, error });
        await audit(actor, isLabError(error) && error.code === 'LAB_NOT_ALLOWED' ? 'denied' : 'failed', {
          error: message,
        });
        return { text: message, ephemeral: true, error: true, ...(isRefusal(error) ? {} : { failed: true }) };
      }
    };
    return { ephemeral: sub.ephemeral === true, run };
  }

  /**
   * A pressed Confirm button: takes the pending confirmation `id` — once, before it expires, and
   * only for the person who asked — and prepares the command again, confirmed (roles are checked
   * anew). Anyone else is told who asked, and the confirmation stays for them; a second press or a
   * late one gets {@link EXPIRED_CONFIRMATION}.
   */
  async confirm(click: ConfirmationClick): Promise<PreparedCommand> {
    const taken = await this.#takeConfirmation(click);
    if (!taken.pending) return { reply: notYoursOrExpired(taken.askedBy, 'confirm') };
    const { askedBy: _askedBy, ...pending } = taken.pending;
    return this.prepare({
      ...pending,
      confirmed: true,
      ...(click.onProgress ? { onProgress: click.onProgress } : {}),
      ...(click.notify ? { notify: click.notify } : {}),
    });
  }

  /** A pressed Cancel button: forgets the pending confirmation `id` (same rules as {@link confirm}). */
  async cancelConfirmation(click: Omit<ConfirmationClick, 'onProgress' | 'notify'>): Promise<Reply> {
    const taken = await this.#takeConfirmation(click);
    return taken.pending
      ? { text: 'Cancelled; nothing was changed.', ephemeral: true }
      : notYoursOrExpired(taken.askedBy, 'cancel');
  }

  /**
   * Records that a platform delivered `deliveryId` (a Discord interaction id, a Slack `trigger_id`);
   * false when it was recorded before — a replay or a retry, not to be executed again. Holds across
   * processes sharing the store.
   */
  async claimDelivery(platform: Platform, deliveryId: string): Promise<boolean> {
    const { store, clock } = this.#services;
    const now = clock.now();
    if (now - this.#lastPrune >= PRUNE_INTERVAL_MS) {
      this.#lastPrune = now;
      await store.nonces.prune(now);
    }
    return store.nonces.claim(`delivery:${platform}:${deliveryId}`, now + this.#deliveryTtlMs, now);
  }

  /**
   * A private key pasted into any command (typically `/myvm sshkey add`): refused before the text is
   * parsed, so it is never echoed in an "unknown option" answer, stored in a confirmation or logged.
   * The refusal is logged and audited without it.
   */
  async #refusePrivateKey(invocation: Invocation): Promise<Reply> {
    const { store, clock, logger } = this.#services;
    const platformUserId = `${invocation.platform}:${invocation.userId}`;
    logger.warn('refused a pasted private key; it was not kept', { command: invocation.command, platformUserId });
    await store.audit.record({
      at: clock.now(),
      actor: platformUserId,
      action: `command.${invocation.command}`,
      target: `/${invocation.command}`,
      outcome: 'denied',
      details: { platformUserId, reason: 'a private key was pasted' },
    });
    return { text: new PrivateKeyGivenError().message, ephemeral: true, error: true };
  }

  async #requestConfirmation(
    prompt: string,
    invocation: Invocation,
    askedBy: string,
  ): Promise<{ prompt: string; id: string }> {
    const { store, clock } = this.#services;
    const id = randomBytes(16).toString('base64url');
    const pending: PendingConfirmation = {
      platform: invocation.platform,
      userId: invocation.userId,
      askedBy,
      command: invocation.command,
      ...(invocation.text !== undefined ? { text: invocation.text } : {}),
      ...(invocation.subcommand !== undefined ? { subcommand: invocation.subcommand } : {}),
      ...(invocation.options !== undefined ? { options: invocation.options } : {}),
    };
    const now = clock.now();
    await store.nonces.put(confirmationKey(id), pending, now + this.#confirmationTtlMs, now);
    return { prompt, id };
  }

  /**
   * Takes the pending confirmation `click.id` when the presser asked for it. Someone else only looks
   * (it stays for the asker) and learns who asked.
   */
  async #takeConfirmation(click: {
    id: string;
    platform: Platform;
    userId: string;
  }): Promise<{ pending?: PendingConfirmation; askedBy?: string }> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(click.id)) return {};
    const { nonces } = this.#services.store;
    const key = confirmationKey(click.id);
    const seen = (await nonces.peek(key, this.#services.clock.now())) as PendingConfirmation | undefined;
    if (!seen) return {};
    if (seen.platform !== click.platform || seen.userId !== click.userId)
      return { askedBy: seen.askedBy ?? 'the person who asked' };
    const pending = (await nonces.take(key, this.#services.clock.now())) as PendingConfirmation | undefined;
    return pending ? { pending } : {};
  }

  /**
   * Suggestions for one option (Discord autocomplete), at most 25: those whose label contains what
   * the user typed or whose value starts with it, case-insensitively; empty for unknown callers.
   */
  async autocomplete(invocation: {
    platform: Platform;
    userId: string;
    command: string;
    subcommand: string;
    option: string;
    partial: string;
  }): Promise<Suggestion[]> {
    const sub = this.plugins.get(invocation.command)?.subcommands[invocation.subcommand];
    const complete = sub?.autocomplete?.[invocation.option];
    const caller = await this.#resolveCaller(invocation.platform, invocation.userId);
    if (!complete || !caller) return [];
    const all = await complete(
      { caller, services: this.#services, progress: () => undefined, confirmed: false },
      invocation.partial,
    );
    const typed = invocation.partial.toLowerCase();
    return all
      .map((s) => (typeof s === 'string' ? { label: s, value: s } : s))
      .filter((s) => s.label.toLowerCase().includes(typed) || s.value.toLowerCase().startsWith(typed))
      .slice(0, 25);
  }

  /** Usage text of a command (Slack help, CLI help). */
  usage(command: string): string {
    const plugin = this.plugins.get(command);
    if (!plugin) return '';
    return [
      `/${plugin.name} — ${plugin.description}`,
      ...Object.keys(plugin.subcommands).map((s) => `  ${this.#subUsage(command, s)}`),
    ].join('\n');
  }

  #subUsage(command: string, subName: string): string {
    const sub = this.plugins.get(command)!.subcommands[subName]!;
    const shapes = new Map(readOptionShapes(sub).map((option) => [option.name, option]));
    const words = [
      ...sub.positional.map((name) => (shapes.get(name)!.required ? `<${name}>` : `[${name}]`)),
      ...[...shapes.values()]
        .filter((option) => !sub.positional.includes(option.name))
        .map(({ name, kind, required }) => {
          const flag = kind === 'boolean' ? `--${name}` : `--${name} <${name}>`;
          return required ? flag : `[${flag}]`;
        }),
    ];
    return `/${command} ${subName}${words.length ? ` ${words.join(' ')}` : ''} — ${sub.description}`;
  }

  async #resolveCaller(platform: Platform, userId: string, operator = false): Promise<Caller | undefined> {
    assertIdentityPlatformId(platform);
    if (platform === 'cli' && operator) {
      const username = `cli:${userId}`;
      return {
        platform,
        platformUserId: userId,
        person: { id: 0, username, displayName: username, email: null, role: 'admin', createdAt: 0 },
        viewer: { personId: null, username, role: 'admin' },
      };
    }
    const store = this.#services.store;
    const person =
      platform === 'cli'
        ? ((await store.classes.findByIdentity('cli', userId)) ?? (await store.classes.getPersonByUsername(userId)))
        : await store.classes.findByIdentity(platform, userId);
    if (!person) return undefined;
    return {
      platform,
      platformUserId: userId,
      person,
      viewer: { personId: person.id, username: person.username, role: person.role },
    };
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

/** Where a pending confirmation is kept; its id is random (128 bits), so only its button knows it. */
function confirmationKey(id: string): string {
  return `confirm:${id}`;
}

/** The answer to a button press that takes nothing: someone else's confirmation, or a spent one. */
function notYoursOrExpired(askedBy: string | undefined, verb: 'confirm' | 'cancel'): Reply {
  return askedBy
    ? {
        text: `Only ${askedBy}, who asked, can ${verb} this; ask them, or run the command yourself if you mean to.`,
        ephemeral: true,
        error: true,
      }
    : { text: EXPIRED_CONFIRMATION, ephemeral: true, error: true };
}

/** A caller no lab person is linked to, for `allowUnknown` subcommands. */
function guestCaller(platform: Platform, userId: string): Caller {
  const username = `${platform}:${userId}`;
  return {
    platform,
    platformUserId: userId,
    person: { id: 0, username, displayName: '', email: null, role: 'student', createdAt: 0 },
    viewer: { personId: null, username, role: 'student' },
    known: false,
  };
}

/** Whether the typed text or any option value (Discord) holds a private key. */
function holdsPrivateKey(invocation: Invocation): boolean {
  const values = [invocation.text, ...Object.values(invocation.options ?? {})].flat();
  return values.some((v) => typeof v === 'string' && looksLikePrivateKey(v));
}

/** The options as the audit log keeps them: sensitive ones replaced. */
function withoutSensitive(
  options: Record<string, unknown>,
  sensitive: readonly string[] | undefined,
): Record<string, unknown> {
  if (!sensitive?.length) return options;
  return Object.fromEntries(
    Object.entries(options).map(([k, v]) => [k, sensitive.includes(k) && v !== undefined ? '[REDACTED]' : v]),
  );
}

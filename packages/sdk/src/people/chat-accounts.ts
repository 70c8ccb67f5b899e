import type { IdentityPlatform } from '../store/records.js';

/** Chat platforms a person links an account of: Slack, Discord, or any registered front end's id. */
export type ChatPlatform = IdentityPlatform;

/** What a lab username looks like: lower-case letters, digits, dots, dashes or underscores, 2–32 long. */
export const USERNAME = /^[a-z][a-z0-9._-]{1,31}$/;

/**
 * How one platform writes its user ids: what the store keeps, what a user may type or the platform
 * sends (a mention), and how to show one. Each front end gives its own; the roster import, `people
 * link` and `/lab link` accept exactly the formats registered.
 */
export interface IdentityFormat {
  /** The platform id ({@link IDENTITY_PLATFORM_ID}); also the roster CSV column of these ids. */
  readonly platform: IdentityPlatform;
  /** The platform's name in sentences (`Slack`). */
  readonly label: string;
  /** A sample id as the user would give it, for messages that say what to type (`U0123ABCD`). */
  readonly example: string;
  /** What a valid id looks like in words, for messages (`like U0123ABCD`, `17–20 digits`). */
  readonly shape: string;
  /** Whether `id` is a user id of this platform as the store keeps it. */
  isUserId(id: string): boolean;
  /** The user id in `text` (a mention or a bare id); undefined for anything else, e.g. a plain name. */
  parse(text: string): string | undefined;
  /** How a reply shows the account (`<@U0123ABCD>`, or the id). */
  display(id: string): string;
  /**
   * Whether admins and teachers link these accounts by hand: a roster column named after the platform,
   * `people link --account`, `/lab link`. False for accounts proven otherwise (the CLI's OS user, a
   * web sign-in). @defaultValue true
   */
  readonly linkable?: boolean;
}

const SLACK_ID = /^[UW][A-Z0-9]{2,20}$/;
const DISCORD_ID = /^\d{5,21}$/;

/** The id inside a `<@…>` mention (Slack's `<@U0123ABCD|alice>`, Discord's `<@!123…>`), else the trimmed text. */
function mentionedOrBare(text: string): string {
  const mention = /^<@!?([A-Za-z0-9]+)(\|[^>]*)?>$/.exec(text.trim());
  return mention ? mention[1]! : text.trim();
}

/** Slack user ids (`U0123ABCD`, `W…`), given bare or as Slack's escaped mention. */
export const slackIdentity: IdentityFormat = {
  platform: 'slack',
  label: 'Slack',
  example: 'U0123ABCD',
  shape: 'like U0123ABCD',
  isUserId: (id) => SLACK_ID.test(id),
  parse(text) {
    const id = mentionedOrBare(text);
    return SLACK_ID.test(id) ? id : undefined;
  },
  display: (id) => `<@${id}>`,
};

/** Discord user ids (snowflake digits), given bare or as a mention. */
export const discordIdentity: IdentityFormat = {
  platform: 'discord',
  label: 'Discord',
  example: '123456789012345678',
  shape: '17–20 digits',
  isUserId: (id) => DISCORD_ID.test(id),
  parse(text) {
    const id = mentionedOrBare(text);
    return DISCORD_ID.test(id) ? id : undefined;
  },
  display: (id) => `<@${id}>`,
};

const BUILTIN_CHAT_FORMATS: readonly IdentityFormat[] = [slackIdentity, discordIdentity];

/** The chat identity formats the SDK knows without any front end registered: Slack's and Discord's. */
export function builtinIdentityFormats(): readonly IdentityFormat[] {
  return BUILTIN_CHAT_FORMATS;
}

function builtinFormat(platform: ChatPlatform): IdentityFormat | undefined {
  return BUILTIN_CHAT_FORMATS.find((f) => f.platform === platform);
}

/** Whether `id` looks like a user id of `platform` (Slack `U0123ABCD`, Discord snowflake digits). */
export function isChatUserId(platform: ChatPlatform, id: string): boolean {
  return builtinFormat(platform)?.isUserId(id) ?? false;
}

/**
 * The user id in a mention or id as a chat platform sends it: Slack's escaped mention
 * `<@U0123ABCD>` or `<@U0123ABCD|alice>`, Discord's `<@123…>` or `<@!123…>`, or a bare id.
 * Undefined for anything else — a plain `@alice` is a name, not an account, and is never stored.
 * Platforms other than Slack and Discord: use their front end's {@link IdentityFormat}.
 */
export function chatAccountId(platform: ChatPlatform, text: string): string | undefined {
  return builtinFormat(platform)?.parse(text);
}

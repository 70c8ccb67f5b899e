/** Chat platforms a person links an account of. */
export type ChatPlatform = 'slack' | 'discord';

/** What a lab username looks like: lower-case letters, digits, dots, dashes or underscores, 2–32 long. */
export const USERNAME = /^[a-z][a-z0-9._-]{1,31}$/;

const SLACK_ID = /^[UW][A-Z0-9]{2,20}$/;
const DISCORD_ID = /^\d{5,21}$/;

/** Whether `id` looks like a user id of `platform` (Slack `U0123ABCD`, Discord snowflake digits). */
export function isChatUserId(platform: ChatPlatform, id: string): boolean {
  return platform === 'slack' ? SLACK_ID.test(id) : DISCORD_ID.test(id);
}

/**
 * The user id in a mention or id as a chat platform sends it: Slack's escaped mention
 * `<@U0123ABCD>` or `<@U0123ABCD|alice>`, Discord's `<@123…>` or `<@!123…>`, or a bare id.
 * Undefined for anything else — a plain `@alice` is a name, not an account, and is never stored.
 */
export function chatAccountId(platform: ChatPlatform, text: string): string | undefined {
  const mention = /^<@!?([A-Za-z0-9]+)(\|[^>]*)?>$/.exec(text.trim());
  const id = mention ? mention[1]! : text.trim();
  return isChatUserId(platform, id) ? id : undefined;
}

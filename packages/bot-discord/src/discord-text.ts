import { escapeMarkdown } from 'discord.js';

/** Discord's limit on a message's `content`. */
const CONTENT_LIMIT = 2000;

/**
 * Text as Discord must receive it to show it literally: its markdown escaped (discord.js
 * `escapeMarkdown`, which leaves links intact, with masked links, headings and lists), quote markers
 * at line starts and the `<@…>`, `<#…>`, `<t:…>` and emoji forms escaped too, so a name or any other
 * value can neither format the message nor hide a link in it.
 */
export function escapeDiscordText(text: string): string {
  return escapeMarkdown(text, { maskedLink: true, heading: true, bulletedList: true, numberedList: true })
    .replace(/^(\s*)>/gm, '$1\\>')
    .replace(/<(?=[@#!:]|a:|t:|\/)/g, '\\<');
}

/** Mentions in a message of the bot ping nobody, whatever the text says (`@everyone`, `<@id>`, roles). */
export const NO_PINGS = { parse: [] as never[] };

/**
 * The content of a message for Discord's API (interaction responses, webhook edits, DMs): the text
 * escaped and cut to Discord's limit, pinging nobody. Every text the bot sends goes through it once.
 */
export function discordContent(text: string): { content: string; allowed_mentions: typeof NO_PINGS } {
  return { content: escapeDiscordText(text).slice(0, CONTENT_LIMIT), allowed_mentions: NO_PINGS };
}

/** {@link discordContent} as discord.js takes it for an interaction reply or edit (`allowedMentions`). */
export function gatewayContent(text: string): { content: string; allowedMentions: typeof NO_PINGS } {
  const { content, allowed_mentions } = discordContent(text);
  return { content, allowedMentions: allowed_mentions };
}

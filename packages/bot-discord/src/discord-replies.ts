import { randomBytes } from 'node:crypto';
import { renderReplyText, type Reply } from '@lab/commands';
import { discordContent } from './discord-text.js';

/** What a slash command asks the command layer to do. */
export interface DiscordInvocation {
  command: string;
  subcommand: string;
  options: Record<string, unknown>;
}

const CONFIRM = 'lab_confirm:';
const CANCEL = 'lab_cancel:';

/** How long an interaction token may edit its messages. */
export const INTERACTION_TOKEN_TTL_MS = 15 * 60_000;

/** The message body of a reply: its text (escaped, pinging nobody, within Discord's 2000-character limit), its buttons and its files' descriptors. */
export function replyMessage(reply: Reply): ReturnType<typeof discordContent> & {
  components: unknown[];
  attachments?: Array<{ id: number; filename: string }>;
} {
  const files = reply.attachments ?? [];
  return {
    ...discordContent(renderReplyText(reply)),
    components: replyComponents(reply),
    ...(files.length ? { attachments: files.map((f, id) => ({ id, filename: f.filename })) } : {}),
  };
}

/**
 * A message with files as Discord takes it: `multipart/form-data` with `payload_json` and one
 * `files[n]` part per file. Built as bytes (sent with `passThroughBody`) rather than as a
 * `FormData`, whose class differs between the undici copies in one process (Node's own, the one
 * `@discordjs/rest` bundles, ours), which then cannot read each other's form bodies.
 */
export function multipartMessage(
  payload: Record<string, unknown>,
  files: ReturnType<typeof replyFiles>,
): { body: Buffer; contentType: string } {
  const boundary = `lab-${randomBytes(12).toString('hex')}`;
  const quote = (text: string) => text.replace(/["\r\n\\]/g, '_');
  const parts: Buffer[] = [
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="payload_json"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(payload)}\r\n`,
    ),
  ];
  files.forEach((f, i) => {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="files[${i}]"; filename="${quote(f.name)}"\r\nContent-Type: ${f.contentType}\r\n\r\n`,
      ),
      f.data,
      Buffer.from('\r\n'),
    );
  });
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/**
 * The files of a reply as `@discordjs/rest` sends them (`files[n]` parts of a multipart request
 * beside `payload_json`), in the order of `replyMessage(reply).attachments`.
 */
export function replyFiles(reply: Reply): Array<{ name: string; data: Buffer; contentType: string }> {
  return (reply.attachments ?? []).map((a) => ({
    name: a.filename,
    data: Buffer.from(a.content),
    contentType: a.contentType,
  }));
}

/**
 * The buttons of a reply that asks to confirm: a danger Confirm button and a Cancel button, both
 * carrying only the id of the pending confirmation the command layer keeps.
 */
export function replyComponents(reply: Reply): unknown[] {
  if (!reply.confirm?.id) return [];
  return [
    {
      type: 1,
      components: [
        {
          type: 2,
          style: 4,
          label: (reply.confirm.action ?? reply.confirm.prompt).slice(0, 80),
          custom_id: `${CONFIRM}${reply.confirm.id}`,
        },
        { type: 2, style: 2, label: 'Cancel', custom_id: `${CANCEL}${reply.confirm.id}` },
      ],
    },
  ];
}

/** The Confirm or Cancel button a component's `custom_id` names, or undefined for other components. */
export function confirmationButton(customId: string): { action: 'confirm' | 'cancel'; id: string } | undefined {
  if (customId.startsWith(CONFIRM)) return { action: 'confirm', id: customId.slice(CONFIRM.length) };
  if (customId.startsWith(CANCEL)) return { action: 'cancel', id: customId.slice(CANCEL.length) };
  return undefined;
}

/** Where an interaction's progress is shown, for `Invocation.notify`: its webhook token works for 15 minutes. */
export function discordNotify(
  applicationId: string,
  token: string,
  channelId: string | undefined,
  now: number,
): Record<string, unknown> {
  return {
    platform: 'discord',
    applicationId,
    token,
    ...(channelId ? { channelId } : {}),
    expiresAt: now + INTERACTION_TOKEN_TTL_MS,
  };
}

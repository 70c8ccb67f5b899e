import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Routes, type REST } from 'discord.js';
import { silentLogger, type Logger } from '@lab/proxmox-sdk';
import {
  ProgressThrottle,
  RunningCommands,
  renderReplyText,
  type CommandRouter,
  type PreparedCommand,
  type Reply,
} from '@lab/commands';
import { renderDiscordProgress } from './render-discord-progress.js';
import { confirmationButton, discordNotify, multipartMessage, replyFiles, replyMessage } from './discord-replies.js';
import { discordContent } from './discord-text.js';
import { discordPublicKey, verifyDiscordSignature } from './verify-discord-signature.js';
import { DISCORD_DEFAULTS } from './defaults.js';

/** Options of the Discord interactions endpoint. */
export interface DiscordInteractionsOptions {
  router: CommandRouter;
  /** The application's public key (hex), to verify every request. */
  publicKey: string;
  applicationId: string;
  /** discord.js REST client (token not needed for interaction webhooks); tests point `api` at a fake. */
  rest: REST;
  /** Minimum time between two progress edits. @defaultValue 1000 */
  progressIntervalMs?: number;
  /** Largest request body accepted; larger ones get 413 without being read. @defaultValue 65536 */
  maxBodyBytes?: number;
  /** Seconds `X-Signature-Timestamp` may be off, in either direction. @defaultValue 300 */
  maxClockSkewS?: number;
  logger?: Logger;
  now?: () => number;
}

/** The endpoint's request listener and a way to wait for commands still running. */
export interface DiscordInteractions {
  requestListener: RequestListener;
  idle(): Promise<void>;
  /** How many interactions have started and not yet finished. */
  running(): number;
}

const PING = 1;
const APPLICATION_COMMAND = 2;
const MESSAGE_COMPONENT = 3;
const AUTOCOMPLETE = 4;
const CHANNEL_MESSAGE = 4;
const DEFERRED_CHANNEL_MESSAGE = 5;
const DEFERRED_UPDATE_MESSAGE = 6;
const UPDATE_MESSAGE = 7;
const EPHEMERAL = 64;

interface RawOption {
  name: string;
  type: number;
  value?: unknown;
  focused?: boolean;
  options?: RawOption[];
}

interface RawInteraction {
  id?: string;
  type: number;
  token: string;
  channel_id?: string;
  member?: { user?: { id: string } };
  user?: { id: string };
  data?: { name?: string; options?: RawOption[]; custom_id?: string };
}

/** The body is larger than the endpoint accepts. */
class BodyTooLarge extends Error {}

/** Reads the body, counting while it streams: rejects with `BodyTooLarge` (and stops reading) past `limit`. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length']) > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size <= limit) {
        chunks.push(c);
        return;
      }
      req.off('data', onData);
      chunks.length = 0;
      reject(new BodyTooLarge());
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    })
    .end(text);
}

/** An interaction response that shows `reply` as a new message, ephemeral when the reply is. */
function message(reply: Reply): { type: number; data: Record<string, unknown> } {
  return {
    type: CHANNEL_MESSAGE,
    data: { ...replyMessage(reply), ...(reply.ephemeral || reply.error ? { flags: EPHEMERAL } : {}) },
  };
}

/**
 * Discord's "Interactions Endpoint URL" mode: every request is checked with Ed25519 and its signed
 * timestamp (401 when the signature is wrong or the timestamp more than 5 minutes away), bodies over
 * the limit get 413, a replayed interaction id is answered but not run again. PING gets PONG; a
 * slash command is prepared by the command layer first, so refusals are answered privately at once
 * and a run is deferred privately exactly when its replies are personal; a reply that turns private
 * while running replaces the public placeholder with an ephemeral follow-up. Confirm and Cancel
 * buttons edit the confirmation in place.
 */
export function createDiscordInteractions(options: DiscordInteractionsOptions): DiscordInteractions {
  const key = discordPublicKey(options.publicKey);
  const logger = (options.logger ?? silentLogger).child({ frontEnd: 'discord' });
  const now = options.now ?? Date.now;
  const maxBody = options.maxBodyBytes ?? DISCORD_DEFAULTS.maxBodyBytes;
  const skewMs = (options.maxClockSkewS ?? DISCORD_DEFAULTS.maxClockSkewS) * 1000;
  const app = options.applicationId;
  const running = new RunningCommands((error) => logger.error('interaction failed', { error }));
  type Files = ReturnType<typeof replyFiles>;
  const withFiles = (body: Record<string, unknown>, files: Files) => {
    if (!files.length) return { body };
    const multipart = multipartMessage(body, files);
    return { body: multipart.body, passThroughBody: true, headers: { 'Content-Type': multipart.contentType } };
  };
  const edit = (token: string, body: Record<string, unknown>, files: Files = []) =>
    options.rest.patch(Routes.webhookMessage(app, token, '@original'), { ...withFiles(body, files), auth: false });
  const remove = (token: string) =>
    options.rest.delete(Routes.webhookMessage(app, token, '@original'), { auth: false });
  const followUp = (token: string, body: Record<string, unknown>, files: Files = []) =>
    options.rest.post(Routes.webhook(app, token), { ...withFiles(body, files), auth: false });

  /** Runs a prepared command whose response was deferred (`ephemeral` or public) and delivers its reply. */
  const finish = async (
    token: string,
    prepared: Extract<PreparedCommand, { ephemeral: boolean }>,
    deferredEphemeral: boolean,
    flush: () => Promise<unknown>,
    replacing: boolean,
  ): Promise<void> => {
    const reply = await prepared.run();
    await flush();
    const body = replyMessage(reply);
    const files = replyFiles(reply);
    if ((reply.ephemeral || reply.error) && !deferredEphemeral && !replacing) {
      await remove(token);
      await followUp(token, { ...body, flags: EPHEMERAL }, files);
    } else {
      await edit(token, body, files);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') return json(res, 405, { error: 'POST only' });
    let raw: Buffer;
    try {
      raw = await readBody(req, maxBody);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      logger.warn('refused a Discord request over the body limit', { limit: maxBody });
      return json(res, 413, { error: 'request body too large' }, { connection: 'close' });
    }
    const timestamp = req.headers['x-signature-timestamp'] as string | undefined;
    if (!verifyDiscordSignature(key, req.headers['x-signature-ed25519'] as string | undefined, timestamp, raw)) {
      logger.warn('refused a Discord request with a bad signature');
      return json(res, 401, { error: 'invalid request signature' });
    }
    if (!/^\d+$/.test(timestamp!) || Math.abs(now() - Number(timestamp) * 1000) > skewMs) {
      logger.warn('refused a Discord request with an out-of-window timestamp', { timestamp });
      return json(res, 401, { error: 'invalid request timestamp' });
    }
    let interaction: RawInteraction;
    try {
      interaction = JSON.parse(raw.toString('utf8')) as RawInteraction;
    } catch {
      return json(res, 400, { error: 'body is not JSON' });
    }
    const userId = interaction.member?.user?.id ?? interaction.user?.id ?? '';
    if (interaction.type === PING) return json(res, 200, { type: 1 });
    if (
      (interaction.type === APPLICATION_COMMAND || interaction.type === MESSAGE_COMPONENT) &&
      interaction.id &&
      !(await options.router.claimDelivery('discord', interaction.id))
    ) {
      logger.warn('ignored a replayed Discord interaction', { interactionId: interaction.id });
      return json(res, 200, {
        type: CHANNEL_MESSAGE,
        data: { content: 'This interaction was already handled.', flags: EPHEMERAL },
      });
    }
    const throttle = new ProgressThrottle({
      intervalMs: options.progressIntervalMs ?? DISCORD_DEFAULTS.progressIntervalMs,
      send: (update) => edit(interaction.token, discordContent(renderDiscordProgress(update))),
      onError: (error) => logger.warn('progress edit failed', { error }),
    });
    const progress = { onProgress: throttle.push, flush: () => throttle.stop() };
    const notify = discordNotify(app, interaction.token, interaction.channel_id, now());

    if (interaction.type === APPLICATION_COMMAND || interaction.type === AUTOCOMPLETE) {
      const command = interaction.data?.name ?? '';
      const sub = interaction.data?.options?.[0];
      const values = Object.fromEntries((sub?.options ?? []).map((o) => [o.name, o.value]));
      if (interaction.type === AUTOCOMPLETE) {
        const focused = sub?.options?.find((o) => o.focused);
        const choices = focused
          ? await options.router.autocomplete({
              platform: 'discord',
              userId,
              command,
              subcommand: sub!.name,
              option: focused.name,
              partial: typeof focused.value === 'string' ? focused.value : String(focused.value),
            })
          : [];
        return json(res, 200, { type: 8, data: { choices: choices.map((c) => ({ name: c.label, value: c.value })) } });
      }
      const prepared = await options.router.prepare({
        platform: 'discord',
        userId,
        command,
        subcommand: sub?.name ?? 'help',
        options: values,
        onProgress: progress.onProgress,
        notify,
      });
      if (prepared.reply) return json(res, 200, message(prepared.reply));
      json(res, 200, { type: DEFERRED_CHANNEL_MESSAGE, data: { flags: prepared.ephemeral ? EPHEMERAL : 0 } });
      running.track(finish(interaction.token, prepared, prepared.ephemeral, progress.flush, false));
      return;
    }
    const button =
      interaction.type === MESSAGE_COMPONENT ? confirmationButton(interaction.data?.custom_id ?? '') : undefined;
    if (button?.action === 'confirm') {
      const prepared = await options.router.confirm({
        id: button.id,
        platform: 'discord',
        userId,
        onProgress: progress.onProgress,
        notify,
      });
      if (prepared.reply) return json(res, 200, message(prepared.reply));
      json(res, 200, { type: DEFERRED_UPDATE_MESSAGE });
      running.track(finish(interaction.token, prepared, true, progress.flush, true));
      return;
    }
    if (button?.action === 'cancel') {
      const reply = await options.router.cancelConfirmation({ id: button.id, platform: 'discord', userId });
      return json(
        res,
        200,
        reply.error
          ? message(reply)
          : { type: UPDATE_MESSAGE, data: { ...discordContent(renderReplyText(reply)), components: [] } },
      );
    }
    return json(res, 400, { error: `unsupported interaction type ${interaction.type}` });
  };

  const requestListener: RequestListener = (req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error('interaction request failed', { error });
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
    });
  };
  return {
    requestListener,
    idle: () => running.idle(),
    running: () => running.size,
  };
}

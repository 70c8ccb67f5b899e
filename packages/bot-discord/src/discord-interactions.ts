import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Routes, type REST } from 'discord.js';
import { silentLogger, type Logger } from '@lab/proxmox-sdk';
import { renderProgressBar, renderReplyText, type CommandRouter, type Reply } from '@lab/commands';
import { confirmedInvocation, deferAsEphemeral, replyComponents, throttledEdits, type DiscordInvocation } from './discord-replies.js';
import { discordPublicKey, verifyDiscordSignature } from './verify-discord-signature.js';

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
  logger?: Logger;
}

/** The endpoint's request listener and a way to wait for commands still running. */
export interface DiscordInteractions {
  requestListener: RequestListener;
  idle(): Promise<void>;
}

const PING = 1;
const APPLICATION_COMMAND = 2;
const MESSAGE_COMPONENT = 3;
const AUTOCOMPLETE = 4;
const EPHEMERAL = 64;

interface RawOption {
  name: string;
  type: number;
  value?: unknown;
  focused?: boolean;
  options?: RawOption[];
}

interface RawInteraction {
  type: number;
  token: string;
  member?: { user?: { id: string } };
  user?: { id: string };
  data?: { name?: string; options?: RawOption[]; custom_id?: string };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 1024 * 1024) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

/**
 * Discord's "Interactions Endpoint URL" mode: every request is checked with Ed25519 (401 when the
 * signature is wrong), PING gets PONG, a slash command is deferred at once (ephemeral when the
 * command answers personal data) and then edited with progress and the final reply, autocomplete
 * gets its choices. All logic runs in the shared command layer.
 */
export function createDiscordInteractions(options: DiscordInteractionsOptions): DiscordInteractions {
  const key = discordPublicKey(options.publicKey);
  const logger = (options.logger ?? silentLogger).child({ frontEnd: 'discord' });
  const running = new Set<Promise<void>>();
  const edit = (token: string, body: Record<string, unknown>) => options.rest.patch(Routes.webhookMessage(options.applicationId, token, '@original'), { body, auth: false });

  const run = async (interaction: RawInteraction, invocation: DiscordInvocation): Promise<void> => {
    const progress = throttledEdits(options.progressIntervalMs ?? 1000, (update) => edit(interaction.token, { content: renderProgressBar(update) }), (error) => logger.warn('progress edit failed', { error }));
    const reply: Reply = await options.router.invoke({ platform: 'discord', userId: interaction.member?.user?.id ?? interaction.user?.id ?? '', ...invocation, onProgress: progress.onProgress });
    await progress.flush();
    await edit(interaction.token, { content: renderReplyText(reply).slice(0, 2000), components: replyComponents(reply, invocation) });
  };

  const track = (work: Promise<void>): void => {
    const guarded = work.catch((error: unknown) => logger.error('interaction failed', { error }));
    running.add(guarded);
    void guarded.finally(() => running.delete(guarded));
  };

  const requestListener: RequestListener = (req, res) => {
    void (async () => {
      if (req.method !== 'POST') return json(res, 405, { error: 'POST only' });
      const raw = await readBody(req);
      if (!verifyDiscordSignature(key, req.headers['x-signature-ed25519'] as string | undefined, req.headers['x-signature-timestamp'] as string | undefined, raw)) {
        logger.warn('refused a Discord request with a bad signature');
        return json(res, 401, { error: 'invalid request signature' });
      }
      let interaction: RawInteraction;
      try {
        interaction = JSON.parse(raw.toString('utf8')) as RawInteraction;
      } catch {
        return json(res, 400, { error: 'body is not JSON' });
      }
      const userId = interaction.member?.user?.id ?? interaction.user?.id ?? '';
      if (interaction.type === PING) return json(res, 200, { type: 1 });
      if (interaction.type === APPLICATION_COMMAND || interaction.type === AUTOCOMPLETE) {
        const command = interaction.data?.name ?? '';
        const sub = interaction.data?.options?.[0];
        const values = Object.fromEntries((sub?.options ?? []).map((o) => [o.name, o.value]));
        if (interaction.type === AUTOCOMPLETE) {
          const focused = sub?.options?.find((o) => o.focused);
          const choices = focused ? await options.router.autocomplete({ platform: 'discord', userId, command, subcommand: sub!.name, option: focused.name, partial: String(focused.value ?? '') }) : [];
          return json(res, 200, { type: 8, data: { choices: choices.map((c) => ({ name: c, value: c })) } });
        }
        const invocation: DiscordInvocation = { command, subcommand: sub?.name ?? 'help', options: values, confirmed: false };
        json(res, 200, { type: 5, data: { flags: deferAsEphemeral(options.router, invocation) ? EPHEMERAL : 0 } });
        track(run(interaction, invocation));
        return;
      }
      const confirmed = interaction.type === MESSAGE_COMPONENT ? confirmedInvocation(interaction.data?.custom_id ?? '') : undefined;
      if (confirmed) {
        json(res, 200, { type: 5, data: { flags: EPHEMERAL } });
        track(run(interaction, confirmed));
        return;
      }
      return json(res, 400, { error: `unsupported interaction type ${interaction.type}` });
    })().catch((error: unknown) => {
      logger.error('interaction request failed', { error });
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
    });
  };
  return {
    requestListener,
    idle: async () => {
      while (running.size) await Promise.all([...running]);
    },
  };
}

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { App, HTTPReceiver, type RespondFn } from '@slack/bolt';
import { silentLogger, type Logger } from '@lab/proxmox-sdk';
import { renderProgressBar, renderReplyText, type CommandRouter, type ProgressUpdate, type Reply } from '@lab/commands';

/** Options of the Slack front end. */
export interface SlackBotOptions {
  router: CommandRouter;
  /** The app's signing secret; every request must carry a valid v0 signature. */
  signingSecret: string;
  /** The bot token (`xoxb-…`) for chat.postMessage / chat.update. */
  botToken: string;
  /** Connect over Socket Mode with this app-level token (`xapp-…`) instead of serving HTTP. */
  socketModeAppToken?: string;
  /** Slack Web API base URL (tests point it at a loopback fake). @defaultValue Slack's */
  slackApiUrl?: string;
  /** Seconds a request timestamp may be off, in either direction. @defaultValue 300 */
  maxClockSkewS?: number;
  /** Minimum time between two progress edits of one message. @defaultValue 1000 */
  progressIntervalMs?: number;
  logger?: Logger;
  now?: () => number;
}

/** The Slack bot: a Bolt app on an HTTP receiver, and the request listener to serve. */
export interface SlackBot {
  app: App;
  /** Mount with `http.createServer(bot.requestListener)`; verifies signatures and timestamps (HTTP mode). */
  requestListener: RequestListener;
  /** Socket Mode: connects to Slack (HTTP mode: nothing to do). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Settles when every command started so far has finished (for graceful shutdown and tests). */
  idle(): Promise<void>;
}

const CONFIRM_ACTION = 'lab_confirm';

/**
 * The Slack front end of Proxmox Lab: `/lab` and `/myvm` slash commands, acked at once, then
 * answered through the shared command layer — progress as one message edited in place
 * (`cs101 ▓▓▓▓▓░░░ 7/11`), personal data as ephemeral replies, destructive commands behind a
 * Confirm button. Requests with a bad signature, or a timestamp more than 5 minutes away in either
 * direction (Bolt itself accepts future ones), get 401.
 */
export function createSlackBot(options: SlackBotOptions): SlackBot {
  const logger = (options.logger ?? silentLogger).child({ frontEnd: 'slack' });
  const now = options.now ?? Date.now;
  const receiver = new HTTPReceiver({ signingSecret: options.signingSecret, endpoints: ['/slack/events'], processBeforeResponse: false, unhandledRequestTimeoutMillis: 2900 });
  const clientOptions = options.slackApiUrl ? { clientOptions: { slackApiUrl: options.slackApiUrl } } : {};
  // Socket Mode is only a transport: the same listeners serve both.
  const app = options.socketModeAppToken
    ? new App({ token: options.botToken, appToken: options.socketModeAppToken, socketMode: true, signingSecret: options.signingSecret, ...clientOptions })
    : new App({ receiver, token: options.botToken, botId: 'B0LAB', botUserId: 'U0LAB', ...clientOptions });
  const running = new Set<Promise<void>>();
  const track = (work: Promise<void>): void => {
    running.add(work);
    void work.finally(() => running.delete(work));
  };

  const run = async (args: { userId: string; channelId: string; command: string; text: string; confirmed: boolean; respond: RespondFn }): Promise<void> => {
    let ts: string | undefined;
    let lastEdit = 0;
    let pending: ProgressUpdate | undefined;
    const edit = async (text: string): Promise<void> => {
      if (ts) await app.client.chat.update({ channel: args.channelId, ts, text });
      else ts = (await app.client.chat.postMessage({ channel: args.channelId, text })).ts as string;
      lastEdit = now();
    };
    let chain = Promise.resolve();
    const reply: Reply = await options.router.invoke({
      platform: 'slack',
      userId: args.userId,
      command: args.command,
      text: args.text,
      confirmed: args.confirmed,
      onProgress: (update) => {
        pending = update;
        if (now() - lastEdit < (options.progressIntervalMs ?? 1000) && update.done !== update.total && ts) return;
        chain = chain.then(() => edit(renderProgressBar(pending!))).catch((error: unknown) => logger.warn('progress update failed', { error }));
      },
    });
    await chain;
    const text = renderReplyText(reply);
    if (reply.confirm) {
      await args.respond({
        response_type: 'ephemeral',
        text: `${text}\n${reply.confirm.prompt}`,
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text } },
          { type: 'actions', elements: [{ type: 'button', style: 'danger', text: { type: 'plain_text', text: reply.confirm.prompt }, action_id: CONFIRM_ACTION, value: JSON.stringify({ command: args.command, text: args.text }) }] },
        ],
      });
    } else if (reply.ephemeral || reply.error) {
      await args.respond({ response_type: 'ephemeral', text });
    } else {
      await edit(text);
    }
  };

  app.command(new RegExp(`^/(${[...options.router.plugins.keys()].join('|')})$`), async ({ command, ack, respond }) => {
    await ack();
    track(
      run({ userId: command.user_id, channelId: command.channel_id, command: command.command.slice(1), text: command.text, confirmed: false, respond }).catch(async (error: unknown) => {
        logger.error('slash command failed', { error });
        await respond({ response_type: 'ephemeral', text: 'Something went wrong on our side; the error was logged.' }).catch(() => undefined);
      }),
    );
  });

  app.action(CONFIRM_ACTION, async ({ ack, body, respond, action }) => {
    await ack();
    const value = JSON.parse((action as { value?: string }).value ?? '{}') as { command?: string; text?: string };
    const channelId = (body as { channel?: { id?: string } }).channel?.id ?? '';
    if (!value.command || !value.text) return;
    track(run({ userId: body.user.id, channelId, command: value.command, text: value.text, confirmed: true, respond }).catch((error: unknown) => logger.error('confirmed command failed', { error })));
  });

  const skew = (options.maxClockSkewS ?? 300) * 1000;
  const requestListener: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
    const ts = Number(req.headers['x-slack-request-timestamp']);
    if (!Number.isFinite(ts) || Math.abs(now() - ts * 1000) > skew) {
      logger.warn('refused a Slack request with a missing or out-of-window timestamp', { timestamp: req.headers['x-slack-request-timestamp'] });
      res.writeHead(401, { 'content-type': 'text/plain' }).end('invalid request timestamp');
      return;
    }
    receiver.requestListener(req, res);
  };
  return {
    app,
    requestListener,
    start: async () => {
      if (options.socketModeAppToken) await app.start();
    },
    stop: async () => {
      if (options.socketModeAppToken) await app.stop();
    },
    idle: async () => {
      while (running.size) await Promise.all([...running]);
    },
  };
}

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { App, HTTPReceiver, type RespondFn } from '@slack/bolt';
import { silentLogger, type DeploymentSummary, type Logger } from '@lab/proxmox-sdk';
import {
  ProgressThrottle,
  RunningCommands,
  renderFinishedDeployment,
  renderProgress,
  renderReplyText,
  type CommandRouter,
  type Reply,
} from '@lab/commands';
import { SlackProgressMessage, finishSlackProgress } from './slack-progress.js';
import { escapeSlackText } from './slack-text.js';
import { boltLogger } from './bolt-logger.js';
import { SLACK_DEFAULTS } from './defaults.js';

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
  /** Largest request body accepted (HTTP mode); larger ones get 413, counted while streaming. @defaultValue 65536 */
  maxBodyBytes?: number;
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
  /** How many commands have started and not yet finished. */
  running(): number;
  /** Finishes a deployment's progress message (its `notify` ref) with its outcome, in the words of its kind (`spec`), e.g. after a restart. */
  finishDeployment(
    deployment: { notify?: Record<string, unknown> | null; spec?: unknown },
    summary: DeploymentSummary,
  ): Promise<boolean>;
}

const CONFIRM_ACTION = 'lab_confirm';
const CANCEL_ACTION = 'lab_cancel';
const ALREADY_HANDLED = 'This request was already handled.';

/**
 * The Slack front end of Proxmox Lab: `/lab` and `/myvm` slash commands, acked at once, then
 * answered through the shared command layer — progress as one message edited in place
 * (`cs101 ▓▓▓▓▓░░░ 7/11`, through the response_url where the bot cannot post), personal data and
 * refusals as ephemeral replies, destructive commands behind single-use Confirm and Cancel buttons
 * that replace the question with the outcome. Requests with a bad signature, or a timestamp more than
 * 5 minutes away in either direction (Bolt itself accepts future ones), get 401; bodies over the
 * limit get 413; a replayed `trigger_id` is acked but not run again.
 */
export function createSlackBot(options: SlackBotOptions): SlackBot {
  const logger = (options.logger ?? silentLogger).child({ frontEnd: 'slack' });
  const now = options.now ?? Date.now;
  const maxBody = options.maxBodyBytes ?? SLACK_DEFAULTS.maxBodyBytes;
  const boltLog = boltLogger(logger);
  const receiver = new HTTPReceiver({
    signingSecret: options.signingSecret,
    logger: boltLog,
    endpoints: ['/slack/events'],
    processBeforeResponse: false,
    unhandledRequestTimeoutMillis: 2900,
    bodyLimit: maxBody,
  });
  const clientOptions = options.slackApiUrl ? { clientOptions: { slackApiUrl: options.slackApiUrl } } : {};
  // Socket Mode is only a transport: the same listeners serve both.
  const app = options.socketModeAppToken
    ? new App({
        token: options.botToken,
        appToken: options.socketModeAppToken,
        socketMode: true,
        signingSecret: options.signingSecret,
        logger: boltLog,
        ...clientOptions,
      })
    : new App({
        receiver,
        token: options.botToken,
        botId: 'B0LAB',
        botUserId: 'U0LAB',
        logger: boltLog,
        ...clientOptions,
      });
  const { router } = options;
  const running = new RunningCommands((error) => logger.error('command failed', { error }));
  const firstDelivery = async (triggerId: string | undefined): Promise<boolean> => {
    if (!triggerId || (await router.claimDelivery('slack', triggerId))) return true;
    logger.warn('ignored a replayed Slack request', { triggerId });
    return false;
  };

  /** A progress message and the `onProgress` handler that edits it, throttled (the last state is always shown). */
  const progressFor = (channel: string, responseUrl: string | undefined, respond: RespondFn) => {
    const message = new SlackProgressMessage(
      app.client,
      respond,
      { channel, ...(responseUrl ? { responseUrl } : {}) },
      logger,
    );
    // A progress edit that fails is logged: it must never become an unhandled rejection that ends the bot.
    const throttle = new ProgressThrottle({
      intervalMs: options.progressIntervalMs ?? SLACK_DEFAULTS.progressIntervalMs,
      send: (update) => message.show(renderProgress(update), { final: false }),
      onError: (error) => logger.warn('progress edit failed', { error }),
    });
    return { message, onProgress: throttle.push, flush: () => throttle.stop() };
  };

  /**
   * Files of a reply go to the caller's DM with the bot (`conversations.open`, then
   * `files.uploadV2`: getUploadURLExternal → upload → completeUploadExternal): a reply may be
   * personal, and a file shared in a channel is seen by everyone there.
   */
  const sendFiles = async (reply: Reply, userId: string): Promise<void> => {
    if (!reply.attachments?.length) return;
    const dm = await app.client.conversations.open({ users: userId });
    const channelId = dm.channel?.id;
    if (!channelId) throw new Error('Slack opened no DM channel for the files');
    await app.client.files.uploadV2({
      channel_id: channelId,
      initial_comment:
        reply.attachments.length === 1
          ? escapeSlackText(`${reply.attachments[0]!.filename}: open it to connect.`)
          : 'Your files:',
      file_uploads: reply.attachments.map((a) => ({
        file: Buffer.from(a.content),
        filename: a.filename,
        title: a.filename,
      })),
    });
  };

  const answer = async (
    reply: Reply,
    respond: RespondFn,
    message: SlackProgressMessage,
    userId: string,
  ): Promise<void> => {
    const text = renderReplyText(reply);
    if (reply.confirm?.id) {
      await respond({
        response_type: 'ephemeral',
        text: escapeSlackText(`${text}\n${reply.confirm.prompt}`),
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: escapeSlackText(text) } },
          {
            type: 'actions',
            elements: [
              {
                type: 'button',
                style: 'danger',
                text: { type: 'plain_text', text: (reply.confirm.action ?? reply.confirm.prompt).slice(0, 75) },
                action_id: CONFIRM_ACTION,
                value: reply.confirm.id,
              },
              {
                type: 'button',
                text: { type: 'plain_text', text: 'Cancel' },
                action_id: CANCEL_ACTION,
                value: reply.confirm.id,
              },
            ],
          },
        ],
      });
    } else if ((reply.ephemeral || reply.error) && message.isPrivate && !reply.attachments?.length) {
      await message.show(text, { final: true });
    } else if (reply.ephemeral || reply.error) {
      // A public progress message ends with the outcome, not as a finished bar.
      if (message.shownPublicly) await message.show(text, { final: true });
      await respond({
        response_type: 'ephemeral',
        text: escapeSlackText(
          reply.attachments?.length
            ? `${text}\n(${reply.attachments.map((a) => a.filename).join(', ')} sent to you in a direct message)`
            : text,
        ),
      });
    } else {
      await message.show(text, { final: true });
    }
    await sendFiles(reply, userId);
  };

  const run = async (args: {
    userId: string;
    channelId: string;
    responseUrl?: string;
    command: string;
    text: string;
    respond: RespondFn;
  }): Promise<void> => {
    const progress = progressFor(args.channelId, args.responseUrl, args.respond);
    const prepared = await router.prepare({
      platform: 'slack',
      userId: args.userId,
      command: args.command,
      text: args.text,
      onProgress: progress.onProgress,
      notify: progress.message.notify,
    });
    if (prepared.ephemeral) progress.message.makePrivate();
    const reply: Reply = prepared.reply ?? (await prepared.run());
    await progress.flush();
    await answer(reply, args.respond, progress.message, args.userId);
  };

  const confirmed = async (args: {
    id: string;
    userId: string;
    channelId: string;
    responseUrl?: string;
    respond: RespondFn;
  }): Promise<void> => {
    const progress = progressFor(args.channelId, args.responseUrl, args.respond);
    const prepared = await router.confirm({
      id: args.id,
      platform: 'slack',
      userId: args.userId,
      onProgress: progress.onProgress,
      notify: progress.message.notify,
    });
    if (prepared.reply) {
      await args.respond({
        response_type: 'ephemeral',
        replace_original: false,
        text: escapeSlackText(renderReplyText(prepared.reply)),
      });
      return;
    }
    if (prepared.ephemeral) progress.message.makePrivate({ replaceOriginal: true });
    const reply = await prepared.run();
    await progress.flush();
    // A public progress message (a confirmed rebuild, reset or scale-down) ends with the outcome, and a public
    // outcome asked for privately (a destroy) is the channel's too.
    if (progress.message.shownPublicly || (!reply.ephemeral && !reply.error && !progress.message.isPrivate))
      await progress.message.show(renderReplyText(reply), { final: true });
    await args.respond({ replace_original: true, text: escapeSlackText(renderReplyText(reply)) });
    await sendFiles(reply, args.userId);
  };

  app.command(new RegExp(`^/(${[...router.plugins.keys()].join('|')})$`), async ({ command, ack, respond }) => {
    if (!(await firstDelivery(command.trigger_id))) {
      await ack({ response_type: 'ephemeral', text: ALREADY_HANDLED });
      return;
    }
    await ack();
    running.track(
      run({
        userId: command.user_id,
        channelId: command.channel_id,
        responseUrl: command.response_url,
        command: command.command.slice(1),
        text: unescapeSlackText(command.text),
        respond,
      }).catch(async (error: unknown) => {
        logger.error('slash command failed', { error });
        await respond({
          response_type: 'ephemeral',
          text: 'Something went wrong on our side; the error was logged.',
        }).catch(() => undefined);
      }),
    );
  });

  const cancelled = async (args: { id: string; userId: string; respond: RespondFn }): Promise<void> => {
    const reply = await router.cancelConfirmation({ id: args.id, platform: 'slack', userId: args.userId });
    const text = escapeSlackText(renderReplyText(reply));
    await args.respond(
      reply.error ? { response_type: 'ephemeral', replace_original: false, text } : { replace_original: true, text },
    );
  };

  app.action(new RegExp(`^(${CONFIRM_ACTION}|${CANCEL_ACTION})$`), async ({ ack, body, respond, action }) => {
    await ack();
    const raw = body as { trigger_id?: string; channel?: { id?: string }; response_url?: string };
    const { action_id: actionId, value: id = '' } = action as { action_id: string; value?: string };
    const click = { id, userId: body.user.id, respond };
    const work = async (): Promise<void> => {
      if (!(await firstDelivery(raw.trigger_id))) return;
      await (actionId === CANCEL_ACTION
        ? cancelled(click)
        : confirmed({
            ...click,
            channelId: raw.channel?.id ?? '',
            ...(raw.response_url ? { responseUrl: raw.response_url } : {}),
          }));
    };
    running.track(work().catch((error: unknown) => logger.error('confirmation button failed', { error })));
  });

  const skew = (options.maxClockSkewS ?? SLACK_DEFAULTS.maxClockSkewS) * 1000;
  const requestListener: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
    if (Number(req.headers['content-length']) > maxBody) {
      logger.warn('refused a Slack request over the body limit', { limit: maxBody });
      res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end('request body too large');
      return;
    }
    const ts = Number(req.headers['x-slack-request-timestamp']);
    if (!Number.isFinite(ts) || Math.abs(now() - ts * 1000) > skew) {
      logger.warn('refused a Slack request with a missing or out-of-window timestamp', {
        timestamp: req.headers['x-slack-request-timestamp'],
      });
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
    idle: () => running.idle(),
    running: () => running.size,
    finishDeployment: (deployment, summary) =>
      finishSlackProgress(app.client, deployment.notify, summary, {
        logger,
        text: renderFinishedDeployment(deployment, summary),
      }),
  };
}

/**
 * Slash-command text as the user typed it: with `should_escape` Slack sends mentions as
 * `<@U123|name>` and escapes a typed `&`, `<` and `>` as entities, which are turned back here.
 */
export function unescapeSlackText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

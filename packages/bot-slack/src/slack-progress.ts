import type { RespondArguments, RespondFn } from '@slack/bolt';
import { silentLogger, type DeploymentSummary, type Logger } from '@lab/proxmox-sdk';
import { renderDeploymentSummary } from '@lab/commands';
import { escapeSlackText } from './slack-text.js';

/** The part of Slack's Web API client that progress messages use. */
export interface SlackChatApi {
  chat: {
    postMessage(args: { channel: string; text: string }): Promise<{ ts?: string }>;
    update(args: { channel: string; ts: string; text: string }): Promise<unknown>;
  };
}

/**
 * Slack's `response_url` takes 5 messages; the public progress keeps the last one for the reply.
 */
const RESPONSE_URL_PROGRESS_USES = 4;

/**
 * One public message shown in place: posted with chat.postMessage and edited with chat.update; where
 * the bot cannot post (a private channel or DM it is not in: `channel_not_found`, `not_in_channel`)
 * it falls back to the command's `response_url`, replacing its own message. Keeps `notify` (the
 * deployment's notify ref) up to date with where the message is.
 */
export class SlackProgressMessage {
  readonly notify: Record<string, unknown>;
  readonly #client: SlackChatApi;
  readonly #respond: RespondFn;
  readonly #logger: Logger;
  #viaResponseUrl = false;
  #private = false;
  #responseUrlUses = 0;
  #shownPublicly = false;

  constructor(
    client: SlackChatApi,
    respond: RespondFn,
    target: { channel: string; responseUrl?: string },
    logger: Logger = silentLogger,
  ) {
    this.#client = client;
    this.#respond = respond;
    this.#logger = logger;
    this.notify = {
      platform: 'slack',
      channel: target.channel,
      ...(target.responseUrl ? { responseUrl: target.responseUrl } : {}),
    };
  }

  /**
   * Shows this command's progress to the caller only (a private command such as `/myvm reset`):
   * through the response_url as ephemeral messages, never in the channel. With `replaceOriginal`
   * (a pressed button) every message replaces the one the response_url belongs to. Call before the
   * first `show`.
   */
  makePrivate(options: { replaceOriginal?: boolean } = {}): void {
    this.#private = true;
    if (options.replaceOriginal) this.#responseUrlUses = Math.max(this.#responseUrlUses, 1);
    this.#viaResponseUrl = true;
    this.notify.viaResponseUrl = true;
    this.notify.private = true;
  }

  /** True after {@link makePrivate}. */
  get isPrivate(): boolean {
    return this.#private;
  }

  /** True once something was shown in the channel: the message must then end with the command's outcome. */
  get shownPublicly(): boolean {
    return this.#shownPublicly;
  }

  /**
   * Shows `plain` (escaped for Slack here). Progress (`final: false`) may be skipped once the response_url budget is spent;
   * the final text is always sent. Never throws: a message that cannot be shown is logged, since the
   * command's outcome does not depend on it.
   */
  async show(plain: string, options: { final: boolean }): Promise<void> {
    const text = escapeSlackText(plain);
    if (!this.#viaResponseUrl) {
      try {
        const ts = this.notify.ts as string | undefined;
        if (ts) await this.#client.chat.update({ channel: this.notify.channel as string, ts, text });
        else
          this.notify.ts = (await this.#client.chat.postMessage({ channel: this.notify.channel as string, text })).ts;
        this.#shownPublicly = true;
        return;
      } catch (error) {
        this.#logger.warn('cannot post in the channel; showing progress through the response_url instead', { error });
        this.#viaResponseUrl = true;
        this.notify.viaResponseUrl = true;
      }
    }
    if (!options.final && this.#responseUrlUses >= RESPONSE_URL_PROGRESS_USES) return;
    const body: RespondArguments = {
      response_type: this.#private ? 'ephemeral' : 'in_channel',
      text,
      ...(this.#responseUrlUses > 0 ? { replace_original: true } : {}),
    };
    this.#responseUrlUses++;
    try {
      await this.#respond(body);
      if (!this.#private) this.#shownPublicly = true;
    } catch (error) {
      this.#logger.error('cannot show a message through the response_url either', { error });
    }
  }
}

/**
 * Finishes the progress message a deployment's `notify` ref names (`{ platform: 'slack', channel,
 * responseUrl, ts? }`) with the deployment's summary: edits the message `ts` in place, else posts to
 * the channel, else answers through the response_url (Slack accepts it for 30 minutes; a private
 * command's progress, `private: true`, is answered there only, to the caller). Without a `client`
 * (a process that does not serve Slack) only the response_url is tried: it needs no token.
 * `options.text` is the outcome to show (`renderFinishedDeployment`); by default the summary's counts. Resolves
 * true when one of them worked; never throws.
 */
export async function finishSlackProgress(
  client: SlackChatApi | undefined,
  notify: Record<string, unknown> | null | undefined,
  summary: DeploymentSummary,
  options: { logger?: Logger; fetch?: typeof fetch; text?: string } = {},
): Promise<boolean> {
  const logger = options.logger ?? silentLogger;
  if (notify?.platform !== 'slack') return false;
  const text = escapeSlackText(options.text ?? renderDeploymentSummary(summary));
  const context = { deploymentId: summary.deploymentId, classId: summary.classId };
  const { channel, ts, responseUrl } = notify;
  if (client && typeof channel === 'string' && typeof ts === 'string') {
    try {
      await client.chat.update({ channel, ts, text });
      return true;
    } catch (error) {
      logger.warn('cannot edit the Slack progress message', { ...context, error });
    }
  }
  if (client && typeof channel === 'string' && notify.viaResponseUrl !== true) {
    try {
      await client.chat.postMessage({ channel, text });
      return true;
    } catch (error) {
      logger.warn('cannot post the deployment summary in the Slack channel', { ...context, error });
    }
  }
  if (typeof responseUrl === 'string') {
    try {
      const response = await (options.fetch ?? fetch)(responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          response_type: notify.private === true ? 'ephemeral' : 'in_channel',
          text,
          ...(notify.viaResponseUrl === true ? { replace_original: true } : {}),
        }),
      });
      if (response.ok) return true;
      logger.warn('the Slack response_url refused the deployment summary', { ...context, status: response.status });
    } catch (error) {
      logger.warn('cannot answer through the Slack response_url', { ...context, error });
    }
  }
  return false;
}

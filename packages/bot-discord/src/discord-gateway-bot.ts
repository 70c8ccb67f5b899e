import {
  MessageFlags,
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Client,
  type Interaction,
} from 'discord.js';
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
import { confirmationButton, discordNotify, replyFiles, replyMessage } from './discord-replies.js';
import { gatewayContent } from './discord-text.js';
import { DISCORD_DEFAULTS } from './defaults.js';

/** Options of the gateway front end. */
export interface DiscordGatewayOptions {
  client: Client;
  router: CommandRouter;
  /** Minimum time between two progress edits. @defaultValue 1000 */
  progressIntervalMs?: number;
  logger?: Logger;
  now?: () => number;
}

/** A reply's message as discord.js takes it: `allowedMentions` where the API says `allowed_mentions`. */
function gatewayMessage(reply: Reply) {
  const { allowed_mentions: allowedMentions, ...message } = replyMessage(reply);
  return { ...message, allowedMentions };
}

type Message = ReturnType<typeof gatewayMessage>;

/**
 * The discord.js (gateway) front end: each slash command is prepared by the command layer first —
 * a refusal is answered privately at once; a run is deferred privately exactly when its replies are
 * personal, then edited with progress and the reply; a reply that turns private while running
 * replaces the public placeholder with an ephemeral follow-up. Confirm and Cancel buttons edit the
 * confirmation in place; a replayed interaction id is not run again; autocomplete answers from the
 * command layer. Returns a detach function.
 */
export function attachDiscordGatewayBot(options: DiscordGatewayOptions): {
  detach: () => void;
  idle: () => Promise<void>;
  running: () => number;
} {
  const logger = (options.logger ?? silentLogger).child({ frontEnd: 'discord-gateway' });
  const now = options.now ?? Date.now;
  const running = new RunningCommands((error) => logger.error('interaction failed', { error }));
  const { router } = options;

  const progressOf = (interaction: ChatInputCommandInteraction | ButtonInteraction) => {
    const throttle = new ProgressThrottle({
      intervalMs: options.progressIntervalMs ?? DISCORD_DEFAULTS.progressIntervalMs,
      send: (update) => interaction.editReply(gatewayContent(renderDiscordProgress(update))),
      onError: (error) => logger.warn('progress edit failed', { error }),
    });
    return { onProgress: throttle.push, flush: () => throttle.stop() };
  };
  const notifyOf = (interaction: ChatInputCommandInteraction | ButtonInteraction) =>
    discordNotify(interaction.applicationId, interaction.token, interaction.channelId ?? undefined, now());
  /** A reply's files as discord.js attaches them to a reply or follow-up. */
  const withFiles = (reply: Reply): { files?: Array<{ attachment: Buffer; name: string }> } => {
    const files = replyFiles(reply);
    return files.length ? { files: files.map((f) => ({ attachment: f.data, name: f.name })) } : {};
  };
  const privately = (reply: Reply): boolean => reply.ephemeral === true || reply.error === true;
  const answer = (interaction: ChatInputCommandInteraction | ButtonInteraction, reply: Reply) =>
    interaction.reply({
      ...gatewayMessage(reply),
      ...(privately(reply) ? { flags: MessageFlags.Ephemeral } : {}),
    } as never);

  const slashCommand = async (interaction: ChatInputCommandInteraction): Promise<void> => {
    const values = Object.fromEntries(interaction.options.data[0]?.options?.map((o) => [o.name, o.value]) ?? []);
    const progress = progressOf(interaction);
    const prepared: PreparedCommand = await router.prepare({
      platform: 'discord',
      userId: interaction.user.id,
      command: interaction.commandName,
      subcommand: interaction.options.getSubcommand(),
      options: values,
      onProgress: progress.onProgress,
      notify: notifyOf(interaction),
    });
    if (prepared.reply) {
      await answer(interaction, prepared.reply);
      return;
    }
    await interaction.deferReply(prepared.ephemeral ? { flags: MessageFlags.Ephemeral } : {});
    const reply = await prepared.run();
    await progress.flush();
    const body: Message = { ...gatewayMessage(reply), ...withFiles(reply) };
    if (privately(reply) && !prepared.ephemeral) {
      await interaction.deleteReply();
      await interaction.followUp({ ...body, flags: MessageFlags.Ephemeral } as never);
    } else {
      await interaction.editReply(body as never);
    }
  };

  const confirmationButtonPressed = async (
    interaction: ButtonInteraction,
    button: { action: 'confirm' | 'cancel'; id: string },
  ): Promise<void> => {
    const click = { id: button.id, platform: 'discord' as const, userId: interaction.user.id };
    if (button.action === 'cancel') {
      const reply = await router.cancelConfirmation(click);
      await (reply.error
        ? answer(interaction, reply)
        : interaction.update({ ...gatewayContent(renderReplyText(reply)), components: [] }));
      return;
    }
    const progress = progressOf(interaction);
    const prepared = await router.confirm({ ...click, onProgress: progress.onProgress, notify: notifyOf(interaction) });
    if (prepared.reply) {
      await answer(interaction, prepared.reply);
      return;
    }
    await interaction.deferUpdate();
    const reply = await prepared.run();
    await progress.flush();
    await interaction.editReply({ ...gatewayMessage(reply), ...withFiles(reply) } as never);
  };

  const autocomplete = async (interaction: AutocompleteInteraction): Promise<void> => {
    const focused = interaction.options.getFocused(true);
    const choices = await router.autocomplete({
      platform: 'discord',
      userId: interaction.user.id,
      command: interaction.commandName,
      subcommand: interaction.options.getSubcommand(),
      option: focused.name,
      partial: String(focused.value),
    });
    await interaction.respond(choices.map((c) => ({ name: c.label, value: c.value })));
  };

  /** Runs `work` unless Discord delivered this interaction before (a replay). */
  const once = async (interaction: Interaction, work: () => Promise<void>): Promise<void> => {
    if (await router.claimDelivery('discord', interaction.id)) return work();
    logger.warn('ignored a replayed Discord interaction', { interactionId: interaction.id });
  };

  const onInteraction = (interaction: Interaction): void => {
    let work: Promise<void> | undefined;
    if (interaction.isChatInputCommand()) {
      work = once(interaction, () => slashCommand(interaction));
    } else if (interaction.isAutocomplete()) {
      work = autocomplete(interaction);
    } else if (interaction.isButton()) {
      const button = confirmationButton(interaction.customId);
      if (button) work = once(interaction, () => confirmationButtonPressed(interaction, button));
    }
    if (work) running.track(work);
  };

  options.client.on('interactionCreate', onInteraction);
  return {
    detach: () => void options.client.off('interactionCreate', onInteraction),
    idle: () => running.idle(),
    running: () => running.size,
  };
}

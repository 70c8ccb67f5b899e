import { MessageFlags, type AutocompleteInteraction, type ButtonInteraction, type ChatInputCommandInteraction, type Client, type Interaction } from 'discord.js';
import { silentLogger, type Logger } from '@lab/proxmox-sdk';
import { renderProgressBar, renderReplyText, type CommandRouter, type Reply } from '@lab/commands';
import { confirmedInvocation, deferAsEphemeral, replyComponents, throttledEdits, type DiscordInvocation } from './discord-replies.js';

/** Options of the gateway front end. */
export interface DiscordGatewayOptions {
  client: Client;
  router: CommandRouter;
  /** Minimum time between two progress edits. @defaultValue 1000 */
  progressIntervalMs?: number;
  logger?: Logger;
}

/**
 * The discord.js (gateway) front end: each slash command is deferred at once — ephemeral when it
 * answers personal data, decided then because Discord cannot change it later — then edited with
 * progress and the reply; autocomplete answers from the command layer. Returns a detach function.
 */
export function attachDiscordGatewayBot(options: DiscordGatewayOptions): { detach: () => void; idle: () => Promise<void> } {
  const logger = (options.logger ?? silentLogger).child({ frontEnd: 'discord-gateway' });
  const running = new Set<Promise<void>>();

  const execute = async (interaction: ChatInputCommandInteraction | ButtonInteraction, invocation: DiscordInvocation): Promise<void> => {
    await interaction.deferReply(deferAsEphemeral(options.router, invocation) ? { flags: MessageFlags.Ephemeral } : {});
    const progress = throttledEdits(options.progressIntervalMs ?? 1000, (update) => interaction.editReply({ content: renderProgressBar(update) }), (error) => logger.warn('progress edit failed', { error }));
    const reply: Reply = await options.router.invoke({ platform: 'discord', userId: interaction.user.id, ...invocation, onProgress: progress.onProgress });
    await progress.flush();
    await interaction.editReply({ content: renderReplyText(reply).slice(0, 2000), components: replyComponents(reply, invocation) } as never);
  };

  const autocomplete = async (interaction: AutocompleteInteraction): Promise<void> => {
    const focused = interaction.options.getFocused(true);
    const choices = await options.router.autocomplete({
      platform: 'discord',
      userId: interaction.user.id,
      command: interaction.commandName,
      subcommand: interaction.options.getSubcommand(),
      option: focused.name,
      partial: String(focused.value),
    });
    await interaction.respond(choices.map((c) => ({ name: c, value: c })));
  };

  const onInteraction = (interaction: Interaction): void => {
    let work: Promise<void> | undefined;
    if (interaction.isChatInputCommand()) {
      const values = Object.fromEntries(interaction.options.data[0]?.options?.map((o) => [o.name, o.value]) ?? []);
      work = execute(interaction, { command: interaction.commandName, subcommand: interaction.options.getSubcommand(), options: values, confirmed: false });
    } else if (interaction.isAutocomplete()) {
      work = autocomplete(interaction);
    } else if (interaction.isButton()) {
      const confirmed = confirmedInvocation(interaction.customId);
      if (confirmed) work = execute(interaction, confirmed);
    }
    if (!work) return;
    const guarded = work.catch((error: unknown) => logger.error('interaction failed', { error }));
    running.add(guarded);
    void guarded.finally(() => running.delete(guarded));
  };

  options.client.on('interactionCreate', onInteraction);
  return {
    detach: () => void options.client.off('interactionCreate', onInteraction),
    idle: async () => {
      while (running.size) await Promise.all([...running]);
    },
  };
}

import { MessageFlags, type AutocompleteInteraction, type ButtonInteraction, type ChatInputCommandInteraction, type Client, type Interaction } from 'discord.js';
import { silentLogger, type Logger } from '@lab/proxmox-sdk';
import { renderProgressBar, renderReplyText, type CommandRouter, type Reply } from '@lab/commands';

/** Options of the gateway front end. */
export interface DiscordGatewayOptions {
  client: Client;
  router: CommandRouter;
  /** Minimum time between two progress edits. @defaultValue 1000 */
  progressIntervalMs?: number;
  logger?: Logger;
}

const CONFIRM = 'lab_confirm:';

/**
 * The discord.js (gateway) front end: each slash command is deferred at once — ephemeral when it
 * answers personal data, decided then because Discord cannot change it later — then edited with
 * progress and the reply; autocomplete answers from the command layer. Returns a detach function.
 */
export function attachDiscordGatewayBot(options: DiscordGatewayOptions): { detach: () => void; idle: () => Promise<void> } {
  const logger = (options.logger ?? silentLogger).child({ frontEnd: 'discord-gateway' });
  const running = new Set<Promise<void>>();

  const execute = async (interaction: ChatInputCommandInteraction | ButtonInteraction, invocation: { command: string; subcommand: string; options: Record<string, unknown>; confirmed: boolean }): Promise<void> => {
    const definition = options.router.plugins.get(invocation.command)?.subcommands[invocation.subcommand];
    await interaction.deferReply(definition?.ephemeral || !definition || invocation.confirmed ? { flags: MessageFlags.Ephemeral } : {});
    let lastEdit = 0;
    let chain: Promise<unknown> = Promise.resolve();
    const reply: Reply = await options.router.invoke({
      platform: 'discord',
      userId: interaction.user.id,
      ...invocation,
      onProgress: (update) => {
        if (Date.now() - lastEdit < (options.progressIntervalMs ?? 1000) && update.done !== update.total) return;
        lastEdit = Date.now();
        chain = chain.then(() => interaction.editReply({ content: renderProgressBar(update) })).catch((error: unknown) => logger.warn('progress edit failed', { error }));
      },
    });
    await chain;
    const content = renderReplyText(reply).slice(0, 2000);
    const components = reply.confirm
      ? [{ type: 1, components: [{ type: 2, style: 4, label: reply.confirm.prompt.slice(0, 80), custom_id: `${CONFIRM}${JSON.stringify({ c: invocation.command, s: invocation.subcommand, o: invocation.options })}`.slice(0, 100) }] }]
      : [];
    await interaction.editReply({ content, components } as never);
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
    } else if (interaction.isButton() && interaction.customId.startsWith(CONFIRM)) {
      const saved = JSON.parse(interaction.customId.slice(CONFIRM.length)) as { c: string; s: string; o: Record<string, unknown> };
      work = execute(interaction, { command: saved.c, subcommand: saved.s, options: saved.o, confirmed: true });
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

import {
  SlashCommandBuilder,
  SlashCommandSubcommandBuilder,
  type ApplicationCommandOptionBase,
} from '@discordjs/builders';
import {
  ApplicationCommandOptionType,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord-api-types/v10';
import { readOptionShapes, type CommandPlugin, type OptionShape, type Subcommand } from '@lab/commands';

/**
 * The slash commands Discord registers for `plugins`: one command per plugin, one subcommand per
 * subcommand, options from the same zod schemas that make Slack's usage text and the CLI's flags
 * (required ones first, as Discord wants). Descriptions are cut to Discord's 100 characters.
 */
export function discordCommandDefinitions(
  plugins: Iterable<CommandPlugin>,
): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  return [...plugins].map((plugin) => {
    const command = new SlashCommandBuilder().setName(plugin.name).setDescription(plugin.description.slice(0, 100));
    for (const [name, sub] of Object.entries(plugin.subcommands))
      command.addSubcommand(subcommandDefinition(name, sub));
    return command.toJSON();
  });
}

function subcommandDefinition(name: string, sub: Subcommand): SlashCommandSubcommandBuilder {
  const builder = new SlashCommandSubcommandBuilder().setName(name).setDescription(sub.description.slice(0, 100));
  const options = readOptionShapes(sub).sort((a, b) => Number(b.required) - Number(a.required));
  for (const shape of options) {
    const describe = <T extends ApplicationCommandOptionBase>(o: T): T =>
      o
        .setName(shape.name)
        .setDescription((shape.ownDescription || shape.name).slice(0, 100))
        .setRequired(shape.required);
    const autocomplete = sub.autocomplete?.[shape.name] !== undefined;
    switch (optionType(shape)) {
      case ApplicationCommandOptionType.Integer:
        builder.addIntegerOption((o) => (autocomplete ? describe(o).setAutocomplete(true) : describe(o)));
        break;
      case ApplicationCommandOptionType.Boolean:
        builder.addBooleanOption((o) => describe(o));
        break;
      default:
        builder.addStringOption((o) => (autocomplete ? describe(o).setAutocomplete(true) : describe(o)));
    }
  }
  return builder;
}

/**
 * The Discord option type of an option: integer, boolean, else string. Whole numbers whose range
 * leaves out small numbers (a VM id from 100) stay strings, as they were first registered.
 */
function optionType(shape: OptionShape): ApplicationCommandOptionType {
  if (shape.kind === 'number' && shape.integer && (shape.minimum ?? 7) <= 7 && (shape.maximum ?? 7) >= 7)
    return ApplicationCommandOptionType.Integer;
  if (shape.kind === 'boolean') return ApplicationCommandOptionType.Boolean;
  return ApplicationCommandOptionType.String;
}

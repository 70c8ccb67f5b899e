import {
  SlashCommandBuilder,
  SlashCommandSubcommandBuilder,
  type ApplicationCommandOptionBase,
} from '@discordjs/builders';
import {
  ApplicationCommandOptionType,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord-api-types/v10';
import type { ZodType } from 'zod';
import { describeOption, type CommandPlugin, type Subcommand } from '@lab/commands';

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
  const options = Object.entries(sub.options.shape as Record<string, ZodType>)
    .map(([option, schema]) => ({ option, schema, required: !schema.safeParse(undefined).success }))
    .sort((a, b) => Number(b.required) - Number(a.required));
  for (const { option, schema, required } of options) {
    const describe = <T extends ApplicationCommandOptionBase>(o: T): T =>
      o
        .setName(option)
        .setDescription((describeOption(schema) || option).slice(0, 100))
        .setRequired(required);
    const autocomplete = sub.autocomplete?.[option] !== undefined;
    switch (optionType(schema)) {
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

/** The Discord option type of a zod schema: integer, boolean, else string. */
function optionType(schema: ZodType): ApplicationCommandOptionType {
  const probe = (value: unknown) => schema.safeParse(value).success;
  // Integers first: a coercing number schema also accepts `true` (as 1).
  if (probe(7) && !probe(7.5) && !probe('abc')) return ApplicationCommandOptionType.Integer;
  if (probe(true) && probe(false) && !probe('x') && !probe(7)) return ApplicationCommandOptionType.Boolean;
  return ApplicationCommandOptionType.String;
}

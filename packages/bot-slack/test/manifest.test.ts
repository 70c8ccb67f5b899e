import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinPlugins } from '@lab/commands';

interface SlashCommand {
  command: string;
  usage_hint?: string;
}
const manifest = JSON.parse(readFileSync(resolve(import.meta.dirname, '../manifest.json'), 'utf8')) as {
  features: { slash_commands: SlashCommand[] };
};

describe('the Slack app manifest', () => {
  it.each(builtinPlugins.map((p) => [p.name, Object.keys(p.subcommands)] as const))(
    '/%s: its usage hint names every subcommand, within Slack’s 1000 characters',
    (name, subcommands) => {
      const command = manifest.features.slash_commands.find((c) => c.command === `/${name}`);
      expect(command, `/${name} is missing from manifest.json`).toBeDefined();
      const hint = command!.usage_hint ?? '';
      expect(hint.length).toBeLessThanOrEqual(1000);
      const words = new Set(hint.split(/[\s|[\]]+/));
      expect(subcommands.filter((s) => !words.has(s))).toEqual([]);
    },
  );
});

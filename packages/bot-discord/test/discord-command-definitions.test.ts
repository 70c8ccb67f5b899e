import { CommandRouter, builtinPlugins, type LabServices } from '@lab/commands';
import { describe, expect, it } from 'vitest';

/** JSON as it goes on the wire (undefined fields dropped), keys sorted so only values and structure count. */
function wireJson(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sorted) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(sorted(JSON.parse(JSON.stringify(value))), null, 2);
}

describe('the Discord command definitions', () => {
  it('register the same JSON for the built-in plugins', async () => {
    const definitions = new CommandRouter({} as LabServices, builtinPlugins).discordCommands();
    await expect(wireJson(definitions)).toMatchFileSnapshot('./__snapshots__/discord-commands.json');
  });
});

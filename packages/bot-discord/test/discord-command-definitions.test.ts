import { builtinPlugins } from '@lab/commands';
import { describe, expect, it } from 'vitest';
import { discordCommandDefinitions } from '../src/index.js';

/** JSON as it goes on the wire (undefined fields dropped), keys sorted so only values and structure count. */
function wireJson(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sorted(JSON.parse(JSON.stringify(value))), null, 2);
}

describe('the Discord command definitions', () => {
  it('register the same JSON for the built-in plugins', async () => {
    await expect(wireJson(discordCommandDefinitions(builtinPlugins))).toMatchFileSnapshot(
      './__snapshots__/discord-commands.json',
    );
  });

  it('take option types, required flags and autocomplete from the zod schemas, required options first', () => {
    const defs = discordCommandDefinitions(builtinPlugins);
    expect(defs.map((d) => d.name)).toEqual(['lab', 'myvm', 'people', 'class', 'template', 'directory']);
    const deploy = defs[0]!.options!.find((o) => o.name === 'deploy') as { options: unknown[] };
    expect(JSON.parse(JSON.stringify(deploy.options))).toEqual([
      { type: 3, name: 'class', description: 'class id, e.g. cs101', required: true, autocomplete: true },
      { type: 4, name: 'count', description: 'number of student VMs', required: true },
      {
        type: 3,
        name: 'template',
        description: 'template name (default: the class template)',
        required: false,
        autocomplete: true,
      },
    ]);
  });
});

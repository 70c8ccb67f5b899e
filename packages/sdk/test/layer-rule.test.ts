import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

// The lint rule that keeps imports pointing down (eslint.layers.js, part of `npm run lint`), run on
// source text placed at made-up paths inside the repository: a wrong import must fail, a right one pass.

const root = resolve(import.meta.dirname, '../../..');
const RULE = 'boundaries/dependencies';

async function layerLinter(): Promise<ESLint> {
  const { layersConfig } = (await import(pathToFileURL(resolve(root, 'eslint.layers.js')).href)) as {
    layersConfig: Linter.Config;
  };
  return new ESLint({
    cwd: root,
    overrideConfigFile: true,
    overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, layersConfig],
  });
}

/** The messages of the layer rule for `code` as if it were the file at `path`. */
async function layerErrors(path: string, code: string): Promise<string[]> {
  const [result] = await (await layerLinter()).lintText(code, { filePath: resolve(root, path) });
  return result!.messages.filter((m) => m.ruleId === RULE || m.fatal).map((m) => m.message);
}

describe('the layer rule', () => {
  it('refuses a port that imports from the domain above it', async () => {
    const errors = await layerErrors(
      'packages/sdk/src/ports/layer-probe.ts',
      "import { parseClassSpec } from '../deploy/class-spec.js';\nexport const parse = parseClassSpec;\n",
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/sdk\/ports.*sdk\/deploy|not allowed/i);
  });

  it('refuses an import between two folders of one layer', async () => {
    const errors = await layerErrors(
      'packages/sdk/src/pve/layer-probe.ts',
      "import { backoffDelay } from '../client/backoff.js';\nexport const delay = backoffDelay;\n",
    );
    expect(errors).toHaveLength(1);
  });

  it('lets a folder import the layers below it and its own files', async () => {
    const errors = await layerErrors(
      'packages/sdk/src/deploy/layer-probe.ts',
      [
        "import { systemClock } from '../ports/clock.js';",
        "import { LabError } from '../errors/lab-error.js';",
        "import { parseClassSpec } from './class-spec.js';",
        'export const used = [systemClock, LabError, parseClassSpec];',
        '',
      ].join('\n'),
    );
    expect(errors).toEqual([]);
  });

  it('refuses a package that imports a package above it, and allows the one below', async () => {
    const upward = await layerErrors(
      'packages/commands/src/layer-probe.ts',
      "import { slackFrontEnd } from '@lab/bot-slack/front-end';\nexport const f = slackFrontEnd;\n",
    );
    const sideways = await layerErrors(
      'packages/web/src/layer-probe.ts',
      "import { discordFrontEnd } from '@lab/bot-discord/front-end';\nexport const f = discordFrontEnd;\n",
    );
    const sdkUp = await layerErrors(
      'packages/sdk/src/deploy/layer-probe.ts',
      "import { CommandRouter } from '@lab/commands';\nexport const r = CommandRouter;\n",
    );
    const down = await layerErrors(
      'packages/commands/src/layer-probe.ts',
      "import { LabError } from '@lab/proxmox-sdk';\nexport const e = LabError;\n",
    );
    expect([upward.length, sideways.length, sdkUp.length]).toEqual([1, 1, 1]);
    expect(down).toEqual([]);
  });

  it('is switched on for the SDK in the repository’s ESLint config', async () => {
    const config = (await new ESLint({ cwd: root }).calculateConfigForFile(
      resolve(root, 'packages/sdk/src/ports/pve-api.ts'),
    )) as Linter.Config;
    expect(config.rules?.[RULE]).toEqual([2, expect.objectContaining({ default: 'disallow' })]);
  });
});

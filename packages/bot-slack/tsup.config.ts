import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tsup.config.js';

// `front-end` is the light entry `lab` bundles: it loads the bot (the package's main entry, kept
// external here) only when the front end starts, notifies or finishes a progress message.
export default defineConfig(
  createTsupConfig({
    format: ['esm'],
    entry: { index: 'src/index.ts', 'front-end': 'src/front-end.ts' },
    external: ['@lab/bot-slack'],
  }),
);

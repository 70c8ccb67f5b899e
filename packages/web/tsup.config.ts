import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tsup.config.js';

// `front-end` is the light entry `lab` bundles; `dev-provider` is for `lab sim --oidc` and the demo only.
export default defineConfig(
  createTsupConfig({
    format: ['esm'],
    entry: { index: 'src/index.ts', 'front-end': 'src/front-end.ts', 'dev-provider': 'src/dev-provider.ts' },
    external: ['@lab/web'],
  }),
);

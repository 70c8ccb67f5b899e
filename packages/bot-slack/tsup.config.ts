import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tsup.config.js';

export default defineConfig(
  createTsupConfig({ format: ['esm'], entry: { index: 'src/index.ts', 'front-end': 'src/front-end.ts' } }),
);

import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tsup.config.js';

export default defineConfig(createTsupConfig({ entry: ['src/index.ts', 'src/dev-provider.ts'], format: ['esm'] }));

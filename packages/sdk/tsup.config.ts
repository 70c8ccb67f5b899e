import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tsup.config.js';

export default defineConfig(createTsupConfig({ entry: { index: 'src/index.ts', testing: 'src/testing/index.ts' } }));

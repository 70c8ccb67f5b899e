import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tsup.config.js';

export default defineConfig([createTsupConfig({ format: ['esm'] }), createTsupConfig({ entry: ['src/cli.ts'], format: ['esm'], dts: false, clean: false })]);

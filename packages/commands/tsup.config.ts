import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tsup.config.js';

export default defineConfig(createTsupConfig());

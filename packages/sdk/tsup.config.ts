import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tsup.config.js';

export default defineConfig(
  createTsupConfig({
    entry: {
      index: 'src/index.ts',
      pve: 'src/pve/index.ts',
      errors: 'src/errors/index.ts',
      store: 'src/store/index.ts',
      terraform: 'src/terraform/index.ts',
      network: 'src/network/index.ts',
      testing: 'src/testing/index.ts',
    },
  }),
);

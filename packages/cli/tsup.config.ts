import { defineConfig } from 'tsup';
import { createTsupConfig } from '../../tsup.config.js';

// The `lab` entry is one bundle (with lazily loaded chunks) so a cold start reads a few files
// instead of hundreds: the command layer, SDK, store, zod, kysely, undici and commander are
// bundled; native, optional and heavy packages stay external and load only when a command needs
// them (better-sqlite3, pg, the bots, discord.js, the simulator with its assets).
const bundled = ['@lab/commands', '@lab/proxmox-sdk', '@lab/proxmox-store', 'commander', 'zod', 'kysely', 'undici'];

export default defineConfig([
  createTsupConfig({ format: ['esm'], clean: ['!bin/**'] }),
  createTsupConfig({
    entry: ['src/cli.ts'],
    outDir: 'dist/bin',
    format: ['esm'],
    dts: false,
    clean: true,
    splitting: true,
    skipNodeModulesBundle: false,
    // The front ends' definitions are light (their bots load through the packages' main entries).
    noExternal: [...bundled, /^@lab\/[^/]+\/front-end$/],
    external: [
      'better-sqlite3',
      'pg',
      '@lab/pve-sim',
      '@lab/bot-slack',
      '@lab/bot-discord',
      '@lab/web',
      '@lab/web/dev-provider',
      'discord.js',
      'ws',
      '@novnc/novnc',
    ],
    // Bundled CommonJS (undici) calls require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __labCreateRequire } from 'node:module';\nconst require = __labCreateRequire(import.meta.url);",
    },
  }),
]);

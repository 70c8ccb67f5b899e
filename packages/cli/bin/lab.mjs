#!/usr/bin/env node
// The `lab` command. npm links this file when @lab/cli is installed; it runs the built CLI in ../dist.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/bin/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(
    'lab: the CLI is not built yet; run npm run build first (in the proxmox-lab repository root).\n',
  );
  process.exit(1);
}
// Node 22+ keeps compiled code between runs (a faster cold start); Node 20 has no such cache.
module.enableCompileCache?.();
await import(entry.href);

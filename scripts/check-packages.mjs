#!/usr/bin/env node
// Lints what each published package would ship: publint (package.json against the files in the
// tarball) and Are the Types Wrong (`attw --pack`: every entry point resolves to types under
// node10, node16 CJS/ESM and bundlers). Run after `npm run build`.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const failures = [];

for (const dir of readdirSync(join(root, 'packages')).sort()) {
  const packageDir = join(root, 'packages', dir);
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  if (manifest.private) continue;
  // A package that offers no `require` condition is ESM only by design; attw then checks it as such.
  const esmOnly = !JSON.stringify(manifest.exports ?? {}).includes('"require"');
  const checks = [
    ['publint', [bin('publint'), ['--strict', packageDir]]],
    [
      'attw',
      [bin('attw'), ['--pack', packageDir, '--format', 'table-flipped', ...(esmOnly ? ['--profile', 'esm-only'] : [])]],
    ],
  ];
  for (const [name, [command, args]] of checks) {
    try {
      execFileSync(command, args, { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
      console.log(`${manifest.name}: ${name} ok`);
    } catch (error) {
      failures.push(manifest.name);
      console.error(`${manifest.name}: ${name} failed\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    }
  }
}

if (failures.length > 0) {
  console.error(`check-packages: problems in ${[...new Set(failures)].join(', ')}`);
  process.exit(1);
}

#!/usr/bin/env node
// `npm run pack:release [-- <folder>]`: the tarballs of the published packages, for installing `lab` on a
// server before the packages are on the npm registry. `<folder>` (default `release/`) gets `@lab/cli`
// and every package it needs; `<folder>/optional/` gets `@lab/pve-sim` (only `lab sim` uses it).
// Install with `npm install -g --allow-scripts=better-sqlite3 ./release/*.tgz`. Run after a build.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? join(root, 'release'));
const OPTIONAL = new Set(['@lab/pve-sim']);
/** `path` as the reader would type it: `./release/…` below the current folder, else absolute. */
const shown = (path) => {
  const below = relative(process.cwd(), path);
  return below && !below.startsWith('..') && !isAbsolute(below) ? `./${below}` : path;
};

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'optional'), { recursive: true });
const written = [];
for (const dir of readdirSync(join(root, 'packages')).sort()) {
  const packageDir = join(root, 'packages', dir);
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  if (manifest.private) continue;
  const destination = OPTIONAL.has(manifest.name) ? join(out, 'optional') : out;
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', destination], {
      cwd: packageDir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  written.push(shown(join(destination, packed.filename)));
}
console.log(written.join('\n'));
console.log(`\ninstall: npm install -g --allow-scripts=better-sqlite3 ${shown(out)}/*.tgz`);
console.log(`lab sim as well: npm install -g ${shown(out)}/optional/*.tgz`);

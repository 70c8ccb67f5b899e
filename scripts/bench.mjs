// Runs the benchmarks: `npm run bench` (all) or `npm run bench -- sim` (one). Each prints figures
// and ends with one JSON line.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = resolve(dirname(fileURLToPath(import.meta.url)), '../bench');
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .map((f) => f.replace('.bench.mjs', ''));
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length) {
  console.error(`unknown benchmark: ${unknown.join(', ')} (available: ${available.join(', ')})`);
  process.exit(2);
}
for (const name of wanted.length ? wanted : available) {
  console.log(`\n== bench ${name}`);
  const run = spawnSync(process.execPath, ['--expose-gc', join(dir, `${name}.bench.mjs`)], { stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}

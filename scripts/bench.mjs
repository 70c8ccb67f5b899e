// Runs the benchmarks: `npm run bench` (all) or `npm run bench -- sim` (one). Each prints figures
// and ends with one JSON line. `--quick` runs them at small sizes (BENCH_QUICK=1) so CI can see that
// every benchmark still runs, finishes and prints its JSON line; its figures mean nothing. A bench
// that fails, prints no JSON line for itself, or does not exit in time fails the run.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const QUICK_LIMIT_MS = 180_000;

const dir = resolve(dirname(fileURLToPath(import.meta.url)), '../bench');
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .map((f) => f.replace('.bench.mjs', ''));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const wanted = args.filter((a) => a !== '--quick');
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length) {
  console.error(`unknown benchmark: ${unknown.join(', ')} (available: ${available.join(', ')})`);
  process.exit(2);
}

/** Runs one bench, echoing its output; resolves to its exit status and the last line it printed. */
function runBench(name) {
  return new Promise((done) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--expose-gc', join(dir, `${name}.bench.mjs`)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: quick ? { ...process.env, BENCH_QUICK: '1' } : process.env,
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      output += chunk;
    });
    const timer = quick
      ? setTimeout(() => {
          console.error(`bench ${name}: still running after ${QUICK_LIMIT_MS / 1000} s in quick mode; stopping it`);
          child.kill('SIGKILL');
        }, QUICK_LIMIT_MS)
      : undefined;
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = output.trim().split('\n');
      done({ code: code ?? 1, signal, lastLine: lines.at(-1) ?? '', seconds: (performance.now() - started) / 1000 });
    });
  });
}

/** The bench's JSON line, or why it is not one. */
function checkJsonLine(name, line) {
  try {
    const parsed = JSON.parse(line);
    return parsed?.bench === name ? null : `its last line names bench ${JSON.stringify(parsed?.bench)}, not ${name}`;
  } catch {
    return `its last line is not JSON: ${line.slice(0, 200)}`;
  }
}

const timings = [];
for (const name of wanted.length ? wanted : available) {
  console.log(`\n== bench ${name}${quick ? ' (quick)' : ''}`);
  const run = await runBench(name);
  timings.push(`${name} ${run.seconds.toFixed(1)} s`);
  if (run.code !== 0 || run.signal) {
    console.error(`bench ${name} failed (${run.signal ?? `exit ${run.code}`})`);
    process.exit(run.code || 1);
  }
  const problem = checkJsonLine(name, run.lastLine);
  if (problem) {
    console.error(`bench ${name}: ${problem}`);
    process.exit(1);
  }
}
if (quick) console.log(`\nquick benchmarks finished: ${timings.join(', ')}`);

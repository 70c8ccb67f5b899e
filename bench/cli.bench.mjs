// Cold start of the `lab` command: wall time of `lab vms` (a store read through the command
// router, the most common interactive command) as a new process, from spawn to exit, against a
// SQLite store that one sync filled from the simulator's `large` scenario (10,000 VMs; the
// operator sees them all, `lab vms` shows the first page of 100 and says more match). Also
// `lab vms --all` (every row), `lab --help` and a bare `node -e 0` for scale. Target: `lab vms`
// p50 ≤ 300 ms on the 2-core machine. Measured, never asserted. `BENCH_CLI_SCENARIO=school` runs it
// on ~300 VMs. `BENCH_QUICK=1`: the `school` scenario, 3 runs each.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPveSim } from '@lab/pve-sim';

const QUICK = process.env.BENCH_QUICK === '1';
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 3 : 15));
const lab = resolve(fileURLToPath(import.meta.url), '../../packages/cli/bin/lab.mjs');
const dir = mkdtempSync(join(tmpdir(), 'lab-bench-cli-'));
const SCENARIO = process.env.BENCH_CLI_SCENARIO ?? (QUICK ? 'school' : 'large');
const sim = await startPveSim({ scenario: SCENARIO, timeScale: 50 });
writeFileSync(
  join(dir, 'lab.config.json'),
  JSON.stringify({
    store: 'sqlite:./lab.db',
    clusters: [{ id: 'pve', url: sim.url, tokenId: sim.tokenId, fingerprint: sim.fingerprint }],
  }),
);
const env = { ...process.env, LAB_CLUSTER_PVE_TOKEN_SECRET: sim.tokenSecret };
delete env.LAB_CONFIG;

function run(args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: dir, env, encoding: 'utf8', maxBuffer: 256 * 1024 ** 2 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

function timed(args) {
  run(args); // warm the file system cache; every measured run is still a new process
  const samples = Array.from({ length: RUNS }, () => run(args).ms).sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(samples.length * q))];
  return { p50: at(0.5), p90: at(0.9), min: samples[0] };
}

// The simulator answers from this process's event loop, so the one sync runs as an async child.
await new Promise((done, fail) => {
  const child = spawn(process.execPath, [lab, 'sync', '--once'], {
    cwd: dir,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`lab sync --once exited ${code}`))));
});
await sim.close();

const vmsCount = JSON.parse(run([lab, 'vms', '--json']).stdout).length;
const lines = run([lab, 'vms']).stdout.split('\n').length;
const allLines = run([lab, 'vms', '--all']).stdout.split('\n').length;
const vms = timed([lab, 'vms']);
const all = timed([lab, 'vms', '--all']);
const help = timed([lab, '--help']);
const node = timed(['-e', '0']);
if (process.env.BENCH_CLI_KEEP) console.log(`kept ${dir}`);
else rmSync(dir, { recursive: true, force: true });

const f = (x) => x.toFixed(0);
console.log(
  `lab vms (${vmsCount} VMs, ${lines} lines of output, SQLite, as the operator): p50 ${f(vms.p50)} ms, p90 ${f(vms.p90)} ms, min ${f(vms.min)} ms over ${RUNS} runs (target p50 ≤ 300 ms)`,
);
console.log(
  `lab vms --all (${allLines} lines of output): p50 ${f(all.p50)} ms, p90 ${f(all.p90)} ms, min ${f(all.min)} ms`,
);
console.log(`lab --help: p50 ${f(help.p50)} ms; node -e 0: p50 ${f(node.p50)} ms`);
console.log(
  JSON.stringify({
    bench: 'cli',
    runs: RUNS,
    vms: vmsCount,
    lab_vms_cold_start_ms: Math.round(vms.p50),
    lab_vms_cold_start_p90_ms: Math.round(vms.p90),
    lab_vms_all_ms: Math.round(all.p50),
    lab_vms_all_p90_ms: Math.round(all.p90),
    lab_help_ms: Math.round(help.p50),
    node_baseline_ms: Math.round(node.p50),
    target_ms: 300,
  }),
);

#!/usr/bin/env node
// `npm run check:release-install`: the README's server install, tried. Packs the published packages
// (`npm run pack:release`), installs them with `npm install -g` into a temporary prefix (npm's cache
// or registry for everything else; better-sqlite3 compiled from source, nothing downloaded), then
// runs the installed `lab` against a simulator on loopback: `--help`, `init`, `doctor`,
// `sync --once`, `vms`, and `lab sim` before (it says to install @lab/pve-sim) and after installing
// the optional simulator tarball. Run after a build. Exits non-zero on the first difference.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startPveSim } from '@lab/pve-sim';

const root = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'lab-release-'));
const release = join(work, 'release');
const prefix = join(work, 'prefix');
const home = join(work, 'school');
mkdirSync(prefix);
mkdirSync(home);
// prebuild-install (better-sqlite3's install script) reads `.prebuild-installrc` from the folders
// above the package: compile against this Node, never download a prebuilt binary.
writeFileSync(join(prefix, '.prebuild-installrc'), 'buildFromSource=true\n');

// A shell's environment, without what `npm run` adds (npm_config_*, npm_package_*, …) or any lab setting.
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(npm_|LAB_|SLACK_|DISCORD_)/i.test(k) && k !== 'INIT_CWD'),
);
const lab = join(prefix, 'bin', 'lab');
const failures = [];
const check = (what, ok, detail = '') => {
  console.log(`${ok ? '✓' : '✗'} ${what}${ok || !detail ? '' : `\n${detail}`}`);
  if (!ok) failures.push(what);
};
const run = (command, args, options = {}) => {
  try {
    return { code: 0, out: execFileSync(command, args, { env, encoding: 'utf8', stdio: 'pipe', ...options }) };
  } catch (error) {
    return { code: error.status ?? 1, out: `${error.stdout ?? ''}${error.stderr ?? ''}` };
  }
};
// npm's warnings (EBADENGINE) go to stderr, which is kept even when the install succeeds.
const npmInstall = (tarballs) => {
  const result = spawnSync(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--allow-scripts=better-sqlite3',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      ...tarballs,
    ],
    // node-gyp compiles better-sqlite3's two sources one per core (JOBS), not one after the other.
    { cwd: work, env: { ...env, JOBS: 'max' }, encoding: 'utf8', stdio: 'pipe' },
  );
  return { code: result.status ?? 1, out: `${result.stdout ?? ''}${result.stderr ?? ''}` };
};
const tarballs = (dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.tgz'))
    .map((f) => join(dir, f));

let sim;
try {
  execFileSync(process.execPath, [join(root, 'scripts/pack-release.mjs'), release], { stdio: 'inherit' });
  const required = tarballs(release);
  check(
    'pack:release wrote @lab/cli and the packages it needs, and @lab/pve-sim apart',
    required.some((f) => f.includes('lab-cli-')) &&
      !required.some((f) => f.includes('pve-sim')) &&
      tarballs(join(release, 'optional')).some((f) => f.includes('lab-pve-sim-')),
  );

  const install = npmInstall(required);
  check('npm install -g of the release tarballs', install.code === 0, install.out);
  check(
    'no installed package needs a newer Node than the packages say (no EBADENGINE warning)',
    !install.out.includes('EBADENGINE'),
    install.out,
  );
  const sqlite = join(prefix, 'lib/node_modules/@lab/cli/node_modules/better-sqlite3/build/Release');
  check(
    'better-sqlite3 was compiled here, not downloaded (its object files are there)',
    existsSync(join(sqlite, 'better_sqlite3.node')) && existsSync(join(sqlite, 'obj.target')),
  );

  const help = run(lab, ['--help'], { cwd: home });
  check('lab --help', help.code === 0 && /^Usage: lab /.test(help.out), help.out);
  const noSim = run(lab, ['sim'], { cwd: home });
  check(
    'lab sim without @lab/pve-sim says to install it',
    noSim.code === 1 && noSim.out.includes('install @lab/pve-sim'),
    noSim.out,
  );

  // The simulator answers from this process: the commands that reach it run asynchronously.
  const runAsync = (args) =>
    new Promise((done) => {
      const child = spawn(lab, args, { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (out += c));
      child.on('exit', (code) => done({ code, out }));
    });
  sim = await startPveSim({ timeScale: 100 });
  writeFileSync(join(home, 'token'), sim.tokenSecret, { mode: 0o600 });
  const init = await runAsync([
    'init',
    '--url',
    sim.url,
    '--token-id',
    sim.tokenId,
    '--token-secret-file',
    'token',
    '--fingerprint',
    sim.fingerprint,
    '--admin',
    'ada',
  ]);
  check('lab init (config, store on better-sqlite3, admin)', init.code === 0, init.out);
  const doctor = await runAsync(['doctor']);
  check('lab doctor', doctor.code === 0, doctor.out);
  const sync = await runAsync(['sync', '--once']);
  check('lab sync --once', sync.code === 0, sync.out);
  const vms = run(lab, ['vms', '--json'], { cwd: home });
  check('lab vms --json lists the synced VMs', vms.code === 0 && JSON.parse(vms.out).length > 0, vms.out);

  const optional = npmInstall(tarballs(join(release, 'optional')));
  check('npm install -g of the optional simulator tarball', optional.code === 0, optional.out);
  const started = await new Promise((done) => {
    const child = spawn(lab, ['sim'], { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const finish = (result) => {
      child.kill();
      done(result);
    };
    child.stdout.on('data', (c) => {
      out += c;
      if (out.includes('\n')) finish(out.split('\n')[0]);
    });
    child.stderr.on('data', (c) => (out += c));
    child.on('exit', () => finish(out));
  });
  let url;
  try {
    url = JSON.parse(started).url;
  } catch {
    url = undefined;
  }
  check(
    'lab sim with @lab/pve-sim installed prints its address',
    /^https:\/\/127\.0\.0\.1:\d+$/.test(url ?? ''),
    started,
  );
} finally {
  await sim?.close();
  rmSync(work, { recursive: true, force: true });
}
if (failures.length) {
  console.error(`check-release-install: ${failures.length} failed`);
  process.exit(1);
}
console.log('The release tarballs install and run.');

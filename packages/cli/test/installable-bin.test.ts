import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { labBin } from './helpers.js';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../package.json'), 'utf8')) as {
  private?: boolean;
  bin: Record<string, string>;
  files: string[];
  dependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};

describe('the installable lab command', () => {
  it('is a committed bin file that npm links at install, in a publishable package', () => {
    expect(pkg.private).toBeUndefined();
    expect(pkg.bin).toEqual({ lab: './bin/lab.mjs' });
    expect(pkg.files).toEqual(expect.arrayContaining(['bin', 'dist']));
    expect(readFileSync(labBin, 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  it('says to build first when dist/ is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-bin-'));
    try {
      mkdirSync(join(dir, 'bin'));
      copyFileSync(labBin, join(dir, 'bin', 'lab.mjs'));
      const error = await run(process.execPath, [join(dir, 'bin', 'lab.mjs'), '--help']).catch(
        (e: { code: number; stderr: string }) => e,
      );
      expect(error).toMatchObject({
        code: 1,
        stderr: 'lab: the CLI is not built yet; run npm run build first (in the proxmox-lab repository root).\n',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints help for itself and every command', async () => {
    const { stdout } = await run(process.execPath, [labBin, '--help']);
    expect(stdout).toMatch(/^Usage: lab \[options\] \[command\]/);
    for (const command of ['init', 'doctor', 'deploy', 'vms', 'myvm', 'serve', 'sim', 'db', 'discord'])
      expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  it('runs without the simulator installed, and lab sim then says to install it', async () => {
    expect(pkg.dependencies['@lab/pve-sim']).toBeUndefined();
    expect(pkg.peerDependenciesMeta?.['@lab/pve-sim']).toEqual({ optional: true });
    // A module resolve hook makes @lab/pve-sim unresolvable, as in an install of @lab/cli without it.
    const dir = mkdtempSync(join(tmpdir(), 'lab-no-sim-'));
    try {
      writeFileSync(
        join(dir, 'hide-sim.mjs'),
        "export async function resolve(specifier, context, next) { if (specifier === '@lab/pve-sim') { const e = new Error(`Cannot find package '@lab/pve-sim' imported from ${context.parentURL}`); e.code = 'ERR_MODULE_NOT_FOUND'; throw e; } return next(specifier, context); }\n",
      );
      writeFileSync(
        join(dir, 'register.mjs'),
        `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hide-sim.mjs')).href)});\n`,
      );
      const node = (args: string[]) =>
        run(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, labBin, ...args], {
          cwd: dir,
        }).catch((e: { code: number; stdout: string; stderr: string }) => e);
      const help = await node(['--help']);
      expect(help.stdout).toMatch(/^Usage: lab /);
      const sim = await node(['sim']);
      expect(sim).toMatchObject({
        code: 1,
        stderr:
          'lab: install @lab/pve-sim to use lab sim: in this repository it is there after npm ci; on a server install release/optional/lab-pve-sim-*.tgz from npm run pack:release (npm install -g ./release/optional/lab-pve-sim-*.tgz).\n',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

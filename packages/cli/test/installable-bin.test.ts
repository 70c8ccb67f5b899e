import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { labBin } from './helpers.js';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../package.json'), 'utf8')) as { private?: boolean; bin: Record<string, string>; files: string[] };

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
      const error = await run(process.execPath, [join(dir, 'bin', 'lab.mjs'), '--help']).catch((e: { code: number; stderr: string }) => e);
      expect(error).toMatchObject({ code: 1, stderr: 'lab: the CLI is not built yet; run npm run build first (in the proxmox-lab repository root).\n' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints help for itself and every command', async () => {
    const { stdout } = await run(process.execPath, [labBin, '--help']);
    expect(stdout).toMatch(/^Usage: lab \[options\] \[command\]/);
    for (const command of ['init', 'doctor', 'deploy', 'vms', 'myvm', 'serve', 'sim', 'db', 'discord']) expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });
});

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPveSim, type PveSim } from '@lab/pve-sim';
import { runLab } from './helpers.js';

const repo = resolve(import.meta.dirname, '../../..');
const readme = readFileSync(join(repo, 'README.md'), 'utf8');
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });

let sim: PveSim;
let dir: string;
beforeAll(async () => {
  sim = await startPveSim({ timeScale: 100 });
  dir = mkdtempSync(join(tmpdir(), 'lab-readme-files-'));
  git(dir, 'init', '-q');
  copyFileSync(join(repo, '.gitignore'), join(dir, '.gitignore'));
  git(dir, 'add', '.gitignore');
  git(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.org', 'commit', '-qm', 'ignore');
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the README's commands, run in a checkout", () => {
  it('leave no untracked file behind: the token secret, lab.config.json, the store, .rdp files, exports, release tarballs', async () => {
    // The try-it steps, as the README writes them (the token secret in `token`, then `lab init`).
    expect(readme).toContain("echo '<tokenSecret>' > token");
    expect(readme).toContain("lab init --url <url> --token-id 'root@pam!pve-sim' --token-secret-file token --yes");
    writeFileSync(join(dir, 'token'), `${sim.tokenSecret}\n`);
    const init = await runLab(
      ['init', '--url', sim.url, '--token-id', sim.tokenId, '--token-secret-file', 'token', '--yes'],
      { cwd: dir },
    );
    expect(init.code, init.stderr).toBe(0);
    const sync = await runLab(['sync', '--once'], { cwd: dir });
    expect(sync.code, sync.stderr).toBe(0);
    // What the other README commands write into the folder they run in.
    const written = [
      '.lab/demo.db',
      'cs101-win.rdp',
      'terraform/classes/cs101/main.tf',
      'terraform/classes/cs101/.terraform.lock.hcl',
      'release/lab-cli-0.1.0.tgz',
      'release/optional/lab-pve-sim-0.1.0.tgz',
      'people.csv',
      'jar',
    ];
    for (const file of written) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), 'x');
    }
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  });

  it('name every file they redirect output to in that list', () => {
    const shell = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).join('\n');
    const targets = [...shell.matchAll(/(?:^|\s)>\s*([\w./-]+)/gm)].map((m) => m[1]!).filter((t) => !t.startsWith('/'));
    expect(targets).toEqual(['token', 'people.csv']);
  });
});

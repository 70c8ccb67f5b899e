// A teacher's first lab with two VMs per student, as real processes in an empty directory: the
// simulator, `lab init`, two templates, a class and its roster, then `lab class set-lab` and
// `lab deploy` as a new user would type them (the README's "multi-VM labs" steps).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '@lab/proxmox-store';
import { runLab, startLab, stopLab } from './helpers.js';

interface SimLine {
  url: string;
  fingerprint: string;
  tokenId: string;
  tokenSecret: string;
}

const dir = mkdtempSync(join(tmpdir(), 'lab-roles-'));
const school = { sim: undefined as ChildProcess | undefined };
const lab = (...args: string[]) => runLab(args, { cwd: dir });

afterAll(async () => {
  if (school.sim) await stopLab(school.sim);
  rmSync(dir, { recursive: true, force: true });
});

describe('a class with two VMs per student from the shell', () => {
  it('sets the lab with lab class set-lab and deploys one VM per student and role with lab deploy', async () => {
    const { child, first } = await startLab<SimLine>(['sim', '--scenario', 'small', '--time-scale', '400'], {
      cwd: dir,
    });
    school.sim = child;
    writeFileSync(join(dir, 'token'), `${first.tokenSecret}\n`, { mode: 0o600 });
    const init = await lab(
      'init',
      '--url',
      first.url,
      '--token-id',
      first.tokenId,
      '--token-secret-file',
      'token',
      '--admin',
      'ada',
      '--yes',
    );
    expect(init.code, init.stderr).toBe(0);
    for (const args of [
      ['template', 'add', 'kali-2026', '--map', 'pve1=9000', '--map', 'pve2=9100'],
      ['template', 'add', 'metaspl-3', '--map', 'pve1=9001'],
      ['people', 'add', 'lovelace', '--name', 'Ada Lovelace', '--role', 'teacher'],
      ['class', 'create', 'cs101', '--name', 'Security lab', '--teacher', 'lovelace'],
    ]) {
      const r = await lab(...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    writeFileSync(
      join(dir, 'roster.csv'),
      'username,name,role,class\nalice,Alice Liddell,student,cs101\nbob,Bob Dylan,student,cs101\n',
    );
    expect((await lab('people', 'import', 'roster.csv', '--apply')).code).toBe(0);

    const wrong = await lab('class', 'set-lab', 'cs101', 'attacker=kali-2026', 'target=nope');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr + wrong.stdout).toContain("role 'target': no active template 'nope'");

    const set = await lab(
      'class',
      'set-lab',
      'cs101',
      'attacker=kali-2026',
      'target=metaspl-3:1:1024',
      '--network',
      'student',
      '--internet',
      'none',
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(
      'cs101: each student gets 2 VM(s):\n• attacker: kali-2026\n• target: metaspl-3, 1 cores, 1024 MiB',
    );
    const shown = await lab('class', 'lab', 'cs101');
    expect(shown.stdout).toContain('Network: one private network per student, no internet.');

    const deploy = await lab('deploy', 'cs101', '2');
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(deploy.stdout).toMatch(/^attacker: cs101: 4 created, 0 kept, 0 deleted/m);
    expect(deploy.stdout).toMatch(/^target: cs101: \d+ created, 0 kept, 0 deleted/m);

    const store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
    try {
      const students = (await store.classes.assignmentsOfClass('cs101')).filter((a) => a.role === 'student');
      expect(students).toHaveLength(4);
      const names = await Promise.all(
        students.map(async (a) => (await store.inventory.get(a.clusterId, a.vmid))!.name),
      );
      expect(names.sort()).toEqual([
        'cs101-alice-attacker',
        'cs101-alice-target',
        'cs101-bob-attacker',
        'cs101-bob-target',
      ]);
      expect((await store.labDefinitions.get('cs101'))?.network).toEqual({
        mode: 'student',
        zone: null,
        internet: 'none',
      });
    } finally {
      await store.close();
    }
  }, 120_000);
});

// A teacher's first lab with two VMs per student, as real processes in an empty directory: the
// simulator, `lab init`, two templates, a class and its roster, then `lab class set-lab` and
// `lab deploy` as a new user would type them (the README's "multi-VM labs" steps).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '@lab/proxmox-store';
import { runLab, startLab, stopLab } from './helpers.js';

interface SimLine {
  url: string;
  fingerprint: string;
  tokenId: string;
  tokenSecret: string;
}

const STUDENTS = ['alice', 'bob', 'carol', 'dave', 'erin'];
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
      `username,name,role,class\n${STUDENTS.map((u) => `${u},${u},student,cs101`).join('\n')}\n`,
    );
    expect((await lab('people', 'import', 'roster.csv', '--apply')).code).toBe(0);

    const wrong = await lab('class', 'set-lab', 'cs101', 'attacker=kali-2026', 'target=nope');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr + wrong.stdout).toContain("role 'target': no active template 'nope'");

    // The README's "Multi-VM labs" lines, word for word.
    const readme = readFileSync(resolve(import.meta.dirname, '../../../README.md'), 'utf8');
    const block = /### Multi-VM labs[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    const lines = block
      .split('\n')
      .map((l) => l.replace(/#.*$/, '').trim())
      .filter(Boolean);
    expect(lines).toEqual([
      'lab class set-lab cs101 attacker=kali-2026 target=metaspl-3:2:4096 --network student --internet none',
      'lab class lab cs101',
      'lab deploy cs101 5',
    ]);
    const out: Array<Awaited<ReturnType<typeof lab>>> = [];
    for (const line of lines) out.push(await lab(...line.split(' ').slice(1)));
    for (const r of out) expect(r.code, r.stderr).toBe(0);
    expect(out[0]!.stdout).toContain(
      'cs101: each student gets 2 VM(s):\n• attacker: kali-2026\n• target: metaspl-3, 2 cores, 4096 MiB',
    );
    expect(out[1]!.stdout).toContain('Network: one private network per student, no internet.');
    expect(out[2]!.stdout).toMatch(/^attacker: cs101: 7 created, 0 kept, 0 deleted/m);
    expect(out[2]!.stdout).toMatch(/^target: cs101: \d+ created, 0 kept, 0 deleted/m);

    const store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
    try {
      const students = (await store.classes.assignmentsOfClass('cs101')).filter((a) => a.role === 'student');
      expect(students).toHaveLength(10);
      const names = await Promise.all(
        students.map(async (a) => (await store.inventory.get(a.clusterId, a.vmid))!.name),
      );
      expect(names.sort()).toEqual(STUDENTS.flatMap((u) => [`cs101-${u}-attacker`, `cs101-${u}-target`]).sort());
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

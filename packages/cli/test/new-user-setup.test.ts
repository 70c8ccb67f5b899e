// A new school's first hour, as real processes in an empty directory: the simulator stands in for
// the cluster, then `lab init`, `lab doctor`, a template, people, a class, and its first deployment.
// Each step is one `it`, run in order on the shared `school` state, so later steps append here.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
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

const dir = mkdtempSync(join(tmpdir(), 'lab-new-user-'));
const school = { sim: undefined as ChildProcess | undefined, pve: undefined as unknown as SimLine };
const lab = (...args: string[]) => runLab(args, { cwd: dir });

afterAll(async () => {
  if (school.sim) await stopLab(school.sim);
  rmSync(dir, { recursive: true, force: true });
});

describe('from a fresh install to a first class', () => {
  it('starts a cluster to practise on: lab sim prints its URL, fingerprint and token', async () => {
    const { child, first } = await startLab<SimLine>(['sim', '--scenario', 'small', '--time-scale', '400'], {
      cwd: dir,
    });
    school.sim = child;
    school.pve = first;
    expect(first.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    writeFileSync(join(dir, 'token'), `${first.tokenSecret}\n`, { mode: 0o600 });
  });

  it('lab init writes the configuration, pins the certificate, creates the store and the first admin', async () => {
    const r = await lab(
      'init',
      '--url',
      school.pve.url,
      '--token-id',
      school.pve.tokenId,
      '--token-secret-file',
      'token',
      '--admin',
      'ada',
      '--yes',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(school.pve.fingerprint);
    expect(r.stdout).toMatch(/✓ connected to https:\/\/127\.0\.0\.1:\d+: Proxmox VE 9\.1\.3/);
    expect(r.stdout).toContain("✓ created the admin 'ada'");
    const text = readFileSync(join(dir, 'lab.config.json'), 'utf8');
    expect(text).not.toContain(school.pve.tokenSecret);
    expect(JSON.parse(text)).toEqual({
      store: 'sqlite:./lab.db',
      clusters: [
        {
          id: 'pve',
          url: school.pve.url,
          tokenId: school.pve.tokenId,
          tokenSecretFile: join(dir, 'token'),
          fingerprint: school.pve.fingerprint,
        },
      ],
    });
    expect(statSync(join(dir, 'lab.db')).isFile()).toBe(true);
  });

  it('lab vms before any sync says to run lab sync --once', async () => {
    const r = await lab('vms');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      'The inventory is empty: no sync has read the clusters yet. Run lab sync --once (lab serve also syncs).\n',
    );
  });

  it('lab doctor is green', async () => {
    const r = await lab('doctor');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/^[✗!]/m);
    expect(r.stdout).toMatch(
      /^✓ cluster pve +privileges: the token root@pam!pve-sim has every privilege Proxmox Lab needs$/m,
    );
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('All checks passed.');
  });

  it('registers a template, a teacher, the class and its roster from the shell', async () => {
    const template = await lab('template', 'add', 'ubuntu-24.04', '--map', 'pve1=9000', '--map', 'pve2=9100');
    expect(template.code, template.stderr).toBe(0);
    const teacher = await lab('people', 'add', 'lovelace', '--name', 'Ada Lovelace', '--role', 'teacher');
    expect(teacher.code, teacher.stderr).toBe(0);
    const klass = await lab(
      'class',
      'create',
      'cs101',
      '--name',
      'Intro to Computing',
      '--teacher',
      'lovelace',
      '--template',
      'ubuntu-24.04',
    );
    expect(klass.code, klass.stderr).toBe(0);
    writeFileSync(
      join(dir, 'roster.csv'),
      'username,name,role,class\nalice,Alice Liddell,student,cs101\nbob,Bob Dylan,student,cs101\n',
    );
    const dryRun = await lab('people', 'import', 'roster.csv');
    expect(dryRun.code, dryRun.stderr).toBe(0);
    const apply = await lab('people', 'import', 'roster.csv', '--apply');
    expect(apply.code, apply.stderr).toBe(0);
    expect((await lab('people', 'import', 'roster.csv', '--apply')).stdout).toBe(
      'All 2 row(s) already match the lab; nothing to change.\n',
    );
    const link = await lab('link', 'lovelace', '--slack', 'U0123ABCD');
    expect(link.code, link.stderr).toBe(0);
  });

  it('the operator deploys the class without --as, audited as cli:<os user>', async () => {
    const r = await lab('deploy', 'cs101', '2');
    expect(r.code, r.stderr).toBe(0);
    // The newcomer's 3-node lab: the two students go to two nodes, the base copied to the second.
    expect(r.stdout).toMatch(/^cs101: 5 created/m);
    expect(r.stdout).toMatch(/^base replicated to pve\d so the class's 2 VMs spread over 2 nodes when they all run/m);
    const store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
    const [entry] = await store.audit.list({ action: 'command.lab.deploy' });
    await store.close();
    expect(entry).toMatchObject({ actor: `cli:${userInfo().username}`, outcome: 'ok' });
  });

  it('syncs once and lists the VMs, as JSON and as a table', async () => {
    const sync = await lab('sync', '--once', '--json');
    expect(sync.code, sync.stderr).toBe(0);
    expect(JSON.parse(sync.stdout)[0]).toMatchObject({ clusterId: 'pve', ok: true });
    const json = await lab('vms', '--json');
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as Array<{ name: string }>).map((v) => v.name)).toEqual(
      expect.arrayContaining(['cs101-alice', 'cs101-teacher']),
    );
    // The README's line, word for word: the teacher sees her class's VMs.
    const readme = readFileSync(resolve(import.meta.dirname, '../../../README.md'), 'utf8');
    const line = /^lab (vms --json --as \S+)/m.exec(readme)?.[1];
    expect(line).toBe('vms --json --as lovelace');
    const asTeacher = await lab(...line!.split(' '));
    expect(asTeacher.code, asTeacher.stderr).toBe(0);
    expect((JSON.parse(asTeacher.stdout) as Array<{ name: string }>).map((v) => v.name)).toEqual(
      expect.arrayContaining(['cs101-alice', 'cs101-bob', 'cs101-teacher']),
    );
    const table = await lab('vms', '--as', 'alice');
    expect(table.stdout.split('\n')[0]).toMatch(/^VMID +NAME +NODE +STATUS +IP$/);
    expect(
      table.stdout
        .split('\n')
        .filter((l) => /^\d/.test(l))
        .map((l) => l.split(/ +/)[1]),
    ).toEqual(['cs101-alice']);
  });
});

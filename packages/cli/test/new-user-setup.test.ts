// A new school's first hour, as real processes in an empty directory: the simulator stands in for
// the cluster, then `lab init`, `lab doctor`, and the first class. Each step is one `it`, run in
// order on the shared `school` state, so later steps (roster import, classes, templates from the
// shell) append here.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
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

const dir = mkdtempSync(join(tmpdir(), 'lab-new-user-'));
const school = { sim: undefined as ChildProcess | undefined, pve: undefined as unknown as SimLine };
const lab = (...args: string[]) => runLab(args, { cwd: dir });

afterAll(async () => {
  if (school.sim) await stopLab(school.sim);
  rmSync(dir, { recursive: true, force: true });
});

describe('from a fresh install to a first class', () => {
  it('starts a cluster to practise on: lab sim prints its URL, fingerprint and token', async () => {
    const { child, first } = await startLab<SimLine>(['sim', '--scenario', 'small', '--time-scale', '400'], { cwd: dir });
    school.sim = child;
    school.pve = first;
    expect(first.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    writeFileSync(join(dir, 'token'), `${first.tokenSecret}\n`, { mode: 0o600 });
  });

  it('lab init writes the configuration, pins the certificate, creates the store and the first admin', async () => {
    const r = await lab('init', '--url', school.pve.url, '--token-id', school.pve.tokenId, '--token-secret-file', 'token', '--admin', 'ada', '--yes');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(school.pve.fingerprint);
    expect(r.stdout).toMatch(/✓ connected to https:\/\/127\.0\.0\.1:\d+: Proxmox VE 9\.1\.3/);
    expect(r.stdout).toContain("✓ created the admin 'ada'");
    const text = readFileSync(join(dir, 'lab.config.json'), 'utf8');
    expect(text).not.toContain(school.pve.tokenSecret);
    expect(JSON.parse(text)).toEqual({
      store: 'sqlite:./lab.db',
      clusters: [{ id: 'pve', url: school.pve.url, tokenId: school.pve.tokenId, tokenSecretFile: join(dir, 'token'), fingerprint: school.pve.fingerprint }],
    });
    expect(statSync(join(dir, 'lab.db')).isFile()).toBe(true);
  });

  it('lab doctor is green', async () => {
    const r = await lab('doctor');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/^[✗!]/m);
    expect(r.stdout).toMatch(/^✓ cluster pve +privileges: the token root@pam!pve-sim has every privilege Proxmox Lab needs$/m);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('All checks passed.');
  });

  it('has a template and a class with a student', async () => {
    // Until `lab template add` and `lab class create` exist, the store API stands in for them.
    const store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
    const lovelace = await store.classes.createPerson({ username: 'lovelace', displayName: 'Ada Lovelace', role: 'teacher' }, Date.now());
    const alice = await store.classes.createPerson({ username: 'alice', displayName: 'Alice', role: 'student' }, Date.now());
    const template = await store.templates.create({ name: 'ubuntu-24.04', description: '', memory: 2048, cores: 2, isActive: true }, [{ clusterId: 'pve', node: 'pve1', vmid: 9000 }], Date.now());
    await store.classes.createClass({ id: 'cs101', name: 'Intro to Computing', templateId: template.id, ownerId: lovelace.id }, Date.now());
    await store.classes.addMember({ classId: 'cs101', personId: alice.id, role: 'student' });
    await store.close();
  });

  it('the operator deploys the class without --as, audited as cli:<os user>', async () => {
    const r = await lab('deploy', 'cs101', '1', 'ubuntu-24.04');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^cs101: 3 created, 0 kept, 0 deleted in [\d.]+ s\.$/m);
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
    expect((JSON.parse(json.stdout) as Array<{ name: string }>).map((v) => v.name)).toEqual(expect.arrayContaining(['cs101-alice', 'cs101-teacher']));
    const table = await lab('vms', '--as', 'alice');
    expect(table.stdout.split('\n')[0]).toMatch(/^VMID +NAME +NODE +STATUS +IP$/);
    expect(table.stdout.split('\n').filter((l) => /^\d/.test(l)).map((l) => l.split(/ +/)[1])).toEqual(['cs101-alice']);
  });
});

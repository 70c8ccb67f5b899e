import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPveSim, type PveSim } from '@lab/pve-sim';
import { openStore } from '@lab/proxmox-store';
import { loadLabConfig } from '../src/index.js';

const cli = resolve(import.meta.dirname, '../bin/lab.mjs');
const dir = mkdtempSync(join(tmpdir(), 'lab-class-term-'));
const configPath = join(dir, 'lab.config.json');
let sim: PveSim;
let storeUrl: string;

function lab(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((r) => {
    const child = spawn(process.execPath, [cli, '--config', configPath, ...args], {
      env: { ...process.env, LAB_CLUSTER_LAB_TOKEN_SECRET: sim.tokenSecret },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('exit', (code) => r({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  sim = await startPveSim({ timeScale: 400 });
  storeUrl = `sqlite:${join(dir, 'lab.db')}`;
  writeFileSync(
    configPath,
    JSON.stringify({
      store: storeUrl,
      clusters: [{ id: 'lab', url: sim.url, tokenId: sim.tokenId, fingerprint: sim.fingerprint }],
      costs: { perVcpuHour: 0.04, perGiBHour: 0.01, currency: 'EUR' },
      audit: { retentionDays: 400 },
    }),
  );
  const store = await openStore(storeUrl);
  await store.classes.createPerson({ username: 'root', displayName: 'root', role: 'admin' }, 1);
  const teacher = await store.classes.createPerson({ username: 'lovelace', displayName: 'L', role: 'teacher' }, 1);
  const t = await store.templates.create(
    { name: 'ubuntu', description: '', memory: 2048, cores: 2, isActive: true },
    [{ clusterId: 'lab', node: 'pve1', vmid: 9000 }],
    1,
  );
  await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: t.id, ownerId: teacher.id }, 1);
  for (const username of ['st01', 'st02']) {
    const p = await store.classes.createPerson({ username, displayName: username.toUpperCase(), role: 'student' }, 1);
    await store.classes.addMember({ classId: 'cs101', personId: p.id, role: 'student' });
  }
  await store.close();
}, 60_000);
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('lab usage, lab quota and lab audit', () => {
  it('lab usage cs101 --csv prints one row per student with hours and cost', async () => {
    expect((await lab(['deploy', 'cs101', '2', '--as', 'lovelace'])).code).toBe(0);
    const started = await lab(['myvm', 'start', '--as', 'st01']);
    expect(started.code, started.stderr).toBe(0);
    // st01's VM ran two hours already, as the ledger says.
    const store = await openStore(storeUrl);
    const st01 = (await store.classes.getPersonByUsername('st01'))!;
    const [vm] = (await store.classes.assignmentsOf(st01.id)).filter((a) => a.classId === 'cs101');
    const now = Date.now();
    await store.usage.closeInterval(vm!.clusterId, vm!.vmid, now);
    await store.usage.openInterval(vm!.clusterId, vm!.vmid, now - 2 * 3_600_000);
    const row = (await store.inventory.get(vm!.clusterId, vm!.vmid))!;
    await store.close();
    const r = await lab(['usage', 'cs101', '--csv', '--as', 'lovelace']);
    expect(r.code, r.stderr).toBe(0);
    const [header, ...rows] = r.stdout.trim().split(/\r?\n/);
    expect(header).toBe(
      'username,name,email,role,class,hours_used,hours_left,running_vms,top_up_hours,hours_total,cost,currency',
    );
    expect(rows.map((l) => l.split(',')[0])).toEqual(['st01', 'st02']);
    const st01Row = rows[0]!.split(',');
    expect(Number(st01Row[9])).toBeCloseTo(2, 1);
    const expected = Number(st01Row[9]) * (row.cores! * 0.04 + (row.memory! / 1024) * 0.01);
    expect(Number(st01Row[10])).toBeCloseTo(expected, 1);
    expect(st01Row[11]).toBe('EUR');
    expect(rows[1]!.split(',').slice(-3)).toEqual(['0.00', '0.00', 'EUR']);
  }, 60_000);

  it('lab quota from two processes with one key adds the hours once and audits them once', async () => {
    expect((await lab(['limits', 'cs101', '--quota-hours', '10', '--as', 'lovelace'])).code).toBe(0);
    const runs = await Promise.all([
      lab(['quota', 'cs101', 'st02', '+5h', '--key', 'week-50', '--as', 'lovelace', '--json']),
      lab(['quota', 'cs101', 'st02', '+5h', '--key', 'week-50', '--as', 'lovelace', '--json']),
    ]);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(runs.map((r) => (JSON.parse(r.stdout) as { applied: boolean }).applied).sort()).toEqual([false, true]);
    const usage = await lab(['usage', 'cs101', '--as', 'lovelace']);
    expect(usage.stdout).toMatch(
      /st02: 0 min used, 15 h left \(top-ups \+5 h\), 0 running; 0 min in all, about 0\.00 EUR/,
    );
    expect(usage.stdout).toMatch(/Cost estimate for cs101: about \d+\.\d\d EUR/);
    const audit = await lab(['audit', '--action', 'quota.top-up', '--json']);
    expect(audit.code, audit.stderr).toBe(0);
    expect((JSON.parse(audit.stdout) as { entries: unknown[] }).entries).toHaveLength(1);
  }, 60_000);

  it('lab audit --json lists the deploy and the start; a teacher reads their class’s latest entries', async () => {
    const r = await lab(['audit', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const actions = (JSON.parse(r.stdout) as { entries: Array<{ action: string; actor: string }> }).entries.map(
      (e) => `${e.actor} ${e.action}`,
    );
    expect(actions).toContain('lovelace command.lab.deploy');
    expect(actions).toContain('st01 vm.start');
    const teacher = await lab(['audit', 'cs101', '--as', 'lovelace']);
    expect(teacher.code, teacher.stderr).toBe(0);
    expect(teacher.stdout).toContain('lovelace quota.top-up class cs101: ok');
    const named = await lab(['audit', '--class', 'cs101', '--action', 'quota.top-up', '--json']);
    expect(named.code, named.stderr).toBe(0);
    expect((JSON.parse(named.stdout) as { entries: unknown[] }).entries).toHaveLength(1);
    const twice = await lab(['audit', 'cs101', '--class', 'cs202']);
    expect(twice.code).not.toBe(0);
    expect(twice.stderr).toContain('Give class once: as a word or as --class, not both.');
    const student = await lab(['audit', 'cs101', '--as', 'st01']);
    expect(student.code).not.toBe(0);
  }, 60_000);

  it('refuses costs the config schema does not accept, naming the key', () => {
    const bad = join(dir, 'bad.config.json');
    writeFileSync(
      bad,
      JSON.stringify({
        clusters: [{ id: 'lab', url: sim.url, tokenId: sim.tokenId, fingerprint: sim.fingerprint }],
        costs: { perVcpuHour: -1, perGiBHour: 0.01, currency: 'EUR' },
      }),
    );
    expect(() => loadLabConfig(bad, { LAB_CLUSTER_LAB_TOKEN_SECRET: 'x' })).toThrow(
      /config key 'costs.perVcpuHour': not negative/,
    );
    writeFileSync(
      bad,
      JSON.stringify({
        clusters: [{ id: 'lab', url: sim.url, tokenId: sim.tokenId, fingerprint: sim.fingerprint }],
        costs: { perVcpuHour: 0.1, perGiBHour: 0.01, currency: 'euro' },
      }),
    );
    expect(() => loadLabConfig(bad, { LAB_CLUSTER_LAB_TOKEN_SECRET: 'x' })).toThrow(
      /config key 'costs.currency': a three-letter currency code/,
    );
    writeFileSync(
      bad,
      JSON.stringify({
        clusters: [{ id: 'lab', url: sim.url, tokenId: sim.tokenId, fingerprint: sim.fingerprint }],
        audit: { retentionDays: 7 },
      }),
    );
    expect(() => loadLabConfig(bad, { LAB_CLUSTER_LAB_TOKEN_SECRET: 'x' })).toThrow(
      /config key 'audit.retentionDays': keep at least 30 days/,
    );
  });
});

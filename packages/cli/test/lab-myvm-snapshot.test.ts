import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotsOf, startPveSim, type PveSim } from '@lab/pve-sim';
import { openStore } from '@lab/proxmox-store';

// `lab myvm snapshot|snapshots|restore` as real processes, on a SQLite store and the simulator over HTTPS.
const cli = resolve(import.meta.dirname, '../bin/lab.mjs');
const dir = mkdtempSync(join(tmpdir(), 'lab-snap-'));
const configPath = join(dir, 'lab.config.json');
let sim: PveSim;

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
  const storeUrl = `sqlite:${join(dir, 'lab.db')}`;
  writeFileSync(
    configPath,
    JSON.stringify({
      store: storeUrl,
      clusters: [{ id: 'lab', url: sim.url, tokenId: sim.tokenId, fingerprint: sim.fingerprint }],
    }),
  );
  const store = await openStore(storeUrl);
  const teacher = await store.classes.createPerson({ username: 'lovelace', displayName: 'L', role: 'teacher' }, 1);
  const st01 = await store.classes.createPerson({ username: 'st01', displayName: 'S', role: 'student' }, 1);
  const t = await store.templates.create(
    { name: 'ubuntu', description: '', memory: 2048, cores: 2, isActive: true },
    [{ clusterId: 'lab', node: 'pve1', vmid: 9000 }],
    1,
  );
  await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: t.id, ownerId: teacher.id }, 1);
  await store.classes.addMember({ classId: 'cs101', personId: st01.id, role: 'student' });
  await store.close();
}, 60_000);
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('lab myvm snapshot', () => {
  it('takes a snapshot that lab myvm snapshots --json then lists, and restores it with --yes', async () => {
    const deploy = await lab(['deploy', 'cs101', '1', '--as', 'lovelace']);
    expect(deploy.code, deploy.stderr).toBe(0);
    const took = await lab(['myvm', 'snapshot', '--as', 'st01']);
    expect(took.code, took.stderr).toBe(0);
    expect(took.stdout).toMatch(/Took snapshot snap-\d{8}-\d{4} of cs101-st01 \(1 of 3\)/);
    const listed = await lab(['myvm', 'snapshots', '--as', 'st01', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const data = JSON.parse(listed.stdout) as {
      vm: { name: string; vmid: number };
      limit: number;
      snapshots: Array<{ name: string; takenBy: string }>;
    };
    expect(data).toMatchObject({
      vm: { name: 'cs101-st01' },
      limit: 3,
      snapshots: [{ takenBy: 'st01', forClass: false }],
    });
    const [snap] = data.snapshots;
    expect(snap!.name).toMatch(/^snap-\d{8}-\d{4}$/);
    expect([...snapshotsOf(sim.state.guests.get(data.vm.vmid)!).keys()]).toEqual([snap!.name]);

    const restored = await lab(['myvm', 'restore', snap!.name, '--as', 'st01', '--yes']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`cs101-st01 is back at snapshot ${snap!.name} and stopped.`);
  });
});

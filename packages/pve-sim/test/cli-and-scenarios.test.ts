import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario, presets, startPveSim } from '../src/index.js';
import { call } from './helpers.js';

const cli = resolve(import.meta.dirname, '../dist/cli.js');

function runCli(args: string[]): Promise<{ firstLine: string; code: number | null; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.stdout.on('data', (c) => {
      stdout += c;
      if (stdout.includes('\n')) child.kill('SIGTERM');
    });
    child.on('exit', (code) => resolvePromise({ firstLine: stdout.split('\n')[0]!, code, stderr }));
  });
}

describe('the pve-sim command', () => {
  it('prints one JSON line with url, fingerprint and token when ready', async () => {
    const { firstLine } = await runCli([
      '--port',
      '0',
      '--time-scale',
      '10',
      '--seed',
      '3',
      '--token',
      'ci@pve!sim=abc-123',
    ]);
    const ready = JSON.parse(firstLine) as { url: string; fingerprint: string; tokenId: string; tokenSecret: string };
    expect(ready.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(ready.tokenId).toBe('ci@pve!sim');
    expect(ready.tokenSecret).toBe('abc-123');
  });

  it('exits 2 with usage on a bad argument', async () => {
    const { code, stderr } = await runCli(['--time-scale', 'fast']);
    expect(code).toBe(2);
    expect(stderr).toContain('--time-scale must be a number');
  });
});

describe('scenarios', () => {
  it('ship the small, school, ceph and large presets with the promised sizes', () => {
    expect(parseScenario(presets.small).nodes).toHaveLength(3);
    const school = parseScenario(presets.school);
    expect(school.nodes).toHaveLength(5);
    expect(school.generate?.count).toBe(300);
    expect(parseScenario(presets.large).generate?.count).toBe(10_000);
    const ceph = parseScenario(presets.ceph);
    expect(ceph.nodes).toHaveLength(5);
    expect(ceph.storages.find((s) => s.id === 'ceph')).toMatchObject({ type: 'rbd', shared: true });
    const firstday = parseScenario(presets.firstday);
    expect(firstday.nodes).toHaveLength(10);
    expect(firstday.storages.find((s) => s.id === 'local-lvm')).toMatchObject({ type: 'lvmthin', shared: false });
    expect(firstday.guests.filter((g) => g.name === 'ubuntu-2404-cloud').map((g) => g.node)).toEqual(['pve1', 'pve2']);
    const firstdayCeph = parseScenario(presets['firstday-ceph']!);
    expect(firstdayCeph.nodes).toHaveLength(10);
    expect(firstdayCeph.storages.find((s) => s.id === 'ceph')).toMatchObject({ type: 'rbd', shared: true });
    expect(firstdayCeph.guests.every((g) => Object.values(g.disks).every((d) => d.storage === 'ceph'))).toBe(true);
  });

  it('name the bad key in a scenario file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pve-sim-'));
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({ nodes: [{ name: 'pve1' }], guests: [{ vmid: 100, node: 'pve9', name: 'x' }] }),
    );
    expect(() => loadScenario(file)).toThrow(`${file}: key 'guests.0.node': no node 'pve9' (nodes: pve1)`);
    writeFileSync(file, JSON.stringify({ nodes: [{ name: 'pve1', cpus: -1 }] }));
    expect(() => loadScenario(file)).toThrow(/key 'nodes\.0\.cpus'/);
    writeFileSync(file, '{ not json');
    expect(() => loadScenario(file)).toThrow(/is not valid JSON/);
    expect(() => loadScenario('nope')).toThrow(
      /neither a preset \(small, school, ceph, large, firstday, firstday-ceph\) nor a readable file/,
    );
  });

  it('serve a 10,000-VM cluster in one /cluster/resources answer', async () => {
    const sim = await startPveSim({ scenario: 'large' });
    try {
      const r = await call(sim, 'GET', '/cluster/resources', { params: { type: 'vm' } });
      const vms = r.body.data as Array<{ status: string }>;
      expect(vms.length).toBe(10_004);
      const running = vms.filter((v) => v.status === 'running').length;
      expect(running).toBeGreaterThan(4_500);
      expect(running).toBeLessThan(5_500);
    } finally {
      await sim.close();
    }
  });
});

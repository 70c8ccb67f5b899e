import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPveSim, type PveSim } from '@lab/pve-sim';
import { openStore } from '@lab/proxmox-store';
import { importRoster } from '@lab/proxmox-sdk';
import { runLab, startLab, stopLab } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lab-directory-cli-'));
const DIRECTORY_PASSWORD = 'directory-service-pw-4e7d';
const storeUrl = `sqlite:${join(dir, 'lab.db')}`;
let sim: PveSim;
let deadPort: number;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

function status(url: string): Promise<number> {
  return new Promise((resolve, reject) =>
    httpGet(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject),
  );
}

async function eventually<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  sim = await startPveSim({ timeScale: 100 });
  deadPort = await closedPort();
  writeFileSync(join(dir, 'token'), `${sim.tokenSecret}\n`);
  writeFileSync(join(dir, 'directory-password'), `${DIRECTORY_PASSWORD}\n`);
  writeFileSync(
    join(dir, 'lab.config.json'),
    JSON.stringify({
      store: storeUrl,
      clusters: [
        {
          id: 'lab',
          url: sim.url,
          tokenId: sim.tokenId,
          tokenSecretFile: join(dir, 'token'),
          fingerprint: sim.fingerprint,
        },
      ],
      sync: { quickIntervalMs: 1000 },
      slack: { signingSecret: 'directory-cli-signing', botToken: 'xoxb-directory-cli', host: '127.0.0.1' },
      directory: {
        groups: { 'cs101-students': { class: 'cs101', role: 'student' } },
        ldap: {
          url: `ldap://127.0.0.1:${deadPort}`,
          bindDn: 'cn=lab-reader,dc=school,dc=example',
          passwordFile: join(dir, 'directory-password'),
          userBase: 'ou=people,dc=school,dc=example',
        },
      },
    }),
  );
  const store = await openStore(storeUrl);
  await store.classes.createClass({ id: 'cs101', name: 'CS "one", basics', templateId: null, ownerId: null }, 1);
  const alice = await store.classes.createPerson(
    { username: 'alice', displayName: 'Liddell, Alice', role: 'student' },
    1,
  );
  await store.classes.addMember({ classId: 'cs101', personId: alice.id, role: 'student' });
  await store.close();
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('lab directory and the CSV exports from a shell', () => {
  it('lab people export and lab class export print only the CSV, which the import reads back', async () => {
    const people = await runLab(['--config', join(dir, 'lab.config.json'), 'people', 'export'], { cwd: dir });
    expect(people.code, people.stderr).toBe(0);
    expect(people.stdout).toBe(
      'username,name,email,role,class,slack,discord\r\nalice,"Liddell, Alice",,student,cs101,,\n',
    );
    const klass = await runLab(['--config', join(dir, 'lab.config.json'), 'class', 'export', 'cs101'], { cwd: dir });
    expect(klass.stdout).toBe(people.stdout);
    const store = await openStore(storeUrl);
    try {
      expect(await importRoster({ store }, people.stdout)).toMatchObject({ problems: [], changed: 0 });
    } finally {
      await store.close();
    }
  });

  it('lab directory sync with the directory down: a coded error, exit 1, nothing changed', async () => {
    const run = await runLab(['--config', join(dir, 'lab.config.json'), 'directory', 'sync', '--dry-run'], {
      cwd: dir,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Could not read the directory at ldap:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED/);
    expect(run.stderr).not.toContain(DIRECTORY_PASSWORD);
  });

  it('lab serve keeps /readyz ready through a directory outage; lab directory status shows the failure', async () => {
    const { child, first } = await startLab<{ url: string }>(
      ['--config', join(dir, 'lab.config.json'), 'serve', 'slack', '--port', '0'],
      { cwd: dir, env: { LAB_LOG_LEVEL: 'debug' } },
    );
    let stderr = '';
    child.stderr!.on('data', (c) => (stderr += c));
    try {
      await eventually(async () => ((await status(`${first.url}/readyz`)) === 200 ? true : undefined), 'readiness');
      await eventually(async () => {
        const s = await runLab(['--config', join(dir, 'lab.config.json'), '--json', 'directory', 'status'], {
          cwd: dir,
        });
        const parsed = JSON.parse(s.stdout) as { lastRun: { mode: string; error: { code: string } | null } | null };
        return parsed.lastRun?.mode === 'apply' ? parsed : undefined;
      }, 'the scheduled directory sync');
      const s = await runLab(['--config', join(dir, 'lab.config.json'), 'directory', 'status'], { cwd: dir });
      expect(s.stdout).toMatch(/Last run: .*, apply, failed; LAB_DIRECTORY_CONNECTION/);
      expect(s.stdout).toMatch(
        /Last successful sync: never; 1 failed or stopped since — the lab works on the last known roster/,
      );
      expect(await status(`${first.url}/readyz`)).toBe(200);
    } finally {
      expect(await stopLab(child), stderr).toBe(0);
    }
    expect(stderr).toMatch(/scheduled directory sync failed; keeping the last known roster/);
    expect(stderr).not.toContain(DIRECTORY_PASSWORD);
    const store = await openStore(storeUrl);
    try {
      expect((await store.classes.members('cs101')).length).toBe(1);
    } finally {
      await store.close();
    }
  }, 120_000);
});

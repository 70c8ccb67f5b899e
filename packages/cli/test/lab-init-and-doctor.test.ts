import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPveSim, type PveSim } from '@lab/pve-sim';
import { openStore } from '@lab/proxmox-store';
import { runLab } from './helpers.js';

let sim: PveSim;
const root = mkdtempSync(join(tmpdir(), 'lab-init-'));
let n = 0;
/** A fresh directory holding the simulator's token secret in `token`. */
function freshDir(): string {
  const dir = join(root, String(++n));
  mkdirSync(dir);
  return dir;
}
const init = (dir: string, ...extra: string[]) =>
  runLab(['init', '--url', sim.url, '--token-id', sim.tokenId, '--token-secret-file', join(root, 'token'), ...extra], {
    cwd: dir,
  });

beforeAll(async () => {
  sim = await startPveSim({ timeScale: 100 });
  writeFileSync(join(root, 'token'), sim.tokenSecret, { mode: 0o600 });
});
afterAll(async () => {
  await sim.close();
  rmSync(root, { recursive: true, force: true });
});

describe('lab init', () => {
  it('refuses http:// URLs', async () => {
    const dir = freshDir();
    const r = await runLab(
      [
        'init',
        '--url',
        sim.url.replace('https:', 'http:'),
        '--token-id',
        sim.tokenId,
        '--token-secret-file',
        join(root, 'token'),
        '--yes',
      ],
      { cwd: dir },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^lab: Refusing http:\/\/127\.0\.0\.1:\d+: the API token would travel in clear text; use the node's https:\/\/ address/,
    );
  });

  it('pins nothing without the operator: it names the fingerprint to check and writes nothing', async () => {
    const dir = freshDir();
    const r = await init(dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(sim.fingerprint);
    expect(r.stderr).toBe(
      `lab: Confirm the certificate: pass --fingerprint ${sim.fingerprint} after checking it, or --yes to pin what the node shows.\n`,
    );
    expect(() => readFileSync(join(dir, 'lab.config.json'))).toThrow(/ENOENT/);
    const wrong = await init(dir, '--fingerprint', sim.fingerprint.replace(/^../, '00'));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^lab: https:\/\/127\.0\.0\.1:\d+ presented certificate 33:37:.* not 00:37:/);
  });

  it('is safe to run again: same file, one admin; a different configuration needs --force', async () => {
    const dir = freshDir();
    const first = await init(
      dir,
      '--fingerprint',
      sim.fingerprint.replace(/:/g, '').toLowerCase(),
      '--admin',
      'ada',
      '--json',
    );
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      configWritten: true,
      admin: { username: 'ada', created: true, role: 'admin' },
      trust: { fingerprint: sim.fingerprint },
    });
    const written = readFileSync(join(dir, 'lab.config.json'), 'utf8');
    const again = await init(dir, '--admin', 'ada', '--json'); // no --yes: the pinned certificate is still the node's
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ configWritten: false, admin: { created: false } });
    expect(readFileSync(join(dir, 'lab.config.json'), 'utf8')).toBe(written);
    // Another name adds no second admin without a yes on a terminal, and says so.
    const bob = await init(dir, '--admin', 'bob', '--json');
    expect(bob.code, bob.stderr).toBe(0);
    expect(JSON.parse(bob.stdout)).toMatchObject({
      admin: { username: 'bob', created: false, role: 'none', otherAdmins: ['ada'] },
    });
    const bobText = await init(dir, '--admin', 'bob');
    expect(bobText.stdout).toContain(
      `! not created the admin 'bob': the store already has the admin ada; lab people add bob --name "…" --role admin adds another admin.`,
    );
    const store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
    expect((await store.classes.listPeople()).map((p) => p.username)).toEqual(['ada']);
    await store.close();
    const other = await init(dir, '--yes', '--store', 'sqlite:./other.db');
    expect(other.code).toBe(1);
    expect(other.stderr).toBe(
      `lab: ${join(dir, 'lab.config.json')} already exists and differs from what lab init would write; pass --force to overwrite it, or edit it by hand.\n`,
    );
    expect(readFileSync(join(dir, 'lab.config.json'), 'utf8')).toBe(written);
    const forced = await init(dir, '--yes', '--store', 'sqlite:./other.db', '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'lab.config.json'), 'utf8'))).toMatchObject({
      store: 'sqlite:./other.db',
    });
  });

  it('keeps the default store beside the configuration, so lab --config from another directory finds the same people', async () => {
    const dir = freshDir();
    const elsewhere = freshDir();
    const first = await init(dir, '--yes', '--admin', 'ada');
    expect(first.code, first.stderr).toBe(0);
    const list = await runLab(['--config', join(dir, 'lab.config.json'), 'people', 'list', '--json'], {
      cwd: elsewhere,
    });
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as Array<{ username: string }>).map((p) => p.username)).toEqual(['ada']);
    expect(() => readFileSync(join(elsewhere, 'lab.db'))).toThrow(/ENOENT/);
  });

  it('keeps a secret given in the environment out of the file entirely', async () => {
    const dir = freshDir();
    const r = await runLab(['init', '--url', sim.url, '--token-id', sim.tokenId, '--yes', '--cluster', 'school'], {
      cwd: dir,
      env: { LAB_CLUSTER_SCHOOL_TOKEN_SECRET: sim.tokenSecret },
    });
    expect(r.code, r.stderr).toBe(0);
    const config = JSON.parse(readFileSync(join(dir, 'lab.config.json'), 'utf8')) as {
      clusters: Array<Record<string, unknown>>;
    };
    expect(Object.keys(config.clusters[0]!).sort()).toEqual(['fingerprint', 'id', 'tokenId', 'url']);
  });

  it('trusts a CA file instead of pinning, and lab doctor says so', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'pve-root-ca.pem'), sim.ca);
    const r = await init(dir, '--ca', 'pve-root-ca.pem');
    expect(r.code, r.stderr).toBe(0);
    const config = JSON.parse(readFileSync(join(dir, 'lab.config.json'), 'utf8')) as {
      clusters: Array<Record<string, unknown>>;
    };
    expect(config.clusters[0]).toMatchObject({ caFile: join(dir, 'pve-root-ca.pem') });
    expect(config.clusters[0]).not.toHaveProperty('fingerprint');
    const doctor = await runLab(['doctor'], { cwd: dir });
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(doctor.stdout).toMatch(/^✓ cluster pve +TLS: certificates checked against the CA in .*pve-root-ca\.pem$/m);
  });
});

describe('lab doctor', () => {
  it('checks the Slack and Discord settings and refuses a plain-HTTP console.publicUrl', async () => {
    const dir = freshDir();
    expect((await init(dir, '--yes')).code).toBe(0);
    const file = join(dir, 'lab.config.json');
    const base = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const doctorWith = async (extra: Record<string, unknown>) => {
      writeFileSync(file, JSON.stringify({ ...base, ...extra }));
      return runLab(['doctor'], { cwd: dir });
    };
    const bad = await doctorWith({
      slack: { botToken: 'xapp-wrong', signingSecret: 'not-a-secret' },
      discord: { mode: 'http', applicationId: 'my-app' },
      console: { publicUrl: 'http://lab.school.example' },
    });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(
      /^✗ slack +HTTP \(\/slack\/events\): the bot token does not start with xoxb-; the signing secret is not 32 hexadecimal characters$/m,
    );
    expect(bad.stdout).toMatch(
      /^✗ discord +HTTP interactions: the application id is not a Discord id; no public key$/m,
    );
    expect(bad.stdout).toMatch(
      /^✗ console +console\.publicUrl http:\/\/lab\.school\.example is plain HTTP: console links and their sessions would cross the network in clear text$/m,
    );
    const good = await doctorWith({
      slack: { botToken: 'xoxb-1-2-abc', signingSecret: 'a'.repeat(32) },
      discord: { mode: 'http', applicationId: '123456789012345678', publicKey: 'b'.repeat(64), token: 'bot-token' },
      console: { publicUrl: 'https://lab.school.example' },
    });
    expect(good.code, good.stdout).toBe(0);
    expect(good.stdout).toMatch(/^✓ slack +HTTP \(\/slack\/events\): bot token, signing secret set$/m);
    expect(good.stdout).toMatch(/^✓ discord +HTTP interactions: application id, public key, bot token set$/m);
    expect(good.stdout).toMatch(/^✓ console +links are served at https:\/\/lab\.school\.example\/console\/…$/m);
  });

  it('runs the cluster checks through the router as /lab doctor (audited), printing the README checklist', async () => {
    const dir = freshDir();
    expect((await init(dir, '--yes')).code).toBe(0);
    const r = await runLab(['doctor'], { cwd: dir });
    expect(r.code, r.stdout).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^✓ configuration {2}.*lab\.config\.json is valid$/);
    expect(lines[1]).toMatch(/^✓ store {10}sqlite:.*lab\.db is reachable and at the latest schema \(\d+ migrations\)$/);
    expect(lines.slice(2)).toEqual([
      `✓ cluster pve    TLS: certificate pinned (${sim.fingerprint.slice(0, 11)}…)`,
      '✓ cluster pve    reachable: Proxmox VE 9.1.3',
      `✓ cluster pve    privileges: the token ${sim.tokenId} has every privilege Proxmox Lab needs`,
      'All checks passed.',
    ]);
    const store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
    try {
      expect((await store.audit.list({ action: 'command.lab.doctor' })).map((a) => a.outcome)).toEqual(['ok']);
    } finally {
      await store.close();
    }
  });

  it('fails a certificate that is not the pinned one, and says how to re-pin', async () => {
    const dir = freshDir();
    expect((await init(dir, '--yes')).code).toBe(0);
    const file = join(dir, 'lab.config.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as { clusters: Array<Record<string, unknown>> };
    config.clusters[0]!.fingerprint = `00${String(config.clusters[0]!.fingerprint).slice(2)}`;
    writeFileSync(file, JSON.stringify(config));
    const r = await runLab(['doctor'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^✗ cluster pve +.*fingerprint/m);
    expect(r.stdout).toMatch(/fix: compare 'pvenode cert info' on the node with clusters\.0\.fingerprint/);
  });

  it('names a missing VM.Clone and the pveum command that grants it, and exits non-zero', async () => {
    const dir = freshDir();
    expect((await init(dir, '--yes')).code).toBe(0);
    // What `GET /access/permissions` answered (PVE 9) for a token that was given PVEAuditor,
    // PVEDatastoreUser and PVESDNUser, and a role with every PVEVMAdmin privilege but VM.Clone.
    const vm = {
      'VM.Allocate': 1,
      'VM.Audit': 1,
      'VM.Config.CDROM': 1,
      'VM.Config.CPU': 1,
      'VM.Config.Cloudinit': 1,
      'VM.Config.Disk': 1,
      'VM.Config.HWType': 1,
      'VM.Config.Memory': 1,
      'VM.Config.Network': 1,
      'VM.Config.Options': 1,
      'VM.GuestAgent.Audit': 1,
      'VM.PowerMgmt': 1,
    } as const;
    sim.auth.setPermissions({
      '/': { 'Sys.Audit': 1, 'Datastore.Audit': 1, 'VM.Audit': 1 },
      '/vms': vm,
      '/storage': { 'Datastore.AllocateSpace': 1, 'Datastore.Audit': 1 },
      '/sdn/zones/localnetwork': { 'SDN.Audit': 1, 'SDN.Use': 1 },
    });
    try {
      const r = await runLab(['doctor'], { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(
        /^✗ cluster pve +privileges: the token root@pam!pve-sim lacks VM\.Clone on \/vms, needed to clone, configure, start and stop class VMs \(Proxmox VE 9\.1\.3\)$/m,
      );
      expect(r.stdout).toMatch(/^ +fix: pveum acl modify \/vms --tokens 'root@pam!pve-sim' --roles PVEVMAdmin$/m);
      expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('1 check(s) failed.');
      const json = await runLab(['doctor', '--json'], { cwd: dir });
      const report = JSON.parse(json.stdout) as { ok: boolean; checks: Array<{ status: string; detail: string }> };
      expect(report.ok).toBe(false);
      expect(report.checks.filter((c) => c.status === 'fail').map((c) => c.detail)).toEqual([
        expect.stringContaining('lacks VM.Clone on /vms'),
      ]);
    } finally {
      sim.auth.setPermissions(undefined);
    }
  });

  it('says to run lab init when there is no configuration, warns about insecure TLS and fails plain HTTP', async () => {
    const dir = freshDir();
    const none = await runLab(['doctor'], { cwd: dir });
    expect(none.code).toBe(1);
    expect(none.stdout).toMatch(/^✗ configuration +cannot read the configuration .*lab\.config\.json \(ENOENT\)/m);
    expect(none.stdout).toMatch(/fix: lab init$/m);
    expect((await init(dir, '--yes')).code).toBe(0);
    const file = join(dir, 'lab.config.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as { clusters: Array<Record<string, unknown>> };
    delete config.clusters[0]!.fingerprint;
    config.clusters[0]!.insecure = true;
    writeFileSync(file, JSON.stringify(config));
    const insecure = await runLab(['doctor'], { cwd: dir });
    expect(insecure.code, insecure.stdout).toBe(0);
    expect(insecure.stdout).toMatch(/^! cluster pve +TLS: insecure, any certificate is accepted/m);
    expect(insecure.stdout.trimEnd().split('\n').at(-1)).toBe('All checks passed, with 1 warning(s).');
    config.clusters[0]!.url = String(config.clusters[0]!.url).replace('https:', 'http:');
    writeFileSync(file, JSON.stringify(config));
    const plain = await runLab(['doctor'], { cwd: dir });
    expect(plain.code).toBe(1);
    expect(plain.stdout).toMatch(/^✗ configuration +.*config key 'clusters\.0\.url': must start with https:\/\//m);
  });
});

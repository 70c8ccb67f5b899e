import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPveSim, type PveSim } from '@lab/pve-sim';
import { openStore } from '@lab/proxmox-store';
import { clusterAnswerMaxAgeMs } from '@lab/proxmox-sdk';
import { checkReadiness, loadLabConfig } from '../src/index.js';

const cli = resolve(import.meta.dirname, '../bin/lab.mjs');
const dir = mkdtempSync(join(tmpdir(), 'lab-cli-'));
const configPath = join(dir, 'lab.config.json');
let sim: PveSim;

function lab(
  args: string[],
  env: Record<string, string> = {},
  config = configPath,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((r) => {
    const child = spawn(process.execPath, [cli, '--config', config, ...args], {
      env: { ...process.env, ...env },
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
  process.env.LAB_CLUSTER_LAB_TOKEN_SECRET = sim.tokenSecret;
  const store = await openStore(storeUrl);
  await store.classes.createPerson({ username: 'root', displayName: 'root', role: 'admin' }, 1);
  const teacher = await store.classes.createPerson({ username: 'lovelace', displayName: 'L', role: 'teacher' }, 1);
  const alice = await store.classes.createPerson({ username: 'alice', displayName: 'A', role: 'student' }, 1);
  const t = await store.templates.create(
    { name: 'ubuntu', description: '', memory: 2048, cores: 2, isActive: true },
    [{ clusterId: 'lab', node: 'pve1', vmid: 9000 }],
    1,
  );
  await store.classes.createClass({ id: 'cs101', name: 'CS', templateId: t.id, ownerId: teacher.id }, 1);
  await store.classes.addMember({ classId: 'cs101', personId: alice.id, role: 'student' });
  await store.close();
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the lab command', () => {
  it('migrates the store', async () => {
    const r = await lab(['db', 'migrate', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ migrated: true });
  });

  it('deploys a class as its teacher and lists VMs as JSON', async () => {
    const deploy = await lab(['deploy', 'cs101', '2', '--as', 'lovelace']);
    expect(deploy.code, deploy.stderr).toBe(0);
    // Two students on a three-node lab: one on the base's node, one on another with a copy of the base.
    expect(deploy.stdout).toMatch(/^cs101: 5 created, 0 kept, 0 deleted in/);
    expect(deploy.stdout).toMatch(
      /\nbase replicated to pve[23] so the class's 2 VMs spread over 2 nodes when they all run \(at most 1 on a node\)\n?$/,
    );
    const vms = await lab(['vms', '--json', '--as', 'root']);
    expect(vms.code, vms.stderr).toBe(0);
    const list = JSON.parse(vms.stdout) as Array<{ name: string; vmid: number }>;
    expect(Array.isArray(list)).toBe(true);
    expect(list.map((v) => v.name).sort()).toEqual(['cs101-alice', 'cs101-seat-01', 'cs101-teacher']);
  });

  it('writes the .rdp file of a Windows VM where --out says', async () => {
    const store = await openStore(loadLabConfig(configPath).store);
    const teacher = (await store.classes.getPersonByUsername('lovelace'))!;
    const bob = await store.classes.createPerson({ username: 'bob', displayName: 'B', role: 'student' }, 1);
    const win = await store.templates.create(
      { name: 'win11', description: '', memory: 4096, cores: 2, isActive: true },
      [{ clusterId: 'lab', node: 'pve1', vmid: 9001 }],
      1,
    );
    await store.classes.createClass({ id: 'cs303', name: 'Windows', templateId: win.id, ownerId: teacher.id }, 1);
    await store.classes.addMember({ classId: 'cs303', personId: bob.id, role: 'student' });
    await store.close();
    expect((await lab(['deploy', 'cs303', '1', '--as', 'lovelace'])).code).toBe(0);
    const started = await lab(['myvm', 'start', '--as', 'bob']);
    expect(started.code, started.stderr).toBe(0);
    const out = join(dir, 'rdp');
    let connect = await lab(['myvm', 'connect', '--as', 'bob', '--out', out]);
    for (let i = 0; i < 40 && !connect.stdout.includes('wrote '); i++) {
      await new Promise((r) => setTimeout(r, 250));
      connect = await lab(['myvm', 'connect', '--as', 'bob', '--out', out]);
    }
    expect(connect.stdout, connect.stderr).toContain(`wrote ${join(out, 'cs303-bob.rdp')}`);
    expect(readFileSync(join(out, 'cs303-bob.rdp'), 'utf8')).toMatch(/^full address:s:127\./m);
    const json = await lab(['myvm', 'connect', '--as', 'bob', '--out', out, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ files: [join(out, 'cs303-bob.rdp')] });
  });

  it('exports a deployed class as a Terraform workspace that adopts its VMs, and a new class from its plan', async () => {
    const out = join(dir, 'tf', 'cs101');
    const r = await lab(['class', 'export-terraform', 'cs101', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dir: out, vms: 4, imports: 4 });
    const main = readFileSync(join(out, 'main.tf'), 'utf8');
    expect(main.match(/^import \{$/gm)).toHaveLength(4);
    expect(readFileSync(join(out, 'modules/proxmox-class/main.tf'), 'utf8')).toContain(
      'resource "proxmox_virtual_environment_vm" "student"',
    );
    const tfvars = JSON.parse(readFileSync(join(out, 'terraform.tfvars.json'), 'utf8')) as { proxmox_endpoint: string };
    expect(tfvars.proxmox_endpoint).toBe(sim.url);
    expect(main + JSON.stringify(tfvars)).not.toContain(sim.tokenSecret);
    const planned = await lab([
      'class',
      'export-terraform',
      'cs101',
      '--from',
      'plan',
      '--out',
      join(dir, 'tf', 'again'),
    ]);
    expect(planned.code).toBe(1);
    expect(planned.stderr).toMatch(/^lab: Class cs101 already has \d+ VM\(s\) .*export --from deployed/);
  });

  it('exports a class only for its teachers and admins, through the router', async () => {
    const out = join(dir, 'tf', 'refused');
    const student = await lab(['class', 'export-terraform', 'cs101', '--out', out, '--as', 'alice']);
    expect(student.code).toBe(1);
    expect(student.stderr).toBe('lab: lab class export-terraform is for teachers and admins; you are a student.\n');
    expect(existsSync(out)).toBe(false);
    const store2 = await openStore(loadLabConfig(configPath).store);
    if (!(await store2.classes.getPersonByUsername('hopper')))
      await store2.classes.createPerson({ username: 'hopper', displayName: 'H', role: 'teacher' }, 1);
    await store2.close();
    const otherTeacher = await lab(['class', 'export-terraform', 'cs101', '--out', out, '--as', 'hopper']);
    expect(otherTeacher.code).toBe(1);
    expect(otherTeacher.stderr).toMatch(/^lab: .*hopper|^lab: .*teach/);
    expect(existsSync(out)).toBe(false);
    const unknown = await lab(['class', 'export-terraform', 'nosuch', '--out', join(dir, 'tf', 'nosuch')]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^lab: no class 'nosuch'; classes: cs101/);
    const teacher = await lab(['class', 'export-terraform', 'cs101', '--out', out, '--as', 'lovelace', '--json']);
    expect(teacher.code, teacher.stderr).toBe(0);
    expect(JSON.parse(teacher.stdout)).toMatchObject({ dir: out, imports: 4 });
    const store = await openStore(loadLabConfig(configPath).store);
    const audit = await store.audit.list({ actor: 'alice' });
    await store.close();
    expect(audit).toContainEqual(
      expect.objectContaining({ action: 'command.class.export-terraform', outcome: 'denied' }),
    );
  });

  it('starts a student VM for its owner only', async () => {
    const mine = await lab(['myvm', 'start', '--as', 'alice']);
    expect(mine.code, mine.stderr).toBe(0);
    expect(mine.stdout).toMatch(/^cs101-alice \(\d+\) is running\.$/m);
    const notMine = await lab(['deploy', 'cs101', '3', '--as', 'alice']);
    expect(notMine.code).toBe(1);
    expect(notMine.stderr).toBe('lab: lab deploy is for teachers and admins; you are a student.\n');
  });

  it('imports the legacy template tables, idempotently', async () => {
    const { default: BetterSqlite3 } = await import('better-sqlite3');
    const oldFile = join(dir, 'old.db');
    const old = new BetterSqlite3(oldFile);
    old.exec(`create table vm_templates (id integer primary key, name text, description text, proxmox_template_id integer, proxmox_node text, memory integer, cores integer, is_active integer);
      insert into vm_templates values (1, 'legacy-debian', '', 9002, 'pve1', 1024, 1, 1);`);
    old.close();
    const first = await lab(['db', 'import-legacy', '--from', oldFile, '--cluster', 'lab', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ templatesCreated: 1, mappingsAdded: 1 });
    const again = await lab(['db', 'import-legacy', '--from', oldFile, '--cluster', 'lab']);
    expect(again.stdout).toBe('0 templates created, 0 node mappings added, 1 already there\n');
  });

  it('syncs once', async () => {
    const r = await lab(['sync', '--once', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)[0]).toMatchObject({ clusterId: 'lab', ok: true });
  });

  it('says a cluster is not healthy exactly when /readyz says it is not ready, by the same age limit', async () => {
    // The lease TTL plus two quick intervals of 1 s, as lab serve judges /readyz with this config.
    const quickConfig = join(dir, 'quick.config.json');
    writeFileSync(
      quickConfig,
      JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), sync: { quickIntervalMs: 1000 } }),
    );
    const limitMs = clusterAnswerMaxAgeMs(1000);
    expect(limitMs, "a dead leader's lease runs out before the survivors turn unready").toBe(32_000);
    for (const ageMs of [5_000, limitMs + 15_000]) {
      const store = await openStore(loadLabConfig(quickConfig).store);
      const state = (await store.sync.getState('lab'))!;
      await store.sync.saveState({
        ...state,
        lastSuccessAt: Date.now() - ageMs,
        consecutiveErrors: 0,
        lastError: null,
      });
      const readiness = await checkReadiness({
        store,
        clusterIds: () => ['lab'],
        syncEnabled: true,
        clusterMaxAgeMs: limitMs,
      });
      await store.close();
      const status = await lab(['sync', 'status', '--json'], {}, quickConfig);
      expect(status.code, status.stderr).toBe(0);
      const health = JSON.parse(status.stdout) as { healthy: boolean; issues: string[] };
      expect(health.healthy, `${ageMs} ms: ${health.issues.join('; ')}`).toBe(readiness.ready);
      expect(readiness.ready).toBe(ageMs < limitMs);
      if (!readiness.ready) {
        expect(readiness.clusters[0]!.reason).toMatch(/^last answered \d+ s ago \(limit 32 s\)$/);
        expect(health.issues).toEqual([expect.stringMatching(/^cluster lab last answered \d+ s ago \(limit 32 s\)$/)]);
      }
    }
  });

  it('fails sync --once with a non-zero exit and the reason when PVE answers a huge body', async () => {
    const rule = sim.faults.add({
      path: '/cluster/resources',
      kind: 'huge-body',
      sizeBytes: 700 * 1024 * 1024,
      count: 1,
    });
    const r = await lab(['sync', '--once']);
    expect(r.code, r.stderr).toBe(1);
    // The router's /lab sync reply: one line per cluster, on stdout since the command ran.
    expect(r.stdout).toBe(
      "lab: failed — GET /cluster/resources on cluster 'lab' answered more than 64 MiB, so reading stopped there; if answers this large are expected, raise maxResponseBytes (clusters[].maxResponseBytes in lab.config.json)\n",
    );
    expect(sim.faults.list()[rule]!.bytesSent).toBeLessThan(700 * 1024 * 1024);
    sim.faults.clear();
  });

  it('exits non-zero with a one-line reason on errors', async () => {
    const unknownFlag = await lab(['vms', '--colour']);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toBe("lab: unknown option '--colour'\n");
    const typo = await lab(['deplyo', 'cs101', '2']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe("lab: unknown command 'deplyo' (Did you mean deploy?)\n");
    const badCount = await lab(['deploy', 'cs101', 'ten', '--as', 'lovelace']);
    expect(badCount.code).toBe(1);
    expect(badCount.stderr).toBe('lab: count: must be a number\n');
    const noVm = await lab(['myvm', 'start', '--as', 'root']);
    expect(noVm.code).toBe(1);
    expect(noVm.stderr).toMatch(/ lab deploy[ .]/);
    expect(noVm.stderr).not.toContain('/lab');
    const stranger = await lab(['vms', '--as', 'mallory']);
    expect(stranger.stderr).toBe(
      "lab: No lab user 'mallory'. Create it first (lab people add) or run as an existing user with --as.\n",
    );
    const refused = await lab(['reset', 'cs101', 'carol', '--as', 'lovelace', '--yes']);
    expect(refused.code).toBe(1);
    // A refusal the SDK explains is one line: no JSON log record before it.
    expect(refused.stderr).toMatch(/^lab: (carol has no VM in cs101 to reset|cs101 has no base template yet[^\n]*)\n$/);
    const destroy = await lab(['destroy', 'cs101', '--as', 'lovelace']);
    expect(destroy.code).toBe(1);
    expect(destroy.stderr).toMatch(/Re-run with --yes to confirm\.\n$/);
    expect(destroy.stderr.split('\n')).toHaveLength(2);
  });

  it('names what a confirmation is about and asks for --yes when no one can answer', async () => {
    const r = await lab(['deploy', 'cs101', '1', '--as', 'lovelace']);
    expect(r.code).toBe(1);
    const [first, ...rest] = r.stderr.trimEnd().split('\n');
    expect(first).toBe(
      'lab: Deploying cs101 with 1 seat creates 0 VM(s) and deletes 1 (a running VM is stopped first): Re-run with --yes to confirm.',
    );
    expect(rest).toEqual([expect.stringMatching(/^• cs101-seat-01 \(\d+ on pve\d\)$/)]);
  });
});

describe('lab vms on a large inventory', () => {
  it('shows the operator a page of 100 and says so; --json lists every VM unless --limit says otherwise', async () => {
    const store = await openStore(loadLabConfig(configPath).store);
    await store.inventory.upsertMany(
      Array.from({ length: 150 }, (_, i) => ({
        clusterId: 'lab',
        vmid: 70_000 + i,
        name: `spare-${i}`,
        node: 'pve1',
        status: 'stopped',
        ip: null,
        type: 'qemu' as const,
        category: 'linux' as const,
        memory: 1024,
        cores: 1,
        diskSize: null,
        uptime: 0,
        cpuUsage: 0,
        memoryUsage: 0,
        isTemplate: false,
        tags: '',
        rdpAvailable: false,
        sshAvailable: false,
        lastUpdated: Date.now(),
        lastStatusCheck: null,
        syncError: null,
        goneAt: null,
      })),
    );
    const total = (await store.inventory.list()).length;
    await store.close();
    const table = await lab(['vms']);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^VMID +NAME/);
    expect(lines.filter((l) => /^\d/.test(l))).toHaveLength(100);
    expect(lines).toContain('(the first 100 by cluster and VMID; more match: --limit <n> lists more, --all every one)');
    expect(
      (await lab(['vms', '--all'])).stdout
        .trimEnd()
        .split('\n')
        .filter((l) => /^\d/.test(l)),
    ).toHaveLength(total);
    expect(JSON.parse((await lab(['vms', '--json'])).stdout)).toHaveLength(total);
    expect(JSON.parse((await lab(['vms', '--json', '--limit', '5'])).stdout)).toHaveLength(5);
  });
});

describe('lab people list on a large roster', () => {
  it('pages like lab vms: the first 100 and a note; --all and --json list everyone; --limit cuts', async () => {
    const store = await openStore(loadLabConfig(configPath).store);
    for (let i = 0; i < 150; i++)
      await store.classes.createPerson(
        { username: `roster${String(i).padStart(3, '0')}`, displayName: `Roster ${i}`, role: 'student' },
        Date.now(),
      );
    const total = (await store.classes.listPeople()).length;
    await store.close();
    const page = await lab(['people', 'list']);
    expect(page.code, page.stderr).toBe(0);
    const lines = page.stdout.trimEnd().split('\n');
    expect(lines.filter((l) => / — /.test(l))).toHaveLength(100);
    expect(lines.at(-1)).toBe(`(the first 100 of ${total}; --limit <n> lists more, --all everyone)`);
    expect((await lab(['people', 'list', '--all'])).stdout.trimEnd().split('\n')).toHaveLength(total);
    expect((await lab(['people', 'list', '--limit', '7'])).stdout.trimEnd().split('\n')).toHaveLength(8);
    expect(JSON.parse((await lab(['people', 'list', '--json'])).stdout)).toHaveLength(total);
    expect(JSON.parse((await lab(['people', 'list', '--json', '--limit', '5'])).stdout)).toHaveLength(5);
  });
});

describe('a private key on the command line', () => {
  it('is refused before the options are read, without echoing any of it', async () => {
    const body = Buffer.concat([Buffer.from('openssh-key-v1\0none'), Buffer.alloc(90, 9)]).toString('base64');
    const r = await lab(['myvm', 'sshkey', 'add', '-----BEGIN', 'OPENSSH', 'PRIVATE', 'KEY-----', body, '-----END']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^lab: That is a private key; it was not stored or logged\. .*\.pub file/);
    expect(r.stderr + r.stdout).not.toMatch(/BEGIN|b3BlbnNzaC1rZXkt/);
  });
});

describe('lab.config.json', () => {
  it('points at the bad key', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        clusters: [{ id: 'lab', url: 'https://h:8006', tokenId: 'x@pve!y', tokenSecret: 's', colour: 'red' }],
      }),
    );
    expect(() => loadLabConfig(bad)).toThrow(`${bad}: config key 'clusters.0': Unrecognized key: "colour"`);
    writeFileSync(bad, JSON.stringify({ clusters: [] }));
    expect(() => loadLabConfig(bad)).toThrow("config key 'clusters': configure at least one cluster");
    writeFileSync(bad, '{ "clusters": [ ');
    expect(() => loadLabConfig(bad)).toThrow(/is not valid JSON/);
    expect(() => loadLabConfig(join(dir, 'missing.json'))).toThrow(
      /cannot read the configuration .*missing\.json \(ENOENT\)/,
    );
  });

  it('refuses cleartext or credential-carrying cluster URLs and ms values a timer cannot hold', () => {
    const bad = join(dir, 'unsafe.json');
    const base = { id: 'lab', url: 'https://h:8006', tokenId: 'x@pve!y', tokenSecret: 's' };
    writeFileSync(bad, JSON.stringify({ clusters: [{ ...base, url: 'http://h:8006' }] }));
    expect(() => loadLabConfig(bad, {})).toThrow(/config key 'clusters\.0\.url': must start with https:\/\//);
    writeFileSync(bad, JSON.stringify({ clusters: [{ ...base, url: 'https://root:Pa55-word@h:8006' }] }));
    const withPassword = (() => {
      try {
        loadLabConfig(bad, {});
      } catch (error) {
        return error as Error;
      }
    })();
    expect(withPassword?.message).toMatch(/config key 'clusters\.0\.url': must not carry a user name or password/);
    expect(`${withPassword?.message} ${JSON.stringify(withPassword)}`).not.toContain('Pa55-word');
    writeFileSync(bad, JSON.stringify({ clusters: [{ ...base, timeoutMs: 2 ** 31 }] }));
    expect(() => loadLabConfig(bad, {})).toThrow(/config key 'clusters\.0\.timeoutMs': must be at most 2147483647 ms/);
    for (const key of ['fullIntervalMs', 'quickIntervalMs']) {
      writeFileSync(bad, JSON.stringify({ clusters: [base], sync: { [key]: 2 ** 31 } }));
      expect(() => loadLabConfig(bad, {})).toThrow(`config key 'sync.${key}': must be at most 2147483647 ms`);
    }
  });

  it('takes secrets from the environment', () => {
    const ok = join(dir, 'ok.json');
    writeFileSync(
      ok,
      JSON.stringify({
        clusters: [{ id: 'lab', url: 'https://h:8006', tokenId: 'x@pve!y' }],
        slack: { socketMode: false },
      }),
    );
    const config = loadLabConfig(ok, { SLACK_SIGNING_SECRET: 'sig', LAB_STORE: 'postgres://db/lab' });
    expect(config).toMatchObject({ store: 'postgres://db/lab', slack: { signingSecret: 'sig', socketMode: false } });
  });
});

// A teacher's first lab with two VMs per student, as real processes in an empty directory: the
// simulator, `lab init`, two templates, a class and its roster, then `lab class set-lab` and
// `lab deploy` as a new user would type them (the README's "multi-VM labs" steps): the `sdn` section
// the README shows added to lab.config.json, one private network per student, and `lab destroy`
// removing the VMs and then the networks.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProxmoxClient } from '@lab/proxmox-sdk';
import { net0Bridge } from '@lab/proxmox-sdk/network';
import { pveResources } from '@lab/proxmox-sdk/pve';
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

    // The README's "Multi-VM labs" lines, word for word. Without `sdn`, set-lab warns and the deploy is refused.
    const readme = readFileSync(resolve(import.meta.dirname, '../../../README.md'), 'utf8');
    const noSdn = await lab('class', 'set-lab', 'cs101', 'attacker=kali-2026', '--network', 'student');
    expect(noSdn.code, noSdn.stderr).toBe(0);
    expect(noSdn.stdout).toContain(
      'Warning: this lab has no SDN settings, so lab deploy cs101 will be refused until an admin adds an "sdn" section to lab.config.json',
    );
    const refused = await lab('deploy', 'cs101', '5');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toBe(
      'lab: cs101 asks for private networks (one per student) but cluster pve has no SDN settings: add an "sdn" section to lab.config.json (e.g. "sdn": { "prefix": "lab" }) or set the class\'s network back with lab class set-lab cs101 … --network bridge.\n',
    );
    expect(
      await openStore(`sqlite:${join(dir, 'lab.db')}`).then(async (s) => {
        const n = (await s.classes.assignmentsOfClass('cs101')).length;
        await s.close();
        return n;
      }),
    ).toBe(0);
    const sdnJson = /### Multi-VM labs[\s\S]*?```json\n([\s\S]*?)```/.exec(readme)![1]!;
    const configPath = join(dir, 'lab.config.json');
    writeFileSync(
      configPath,
      JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), ...JSON.parse(`{${sdnJson}}`) }, null, 2),
    );
    const block = /### Multi-VM labs[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    const lines = block
      .split('\n')
      .map((l) => l.replace(/#.*$/, '').trim())
      .filter(Boolean);
    expect(lines).toEqual([
      'lab class set-lab cs101 attacker=kali-2026 target=metaspl-3:2:4096 --network student --internet none',
      'lab class lab cs101',
      'lab deploy cs101 5',
      'lab destroy cs101 --yes',
    ]);
    const out: Array<Awaited<ReturnType<typeof lab>>> = [];
    for (const line of lines.slice(0, 3)) out.push(await lab(...line.split(' ').slice(1)));
    for (const r of out) expect(r.code, r.stderr).toBe(0);
    expect(out[0]!.stdout).not.toContain('Warning');
    expect(out[2]!.stdout).toContain(
      'Networks: 6 private networks (one per seated student, one for the teacher VMs) in zone labzone, no internet.',
    );
    expect(out[0]!.stdout).toContain(
      'cs101: each student gets 2 VM(s):\n• attacker: kali-2026\n• target: metaspl-3, 2 cores, 4096 MiB',
    );
    expect(out[1]!.stdout).toContain('Network: one private network per student, no internet.');
    // Five students, the teacher and the base, and one copy of the base per node the role's note names.
    const copiedTo = /^attacker: base replicated to (.+?) so /m.exec(out[2]!.stdout)?.[1]?.split(', ') ?? [];
    expect(out[2]!.stdout).toMatch(
      new RegExp(`^attacker: cs101: ${7 + copiedTo.length} created, 0 kept, 0 deleted`, 'm'),
    );
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
      // Each student's two VMs are on that student's VNet (their config in PVE), 5 VNets in all, applied.
      const api = new ProxmoxClient({
        clusterId: 'lab',
        baseUrl: first.url,
        auth: { type: 'token', tokenId: first.tokenId, secret: first.tokenSecret },
        tls: { fingerprint: first.fingerprint },
      });
      try {
        const pve = pveResources(api);
        const all = (await store.sdn.list(students[0]!.clusterId, { classId: 'cs101' })).filter(
          (r) => r.kind === 'vnet',
        );
        // One per student, and the teacher VMs' own (`@teachers`).
        const records = all.filter((r) => r.student !== '@teachers');
        expect(records.map((r) => r.student).sort()).toEqual(STUDENTS);
        const vnetOf = new Map(records.map((r) => [r.student!, r.objectId]));
        expect(new Set(vnetOf.values()).size).toBe(5);
        expect((await pve.sdn.vnets()).map((v) => v.vnet).sort()).toEqual(all.map((r) => r.objectId).sort());
        const teachers = all.find((r) => r.student === '@teachers')!;
        for (const a of (await store.classes.assignmentsOfClass('cs101')).filter((x) => x.role === 'teacher')) {
          const vm = (await store.inventory.get(a.clusterId, a.vmid))!;
          expect(net0Bridge((await pve.qemu(vm.node, a.vmid).config()).net0), vm.name).toBe(teachers.objectId);
        }
        expect(await pve.sdn.pending()).toEqual({ zones: [], vnets: [], subnets: [] });
        const people = new Map((await store.classes.listPeople()).map((p) => [p.id, p.username]));
        for (const a of students) {
          const vm = (await store.inventory.get(a.clusterId, a.vmid))!;
          const config = await pve.qemu(vm.node, a.vmid).config();
          expect(net0Bridge(config.net0), vm.name).toBe(vnetOf.get(people.get(a.personId!)!));
        }

        // The sim's token has the SDN privileges lab doctor now asks for (a class uses networks).
        const doctor = await lab('doctor');
        expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);

        const destroyed = await lab(...lines[3]!.split(' ').slice(1));
        expect(destroyed.code, destroyed.stderr).toBe(0);
        expect(destroyed.stdout).toMatch(/cs101: \d+ VMs destroyed\.\nIts private networks are removed \(SDN /);
        expect(await pve.sdn.vnets({ pending: true })).toEqual([]);
        expect(await pve.sdn.pending()).toEqual({ zones: [], vnets: [], subnets: [] });
        expect(await store.sdn.list(students[0]!.clusterId)).toEqual([]);
      } finally {
        await api.close();
      }
    } finally {
      await store.close();
    }
  }, 240_000);
});

// A class with two roles and a network per student, through the router on a real SQLite store:
// networks only for seated students and one for the teacher VMs, a lost seat's network removed
// after its VMs, /lab versions per role, and the Terraform export's refusal.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as commands from '../src/index.js';
import { openStore } from '@lab/proxmox-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { net0Bridge } from '@lab/proxmox-sdk/network';
import { ids, lab } from './lab-fixture.js';

let env: Awaited<ReturnType<typeof lab>>;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lab-seats-'));
  const store = await openStore(`sqlite:${join(dir, 'lab.db')}`);
  env = await lab(commands, { sdn: { prefix: 'lab' }, store });
  const carol = await store.classes.createPerson({ username: 'carol', displayName: 'Carol', role: 'student' }, 1);
  await store.classes.addMember({ classId: 'cs101', personId: carol.id, role: 'student' });
}, 60_000);
afterAll(async () => {
  await env?.close();
  rmSync(dir, { recursive: true, force: true });
});

const as = (userId: string, command: string, text: string, confirmed = false) =>
  env.router.invoke({ platform: 'slack', userId, command, text, confirmed });
const guest = (name: string) => [...env.sim.state.guests.values()].find((g) => g.config.name === name);
const records = async () =>
  (await env.services.store.sdn.list('lab', { classId: 'cs101' })).filter((r) => r.kind === 'vnet');

describe('a network per seated student, through the router', () => {
  it('builds networks for the seats and the teacher VMs, lists versions per role, and frees a lost seat’s network', async () => {
    const set = await as(ids.teacher, 'class', 'set-lab cs101 attacker=ubuntu target=ubuntu:1:1024 --network student');
    expect(set.error, set.text).toBeFalsy();

    const none = await as(ids.teacher, 'lab', 'versions cs101');
    expect(none.text).toBe(
      'attacker:\n  no template version yet; deploy it first\ntarget:\n  no template version yet; deploy it first',
    );

    // Three enrolled, four seats: a seat without a student has no network to go on; nothing is made.
    const tooMany = await as(ids.teacher, 'lab', 'deploy cs101 4');
    expect(tooMany.error).toBe(true);
    expect(tooMany.text).toContain('1 seat(s) have no student');
    expect(await records()).toEqual([]);

    const deployed = await as(ids.teacher, 'lab', 'deploy cs101 2');
    expect(deployed.error, deployed.text).toBeFalsy();
    expect(deployed.text).toContain(
      'Networks: 3 private networks (one per seated student, one for the teacher VMs) in zone labzone, with internet (SNAT).',
    );
    const built = await records();
    expect(built.map((r) => r.student).sort()).toEqual(['@teachers', 'alice', 'bob']);
    const vnetOf = new Map(built.map((r) => [r.student, r.objectId]));
    expect(net0Bridge(guest('cs101-alice-target')!.config.net0)).toBe(vnetOf.get('alice'));
    expect(net0Bridge(guest('cs101-bob-attacker')!.config.net0)).toBe(vnetOf.get('bob'));
    expect(net0Bridge(guest('cs101-attacker-teacher')!.config.net0)).toBe(vnetOf.get('@teachers'));
    expect(net0Bridge(guest('cs101-target-teacher')!.config.net0)).toBe(vnetOf.get('@teachers'));
    expect(guest('cs101-carol-attacker')).toBeUndefined();

    const versions = await as(ids.teacher, 'lab', 'versions cs101');
    expect(versions.error, versions.text).toBeFalsy();
    expect(versions.text).toMatch(
      /^attacker:\n {2}v1 cs101-attacker-base \(newest\) — date unknown, 2 VM\(s\), on pve1\ntarget:\n {2}v1 cs101-target-base \(newest\) — date unknown, 2 VM\(s\), on pve1$/,
    );
    expect((versions.data as { roles: Array<{ role: string }> }).roles.map((r) => r.role)).toEqual([
      'attacker',
      'target',
    ]);
    const target = await as(ids.teacher, 'lab', 'versions cs101 --role target');
    expect(target.text).toMatch(/^target:\n {2}v1 cs101-target-base /);
    const wrong = await as(ids.teacher, 'lab', 'versions cs101 --role web');
    expect(wrong.error).toBe(true);
    expect(wrong.text).toBe("cs101 has no role 'web' (roles: attacker, target).");

    // A role's published version carries its note, date and author (from its publish).
    const published = await as(ids.teacher, 'lab', 'publish cs101 --role target --note "nmap 7.95"');
    expect(published.error, published.text).toBeFalsy();
    const after = await as(ids.teacher, 'lab', 'versions cs101 --role target');
    expect(after.text).toMatch(
      /^target:\n {2}v1 cs101-target-base — date unknown, 2 VM\(s\), on pve1\n {2}v2 cs101-target-base-v2 \(newest\) — \d{4}-\d{2}-\d{2} by lovelace, 0 VM\(s\), on pve1: nmap 7\.95$/,
    );

    // Terraform cannot express the roles or the networks: refused, saying what to run instead.
    const tf = await as(ids.teacher, 'class', 'export-terraform cs101');
    expect(tf.error).toBe(true);
    expect(tf.text).toContain('Class cs101 gives each student several VMs (attacker=ubuntu target=ubuntu:1:1024)');
    expect(tf.text).toContain('`lab deploy cs101 <seats>`');

    // One seat: bob's VMs are listed per role and deleted on confirm, then his network goes.
    const asked = await as(ids.teacher, 'lab', 'deploy cs101 1');
    expect(asked.confirm).toBeDefined();
    expect(asked.text).toContain(
      'Per role, in this order:\n• attacker (ubuntu): 0 to create, 3 kept, 1 to delete\n• target (ubuntu): 0 to create, 3 kept, 1 to delete',
    );
    const down = await as(ids.teacher, 'lab', 'deploy cs101 1', true);
    expect(down.error, down.text).toBeFalsy();
    expect(down.text).toContain('Removed 1 network(s) of students without a seat.');
    expect(guest('cs101-bob-attacker')).toBeUndefined();
    expect((await records()).map((r) => r.student).sort()).toEqual(['@teachers', 'alice']);
    expect(Object.keys((env.sim.state.sdn.snapshot().running as { vnets: object }).vnets)).not.toContain(
      vnetOf.get('bob'),
    );
  }, 180_000);
});

import * as commands from '../src/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presets, snapshotsOf } from '@lab/pve-sim';
import type { CommandRouter, LabServices } from '../src/index.js';
import { ids, lab } from './lab-fixture.js';

// Snapshots of student VMs through the router, against the simulator over HTTPS: the small preset
// plus a raw directory storage (no snapshots) and a ZFS pool (back to the newest snapshot only).
type Lab = Awaited<ReturnType<typeof lab>>;
let current: Lab;
let router: CommandRouter;
let services: LabServices;

beforeAll(async () => {
  const scenario = structuredClone(presets.small!);
  scenario.storages = [
    ...(scenario.storages ?? []),
    { id: 'rawdir', type: 'dir', nodes: ['pve1', 'pve2'], format: 'raw' },
    { id: 'tank', type: 'zfspool', nodes: ['pve1', 'pve2'] },
  ];
  current = await lab(commands, { sim: { scenario } });
  ({ router, services } = current);
  const deployed = await router.invoke({
    platform: 'slack',
    userId: ids.teacher,
    command: 'lab',
    text: 'deploy cs101 2',
  });
  if (deployed.error) throw new Error(deployed.text);
});
afterAll(() => current?.close());

const run = (userId: string, command: string, text: string, confirmed = false) =>
  router.invoke({ platform: 'slack', userId, command, text, confirmed });
const ok = async (userId: string, command: string, text: string, confirmed = false) => {
  const reply = await run(userId, command, text, confirmed);
  expect(reply.error, reply.text).toBeFalsy();
  return reply;
};
const vmidOf = async (username: string) => {
  const person = (await services.store.classes.getPersonByUsername(username))!;
  return (await services.store.classes.assignmentsOf(person.id)).find((a) => a.classId === 'cs101')!.vmid;
};
const guestOf = async (username: string) => current.sim.state.guests.get(await vmidOf(username))!;
const names = async (username: string) => [...snapshotsOf(await guestOf(username)).keys()];
/** Puts the VM's disk on another storage of the simulator, as if it had been deployed there. */
const moveDisk = async (username: string, storage: string, volname: (vmid: number) => string) => {
  const guest = await guestOf(username);
  guest.config.scsi0 = `${storage}:${volname(guest.vmid)},size=32G`;
};

describe('/myvm snapshot, snapshots, restore and snapshot delete', () => {
  it('takes a snapshot of a linked clone and lists it, within the class limit set by /lab limits', async () => {
    // A linked clone on lvm-thin is a thin snapshot named like any disk (pve-sim BEHAVIOURS.md §T1a).
    const alice = await guestOf('alice');
    expect(alice.config.scsi0).toMatch(/^local-lvm:vm-\d+-disk-0,/);
    expect(
      current.sim.state.storageOn(alice.node, 'local-lvm')!.volumes.get(`vm-${alice.vmid}-disk-0`)?.thinOrigin,
    ).toMatch(/^base-\d+-disk-0$/);
    const took = await ok(ids.alice, 'myvm', 'snapshot before-lab');
    expect(took.text).toMatch(/Took snapshot before-lab of cs101-alice \(1 of 3\)/);
    expect(took.ephemeral).toBe(true);
    expect(await names('alice')).toEqual(['before-lab']);

    const listed = await ok(ids.alice, 'myvm', 'snapshots');
    expect(listed.text).toMatch(/has 1 snapshot\(s\); 1 of your 3 used:\n• before-lab — /);
    expect((listed.data as { snapshots: Array<{ name: string; takenBy: string }> }).snapshots).toMatchObject([
      { name: 'before-lab', takenBy: 'alice', forClass: false },
    ]);

    expect((await ok(ids.teacher, 'lab', 'limits cs101 --max-snapshots 2')).text).toMatch(/snapshots 2 per VM/);
    await ok(ids.alice, 'myvm', 'snapshot');
    const refused = await run(ids.alice, 'myvm', 'snapshot third');
    expect(refused.error).toBe(true);
    expect(refused.text).toMatch(
      /has 2 snapshots \(before-lab, snap-\d{8}-\d{4}\), the most its class allows \(2\); delete one first/,
    );
    expect(await names('alice')).toHaveLength(2);

    const again = await run(ids.alice, 'myvm', 'snapshot delete before-lab');
    expect(again.text).toMatch(/Deleted snapshot before-lab of cs101-alice; it has 1 left/);
    expect(await names('alice')).toHaveLength(1);
    expect((await run(ids.alice, 'myvm', 'snapshot delete nope')).text).toMatch(/has no snapshot 'nope'; it has snap-/);
    expect((await run(ids.alice, 'myvm', 'snapshot current')).text).toMatch(/'current' is reserved/);

    await ok(ids.teacher, 'lab', 'limits cs101 --max-snapshots 0');
    for (const n of ['s1', 's2', 's3']) await ok(ids.alice, 'myvm', `snapshot ${n}`);
    expect(await names('alice')).toHaveLength(4);
    for (const n of ['s1', 's2', 's3']) await ok(ids.alice, 'myvm', `snapshot delete ${n}`);
    await ok(ids.teacher, 'lab', 'limits cs101 --max-snapshots 3');
  });

  it('lets one of two snapshots taken at once pass the limit, never both', async () => {
    await ok(ids.teacher, 'lab', 'limits cs101 --max-snapshots 2');
    const before = (await names('alice')).length;
    expect(before).toBe(1);
    const replies = await Promise.all([
      run(ids.alice, 'myvm', 'snapshot race-a'),
      run(ids.alice, 'myvm', 'snapshot race-b'),
    ]);
    expect(replies.filter((r) => !r.error)).toHaveLength(1);
    expect(replies.find((r) => r.error)?.text).toMatch(/the most its class allows \(2\)/);
    expect(await names('alice')).toHaveLength(2);
    await ok(ids.teacher, 'lab', 'limits cs101 --max-snapshots 3');
    const raced = (await names('alice')).find((n) => n.startsWith('race-'))!;
    await ok(ids.alice, 'myvm', `snapshot delete ${raced}`);
  });

  it('restores only once confirmed, saying that later changes are lost, and starts a running VM again', async () => {
    await ok(ids.alice, 'myvm', 'start');
    await ok(ids.alice, 'myvm', 'snapshot clean');
    const guest = await guestOf('alice');
    guest.config.memory = '4096';
    const asked = await run(ids.alice, 'myvm', 'restore clean');
    expect(asked.confirm?.prompt).toBe('Restore cs101-alice to clean? What changed since is lost.');
    expect(asked.text).toMatch(/everything that changed on it since .* is lost/);
    expect(guest.config.memory).toBe('4096');
    const done = await ok(ids.alice, 'myvm', 'restore clean', true);
    expect(done.text).toBe('cs101-alice is back at snapshot clean and running.');
    expect((await guestOf('alice')).config.memory).toBe('2048');
    expect((await guestOf('alice')).status).toBe('running');
    expect((await services.store.inventory.get('lab', guest.vmid))?.status).toBe('running');
    await ok(ids.alice, 'myvm', 'stop');
  });

  it('refuses with the reason where the storage cannot snapshot (raw image on a directory storage)', async () => {
    await moveDisk('bob', 'rawdir', (vmid) => `${vmid}/vm-${vmid}-disk-0.raw`);
    const refused = await run(ids.bob, 'myvm', 'snapshot x1');
    expect(refused.error).toBe(true);
    expect(refused.text).toMatch(
      /cs101-bob cannot have snapshots: its disk scsi0 is on storage rawdir \(dir, raw\), where Proxmox cannot take snapshots/,
    );
    expect(await names('bob')).toEqual([]);
    const audit = await services.store.audit.list({ action: 'snapshot.take' });
    expect(audit.find((a) => a.actor === 'bob')).toMatchObject({ outcome: 'denied' });
  });

  it('on ZFS restores only the newest snapshot, and says which to delete first', async () => {
    await moveDisk('bob', 'tank', (vmid) => `vm-${vmid}-disk-0`);
    await ok(ids.bob, 'myvm', 'snapshot one');
    await ok(ids.bob, 'myvm', 'snapshot two');
    const refused = await run(ids.bob, 'myvm', 'restore one', true);
    expect(refused.text).toBe(
      "cs101-bob is on storage tank, which goes back only to the newest snapshot; delete two first, then restore 'one'.",
    );
    await ok(ids.bob, 'myvm', 'restore two', true);
    await ok(ids.bob, 'myvm', 'snapshot delete two');
    await ok(ids.bob, 'myvm', 'restore one', true);
  });
});

describe("VmSnapshots refuses VMs that are not the caller's", () => {
  it('refuses another student and a teacher of another class, audited, and changes nothing', async () => {
    const vmid = await vmidOf('alice');
    const before = await names('alice');
    const viewer = async (username: string) => {
      const p = (await services.store.classes.getPersonByUsername(username))!;
      return { personId: p.id, username: p.username, role: p.role };
    };
    await expect(services.snapshots.take(await viewer('bob'), 'lab', vmid, { name: 'mine' })).rejects.toMatchObject({
      code: 'LAB_NOT_ALLOWED',
      message: 'bob may not snapshot VM ' + vmid + ' (cs101-alice): it is not assigned to you',
    });
    await expect(services.snapshots.restore(await viewer('hopper'), 'lab', vmid, before[0]!)).rejects.toMatchObject({
      code: 'LAB_NOT_ALLOWED',
    });
    await expect(services.snapshots.list(await viewer('bob'), 'lab', vmid)).rejects.toMatchObject({
      code: 'LAB_NOT_ALLOWED',
    });
    expect(await names('alice')).toEqual(before);
    const denied = (await services.store.audit.list({ targets: [`lab/${vmid}`] })).filter(
      (a) => a.outcome === 'denied',
    );
    expect(denied.map((a) => [a.actor, a.action])).toEqual(
      expect.arrayContaining([
        ['bob', 'snapshot.take'],
        ['hopper', 'snapshot.restore'],
        ['bob', 'snapshot.list'],
      ]),
    );
  });
});

describe("a teacher's /lab snapshot, restore and delete for the class", () => {
  it('snapshots every student VM for the class, which students may restore but not delete, and counts them in /lab status', async () => {
    await moveDisk('bob', 'local-lvm', (vmid) => `vm-${vmid}-disk-0`);
    const took = await ok(ids.teacher, 'lab', 'snapshot cs101 exam1');
    expect(took.text).toMatch(/^Took a snapshot of 2 of 2 student VM\(s\) of cs101\./);
    expect(await names('alice')).toContain('exam1');
    expect(await names('bob')).toContain('exam1');
    const protectedReply = await run(ids.alice, 'myvm', 'snapshot delete exam1');
    expect(protectedReply.text).toMatch(/was taken by lovelace for the class; only a teacher can delete it/);
    const listed = await ok(ids.alice, 'myvm', 'snapshots');
    expect(listed.text).toMatch(/• exam1 — .*, by lovelace for the class/);

    for (const own of (await names('alice')).filter((n) => n !== 'exam1'))
      await ok(ids.alice, 'myvm', `snapshot delete ${own}`);
    const mine = await ok(ids.alice, 'myvm', 'snapshot mine');
    expect(mine.text).toMatch(/^Took snapshot mine of cs101-alice \(1 of 3\)\./);
    expect(mine.data).toMatchObject({ count: 2, counted: 1, limit: 3 });

    const status = await ok(ids.teacher, 'lab', 'status cs101');
    const count = (await names('alice')).length + (await names('bob')).length;
    expect(status.text).toMatch(new RegExp(`^cs101: \\d+ VMs, ${count} snapshots`));
    expect(status.text).toMatch(new RegExp(`cs101-alice .*${(await names('alice')).length} snapshot`));

    expect((await run(ids.teacher2, 'lab', 'snapshot cs101 x2')).text).toMatch(
      /may not snapshot the VMs of class cs101/,
    );
    expect((await run(ids.alice, 'lab', 'snapshot cs101 x2')).text).toMatch(/is for teachers and admins/);
  });

  it('restores one student or all once confirmed, and deletes the class snapshot from every VM', async () => {
    const both = await run(ids.teacher, 'lab', 'snapshot cs101 restore exam1');
    expect(both.text).toMatch(/Name one student or --all/);
    const asked = await run(ids.teacher, 'lab', 'snapshot cs101 restore exam1 --all');
    expect(asked.confirm?.prompt).toBe('Restore every student VM of cs101 to exam1? What changed since is lost.');
    const bob = await guestOf('bob');
    bob.config.memory = '3072';
    const one = await ok(ids.teacher, 'lab', 'snapshot cs101 restore exam1 bob', true);
    expect(one.text).toMatch(/^Restored exam1 on 1 of 1 student VM\(s\) of cs101\./);
    expect(bob.config.memory).toBe('2048');
    const all = await ok(ids.teacher, 'lab', 'snapshot cs101 restore exam1 --all', true);
    expect(all.text).toMatch(/^Restored exam1 on 2 of 2 student VM\(s\) of cs101\./);
    const deleted = await ok(ids.teacher, 'lab', 'snapshot cs101 delete exam1');
    expect(deleted.text).toMatch(/^Deleted it from 2 of 2/);
    expect(await names('alice')).not.toContain('exam1');
    const audit = await services.store.audit.list({ action: 'snapshot.restore' });
    expect(audit.filter((a) => a.actor === 'lovelace' && a.outcome === 'ok')).toHaveLength(3);
  });

  it('a reset says it removes the snapshots, and the VM has none afterwards', async () => {
    expect(await names('alice')).not.toEqual([]);
    const asked = await run(ids.alice, 'myvm', 'reset');
    expect(asked.confirm?.prompt).toBe('Reset cs101-alice? Its contents and snapshots are lost.');
    expect(asked.text).toMatch(/settings and its snapshots/);
    await ok(ids.alice, 'myvm', 'reset', true);
    expect(await names('alice')).toEqual([]);
    const vmid = await vmidOf('alice');
    expect((await services.store.inventory.get('lab', vmid))?.snapshots).toBe(0);
    expect((await ok(ids.alice, 'myvm', 'snapshots')).text).toBe(
      'cs101-alice has no snapshot yet. Take one with /myvm snapshot [name].',
    );
  });
});

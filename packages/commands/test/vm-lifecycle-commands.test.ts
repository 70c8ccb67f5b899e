import { generateKeyPairSync } from 'node:crypto';
import { createLogger, type LogRecord } from '@lab/proxmox-sdk';
import * as commands from '../src/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CommandRouter, LabServices } from '../src/index.js';
import { ids, runningWindowsVm, useLab } from './lab-fixture.js';

const current = useLab(commands, { deploy: 'cs101 2' });
let env: ReturnType<typeof current>;
let router: CommandRouter;
let services: LabServices;
beforeAll(async () => {
  env = current();
  ({ router, services } = env);
});

const as = (userId: string, command: string, text: string, confirmed = false) =>
  router.invoke({ platform: 'slack', userId, command, text, confirmed });
const vmOf = async (username: string) => {
  const person = (await services.store.classes.getPersonByUsername(username))!;
  const [a] = await services.store.classes.assignmentsOf(person.id);
  return a!;
};

describe('/myvm reset', () => {
  it('asks first, saying what is lost, and changes nothing unconfirmed', async () => {
    const before = await vmOf('alice');
    const guest = env.sim.state.guests.get(before.vmid);
    const ask = await as(ids.alice, 'myvm', 'reset');
    expect(ask.confirm).toBeDefined();
    expect(ask.text).toContain('Everything on it is lost');
    expect(ask.text).toContain('cs101-base');
    expect(env.sim.state.guests.get(before.vmid)).toBe(guest);
  });

  it('re-creates the caller’s VM with the same name, VMID and assignment; the classmate’s VM is untouched', async () => {
    const alice = await vmOf('alice');
    const bob = await vmOf('bob');
    const aliceGuest = env.sim.state.guests.get(alice.vmid);
    const bobGuest = env.sim.state.guests.get(bob.vmid);
    const done = await as(ids.alice, 'myvm', 'reset', true);
    expect(done.error, done.text).toBeFalsy();
    expect(done.text).toContain('re-created from cs101-base');
    const fresh = env.sim.state.guests.get(alice.vmid)!;
    expect(fresh).not.toBe(aliceGuest);
    expect(fresh.config.name).toBe('cs101-alice');
    expect(await vmOf('alice')).toMatchObject({ vmid: alice.vmid, classId: 'cs101', role: 'student' });
    expect(env.sim.state.guests.get(bob.vmid)).toBe(bobGuest);
  });
});

describe('a VM while it is being reset', () => {
  /** Waits until `check` holds, polling; the deadline only bounds a hang, it is not a performance limit. */
  async function eventually(check: () => Promise<boolean> | boolean): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!(await check()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  it('is named as being reset by /myvm start, /myvm connect and /lab status, even once the sync saw it gone', async () => {
    const alice = await vmOf('alice');
    const rule = env.sim.faults.add({
      method: 'POST',
      path: '/nodes/{node}/qemu/{vmid}/clone',
      kind: 'delay',
      delayMs: 4000,
      count: 1,
    });
    const reset = as(ids.alice, 'myvm', 'reset', true);
    try {
      await eventually(() => !env.sim.state.guests.has(alice.vmid));
      expect(env.sim.state.guests.has(alice.vmid), 'the old VM is destroyed, the clone delayed').toBe(false);
      const beingReset =
        /^cs101-alice is being reset \(since \w{3} \d{1,2} \w{3} \d{4} \d\d:\d\d \S+\); try again in a few minutes\.$/;
      for (const stage of ['destroyed', 'gone from the inventory'] as const) {
        if (stage === 'gone from the inventory') {
          await services.sync!.quickSync({ force: true });
          expect((await services.store.inventory.get('lab', alice.vmid))?.goneAt).not.toBeNull();
        }
        const start = await as(ids.alice, 'myvm', 'start');
        expect(start, stage).toMatchObject({ error: true, ephemeral: true });
        expect(start.text, stage).toMatch(beingReset);
        expect((await as(ids.alice, 'myvm', 'connect')).text, stage).toMatch(beingReset);
        expect((await as(ids.alice, 'myvm', 'start cs101-alice')).text, stage).toMatch(beingReset);
        const status = await as(ids.teacher, 'lab', 'status cs101');
        expect(status.text, stage).toMatch(
          new RegExp(`\ncs101-alice \\(${alice.vmid}\\)(?: on pve\\d)?: being reset since [^\\n]+ — alice(\n|$)`),
        );
      }
    } finally {
      const done = await reset;
      expect(done.error, done.text).toBeFalsy();
      expect(env.sim.faults.list()[rule]!.hits).toBe(1);
    }
    expect((await as(ids.alice, 'myvm', 'start')).text).toMatch(/^cs101-alice \(\d+\) is running\.$/);
  });
});

describe('/lab reset', () => {
  it('resets one student or all of them for the class’s teacher, after confirming; others are refused', async () => {
    expect((await as(ids.teacher2, 'lab', 'reset cs101 bob', true)).error).toBe(true);
    expect((await as(ids.teacher, 'lab', 'reset cs101')).text).toContain('Name students or --all');
    const ask = await as(ids.teacher, 'lab', 'reset cs101 --all');
    expect(ask.confirm).toBeDefined();
    expect(ask.text).toMatch(/deletes 2 VM\(s\) of cs101/);
    expect(ask.text).toContain("bob's");
    const bob = await vmOf('bob');
    const bobGuest = env.sim.state.guests.get(bob.vmid);
    const one = await as(ids.teacher, 'lab', 'reset cs101 bob', true);
    expect(one.error, one.text).toBeFalsy();
    expect(env.sim.state.guests.get(bob.vmid)).not.toBe(bobGuest);
    const all = await as(ids.teacher, 'lab', 'reset cs101 --all', true);
    expect(all.error, all.text).toBeFalsy();
    expect((all.data as { vms: unknown[] }).vms).toHaveLength(2);
  });

  it('resets several named students in one confirmed run, listing each VM first', async () => {
    const ask = await as(ids.teacher, 'lab', 'reset cs101 alice bob');
    expect(ask.confirm?.prompt).toBe('Reset 2 VM(s) of cs101? Their contents and snapshots are lost.');
    expect(ask.text).toMatch(/alice's/);
    expect(ask.text).toMatch(/bob's/);
    const done = await as(ids.teacher, 'lab', 'reset cs101 alice bob', true);
    expect(done.error, done.text).toBeFalsy();
    const owners = (done.data as { vms: Array<{ owner: string }> }).vms.map((v) => v.owner).sort();
    expect(owners).toEqual(['alice', 'bob']);
    const unknown = await as(ids.teacher, 'lab', 'reset cs101 alice nobody');
    expect(unknown).toMatchObject({ error: true });
    expect(unknown.text).toMatch(/nobody has no VM in cs101 to reset/);
  });
});

describe('/myvm sshkey and /class set-login', () => {
  const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.alloc(36, 3)]).toString(
    'base64',
  );
  const key = `ssh-ed25519 ${blob} bob@laptop`;

  it('keeps a student’s validated keys, lists them with fingerprints and removes one by number', async () => {
    const bad = await as(ids.bob, 'myvm', 'sshkey add ssh-ed25519 nope');
    expect(bad.error).toBe(true);
    expect(bad.text).toContain('not an OpenSSH public key');
    const added = await as(ids.bob, 'myvm', `sshkey add ${key}`);
    expect(added.error, added.text).toBeFalsy();
    expect(added.text).toMatch(/^Added ssh-ed25519 SHA256:/);
    expect((await as(ids.bob, 'myvm', `sshkey add ${key}`)).text).toContain('You have that key already');
    expect((await as(ids.bob, 'myvm', 'sshkey list')).text).toMatch(/^1\. ssh-ed25519 SHA256:\S+ bob@laptop$/);
    expect((await as(ids.bob, 'myvm', 'sshkey remove 1')).text).toMatch(/^Removed ssh-ed25519/);
    expect((await as(ids.bob, 'myvm', 'sshkey list')).text).toContain('no SSH key yet');
  });

  it('puts the class login user and the student’s key on the VM at its reset', async () => {
    await as(ids.bob, 'myvm', `sshkey add ${key}`);
    const set = await as(ids.teacher, 'class', 'set-login cs101 student --ipconfig0 ip=dhcp');
    expect(set.error, set.text).toBeFalsy();
    expect(set.text).toContain('the VM name is the hostname');
    expect((await as(ids.bob, 'myvm', 'reset', true)).error).toBeFalsy();
    const vm = env.sim.state.guests.get((await vmOf('bob')).vmid)!;
    expect(vm.config).toMatchObject({ ciuser: 'student', ipconfig0: 'ip=dhcp' });
    expect(decodeURIComponent(vm.config.sshkeys!)).toBe(key);
  });
});

describe('/myvm sshkey add with a private key', () => {
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0none\0none\0'), Buffer.alloc(300, 7)]).toString('base64');
  const lines = body.match(/.{1,70}/g)!;
  const openssh = ['-----BEGIN OPENSSH PRIVATE KEY-----', ...lines, '-----END OPENSSH PRIVATE KEY-----'].join('\n');
  const pkcs8 = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const secret = lines[2]!;

  it.each([
    ['an OpenSSH key block', openssh],
    ['the block with its lines joined by spaces, as chat re-wraps it', openssh.replace(/\n/g, ' ')],
    ['the armour split across lines', openssh.replace('OPENSSH PRIVATE KEY', 'OPENSSH PRIVATE\nKEY')],
    ['a PKCS#8 PEM key', pkcs8],
    ['an RSA PEM key', `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----`],
    ['the OpenSSH key body alone', lines.join(' ')],
  ])('refuses %s, never echoing, storing or logging it, and asks for the .pub file', async (_, pasted) => {
    const records: LogRecord[] = [];
    const logged = new commands.CommandRouter(
      { ...services, logger: createLogger({ level: 'debug', sink: (r) => records.push(r) }) },
      commands.builtinPlugins,
    );
    const auditBefore = (await services.store.audit.list({ limit: 1000 })).length;
    for (const invocation of [
      { platform: 'slack' as const, userId: ids.bob, command: 'myvm', text: `sshkey add ${pasted}` },
      {
        platform: 'discord' as const,
        userId: 'ubob-discord',
        command: 'myvm',
        subcommand: 'sshkey',
        options: { action: 'add', key: pasted },
      },
    ]) {
      const reply = await logged.invoke(invocation);
      expect(reply).toMatchObject({ error: true, ephemeral: true });
      expect(reply.text).toMatch(
        /^That is a private key; it was not stored or logged\. .*paste your public key instead, the one line of your \.pub file/,
      );
      expect(reply.text).not.toContain(secret.slice(0, 20));
    }
    const person = (await services.store.classes.getPersonByUsername('bob'))!;
    expect((await services.store.sshKeys.list(person.id)).some((k) => k.key.includes(secret.slice(0, 20)))).toBe(false);
    expect(records.length).toBeGreaterThan(0);
    expect(JSON.stringify(records)).not.toContain(secret.slice(0, 20));
    const audit = await services.store.audit.list({ limit: 1000 });
    expect(audit.length).toBe(auditBefore + 2);
    expect(JSON.stringify(audit)).not.toContain(secret.slice(0, 20));
  });
});

describe('/myvm sshkey with a comment beyond ASCII', () => {
  const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.alloc(36, 5)]).toString(
    'base64',
  );

  it('keeps a UTF-8 comment and puts the key on the VM as written; refuses invisible characters', async () => {
    const key = `ssh-ed25519 ${blob} Jürgen@Straße-laptop`;
    const added = await as(ids.bob, 'myvm', `sshkey add ${key}`);
    expect(added.error, added.text).toBeFalsy();
    expect((await as(ids.bob, 'myvm', 'sshkey list')).text).toMatch(/ Jürgen@Straße-laptop$/m);
    expect((await as(ids.bob, 'myvm', 'reset', true)).error).toBeFalsy();
    const vm = env.sim.state.guests.get((await vmOf('bob')).vmid)!;
    expect(decodeURIComponent(vm.config.sshkeys!).split('\n')).toContain(key);
    const bidi = await as(ids.bob, 'myvm', `sshkey add ssh-ed25519 ${blob} evil\u202egpj.exe`);
    expect(bidi.error).toBe(true);
    expect(bidi.text).toContain('the comment must be printable text');
  });
});

describe('/class set-login on a template without cloud-init', () => {
  it('saves the login but says the VMs get no login user or SSH keys from it', async () => {
    const { store, catalog } = services;
    const windows = await catalog.create({
      name: 'win11',
      memory: 4096,
      cores: 2,
      mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9001 }],
    });
    const teacher = (await store.classes.getPersonByUsername('lovelace'))!;
    await store.classes.createClass({ id: 'win201', name: 'Win', templateId: windows.id, ownerId: teacher.id }, 1);
    const set = await as(ids.teacher, 'class', 'set-login win201 student');
    expect(set.error, set.text).toBeFalsy();
    expect(set.text).toBe(
      'Saved, but template win11 of win201 has no cloud-init drive, so its VMs get no login user, SSH keys or network from this; add a cloud-init drive to the template (qm set <vmid> --ide2 local-lvm:cloudinit) or set up logins inside it.',
    );
    expect(await store.classLifecycle.settings('win201')).toMatchObject({ loginUser: 'student' });
    expect((await as(ids.teacher, 'class', 'set-login cs101 student')).text).toContain('with their SSH keys');
  });
});

describe('/myvm connect', () => {
  it('refreshes the VM now and gives the ssh line of the class login, or an .rdp file for Windows', async () => {
    const linux = await as(ids.bob, 'myvm', 'connect');
    expect(linux.error, linux.text).toBeTruthy();
    expect(linux.text).toMatch(/is stopped; start it first/);
    const bob = (await vmOf('bob')).vmid;
    Object.assign(env.sim.state.guests.get(bob)!, { status: 'running', startedAt: 0, agentReadyAt: 0 });
    env.sim.state.guests.get(bob)!.config.agent = '1';
    const ssh = await as(ids.bob, 'myvm', 'connect');
    expect(ssh.text).toMatch(/^cs101-bob: 127\.10\.\d+\.\d+\. Connect with ssh student@127\.10\.\d+\.\d+\./);
    expect(ssh.attachments).toBeUndefined();

    const vmid = await runningWindowsVm(env, 'alice');
    const win = await as(ids.alice, 'myvm', `connect ${vmid}`);
    expect(win.error, win.text).toBeFalsy();
    expect(win.text).toContain('Remote Desktop to 127.10.');
    expect(win.attachments).toEqual([
      {
        filename: 'win1-alice.rdp',
        contentType: 'application/x-rdp',
        content: expect.stringMatching(/^full address:s:127\.10\.\d+\.\d+:3389\r\nusername:s:alice\r\n/),
      },
    ]);
  });
});

describe('/class unenrol', () => {
  it("takes the student's VMs of the class from them, kept as free seats, and says so", async () => {
    const bob = await vmOf('bob');
    const vm = (await services.store.inventory.get(bob.clusterId, bob.vmid))!;
    const reply = await as(ids.teacher, 'class', 'unenrol cs101 bob');
    expect(reply.error).toBeFalsy();
    expect(reply.text).toBe(
      `Unenrolled bob from cs101. ${vm.name} (${bob.vmid}): no longer theirs, kept as a free seat until the next deploy.`,
    );
    expect(await services.store.classes.assignment(bob.clusterId, bob.vmid)).toMatchObject({
      classId: 'cs101',
      personId: null,
      role: 'student',
    });
    const start = await as(ids.bob, 'myvm', 'start');
    expect(start.error).toBe(true);
    expect(start.text).toMatch(/^You have no VM yet/);
  });
});

import { generatedCloudinit, startPveSim } from '@lab/pve-sim';
import { describe, expect, it } from 'vitest';
import { InvalidSshKeyError, PrivateKeyGivenError, PveHttpError } from '../src/errors/index.js';
import { parseSshPublicKey } from '../src/people/ssh-keys.js';
import { decodeSshKeys, encodeSshKeys } from '../src/deploy/cloud-init.js';
import { sshKeyRecord } from '../src/people/ssh-keys.js';
import { labOver } from './deployment-fixture.js';

// Real-format keys: the blob starts with the type name, as ssh-keygen writes it.
const blob = (type: string, body: number) =>
  Buffer.concat([Buffer.from([0, 0, 0, type.length]), Buffer.from(type), Buffer.alloc(body, 7)]).toString('base64');
const ED25519 = `ssh-ed25519 ${blob('ssh-ed25519', 36)} alice@laptop`;
const RSA = `ssh-rsa ${blob('ssh-rsa', 270)} alice on the lab PC`;

describe('SSH public keys', () => {
  it('are accepted as type + base64 + optional comment for the OpenSSH key types, with a SHA256 fingerprint', () => {
    const key = parseSshPublicKey(`  ${ED25519}\n`);
    expect(key).toMatchObject({ type: 'ssh-ed25519', comment: 'alice@laptop', line: ED25519 });
    expect(key.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(parseSshPublicKey(RSA).comment).toBe('alice on the lab PC');
    expect(
      parseSshPublicKey(`sk-ssh-ed25519@openssh.com ${blob('sk-ssh-ed25519@openssh.com', 60)}`).comment,
    ).toBeNull();
    for (const type of ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'])
      expect(parseSshPublicKey(`${type} ${blob(type, 80)}`).type).toBe(type);
  });

  it('are refused with a reason: unknown type, not base64, a blob of another type, a private key, two lines', () => {
    const reasons = [
      `ssh-dss ${blob('ssh-dss', 300)}`,
      'ssh-ed25519 not*base64',
      `ssh-ed25519 ${blob('ssh-rsa', 270)}`,
      `ssh-ed25519 ${blob('ssh-ed25519', 36).slice(0, 12)}`,
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      `${ED25519}\n${RSA}`,
      'ssh-ed25519',
    ].map((text) => {
      try {
        parseSshPublicKey(text);
        return 'accepted';
      } catch (error) {
        expect(error instanceof InvalidSshKeyError || error instanceof PrivateKeyGivenError).toBe(true);
        return (error as InvalidSshKeyError).code;
      }
    });
    expect(reasons).toEqual([
      ...Array(4).fill('LAB_SSH_KEY_INVALID'),
      'LAB_SSH_PRIVATE_KEY',
      ...Array(2).fill('LAB_SSH_KEY_INVALID'),
    ]);
  });

  it('are encoded for PVE with %20 for spaces and %0A between keys, and decoded back', () => {
    const value = encodeSshKeys([ED25519, RSA]);
    expect(value).not.toMatch(/[ +\n/=]/);
    expect(value).toMatch(/^ssh-ed25519%20/);
    expect(value).toContain('%0Assh-rsa%20');
    expect(decodeSshKeys(value)).toEqual([ED25519, RSA]);
  });
});

describe('cloud-init of student VMs', () => {
  it('sets the login user, the student’s keys and the class network before first boot; the simulator stores sshkeys encoded as PVE does', async () => {
    const sim = await startPveSim({ timeScale: 200 });
    const { api, store, engine, catalog } = await labOver(sim);
    try {
      const alice = (await store.classes.getPersonByUsername('alice'))!;
      for (const [i, line] of [ED25519, RSA].entries())
        await store.sshKeys.add(sshKeyRecord(alice.id, parseSshPublicKey(line), 10 + i));
      await store.classLifecycle.saveSettings({ classId: 'cs101', loginUser: null, ipconfig0: 'ip=dhcp' });
      expect((await engine.deploy({ classId: 'cs101', count: 2, template: 'ubuntu' })).status).toBe('done');

      const [assignment] = await store.classes.assignmentsOf(alice.id);
      const vm = sim.state.guests.get(assignment!.vmid)!;
      expect(vm.status).toBe('stopped');
      expect(vm.config.ciuser).toBe('alice');
      expect(vm.config.ipconfig0).toBe('ip=dhcp');
      expect(vm.config.sshkeys).toMatch(/^[-%a-zA-Z0-9_.!~*'()]+$/);
      expect(decodeURIComponent(vm.config.sshkeys!).split('\n')).toEqual([ED25519, RSA]);
      expect(generatedCloudinit(vm)).toMatchObject({
        ciuser: 'alice',
        sshkeys: vm.config.sshkeys,
        name: 'cs101-alice',
      });
      const bob = (await store.classes.getPersonByUsername('bob'))!;
      const bobVm = sim.state.guests.get((await store.classes.assignmentsOf(bob.id))[0]!.vmid)!;
      expect(bobVm.config.ciuser).toBe('bob');
      expect(bobVm.config.sshkeys).toBeUndefined();

      // A reset applies it again to the new VM; a second reset changes nothing more.
      await store.classLifecycle.saveSettings({ classId: 'cs101', loginUser: 'student', ipconfig0: null });
      await (
        await engine.applyReset(await engine.planReset({ classId: 'cs101', usernames: ['alice'] }))
      ).done;
      expect(sim.state.guests.get(assignment!.vmid)!.config).toMatchObject({
        ciuser: 'student',
        sshkeys: vm.config.sshkeys,
      });

      // A template without a cloud-init drive: its VMs are left alone.
      await catalog.create({
        name: 'windows',
        memory: 4096,
        cores: 2,
        mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9001 }],
      });
      await store.classes.createClass({ id: 'win1', name: 'Windows', templateId: null, ownerId: null }, 1);
      await store.classes.addMember({ classId: 'win1', personId: alice.id, role: 'student' });
      expect((await engine.deploy({ classId: 'win1', count: 1, template: 'windows' })).status).toBe('done');
      const winVm = [...sim.state.guests.values()].find((g) => g.config.name === 'win1-alice')!;
      expect(winVm.config.ciuser).toBeUndefined();
      expect(winVm.config.sshkeys).toBeUndefined();
      expect(generatedCloudinit(winVm)).toBeUndefined();
    } finally {
      await api.close();
      await sim.close();
    }
  });

  it('is refused by the simulator, as by PVE, when sshkeys is not URL-encoded or not a key', async () => {
    const sim = await startPveSim({ timeScale: 200 });
    const { api } = await labOver(sim);
    try {
      const put = (sshkeys: string) =>
        api.put('/nodes/pve1/qemu/9000/config', { sshkeys }).then(
          () => 'ok',
          (e: unknown) => (e instanceof PveHttpError ? `${e.status} ${e.pveMessage}` : String(e)),
        );
      expect(await put(ED25519)).toMatch(/^400 /);
      expect(await put(encodeURIComponent('not a key'))).toBe('500 SSH public key validation error');
      expect(await put(encodeSshKeys([ED25519]))).toBe('ok');
    } finally {
      await api.close();
      await sim.close();
    }
  });
});

import * as commands from '../src/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CommandRouter, LabServices } from '../src/index.js';
import { ids, useLab } from './lab-fixture.js';

const current = useLab(commands);
let env: ReturnType<typeof current>;
let router: CommandRouter;
let services: LabServices;
beforeAll(async () => {
  env = current();
  ({ router, services } = env);
  await services.catalog.create({
    name: 'windows',
    memory: 4096,
    cores: 2,
    mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9001 }],
  });
});

const as = (userId: string, command: string, text: string, confirmed = false) =>
  router.invoke({ platform: 'slack', userId, command, text, confirmed });
const guest = (name: string) => [...env.sim.state.guests.values()].find((g) => g.config.name === name);
const studentGuests = () =>
  [...env.sim.state.guests.values()].filter(
    (g) => (g.config.tags ?? '').includes('class-cs101') && (g.config.tags ?? '').includes('role-student'),
  );

describe('a class with two roles per student, through the router', () => {
  it('sets the lab (teachers only), shows it, and deploys one VM per student and role', async () => {
    const refused = await as(ids.alice, 'class', 'set-lab cs101 attacker=ubuntu');
    expect(refused.error).toBe(true);
    const bad = await as(ids.teacher, 'class', 'set-lab cs101 attacker=nope');
    expect(bad.error).toBe(true);
    expect(bad.text).toContain("no active template 'nope'");
    const set = await as(
      ids.teacher,
      'class',
      'set-lab cs101 attacker=ubuntu target=windows:1:1024 --network student --internet none',
    );
    expect(set.error, set.text).toBeFalsy();
    expect(set.text).toContain('• target: windows, 1 cores, 1024 MiB');
    expect(await services.store.labDefinitions.get('cs101')).toMatchObject({
      roles: [
        { name: 'attacker', template: 'ubuntu', cores: null, memory: null },
        { name: 'target', template: 'windows', cores: 1, memory: 1024 },
      ],
      network: { mode: 'student', zone: null, internet: 'none' },
      updatedBy: 'lovelace',
    });
    // This lab has no `sdn` settings: set-lab warns, and the deploy is refused before anything is created.
    expect(set.text).toContain('Warning: this lab has no SDN settings, so /lab deploy cs101 will be refused');
    const shown = await as(ids.teacher, 'class', 'lab cs101');
    expect(shown.text).toContain('one private network per student, no internet');
    const refusedDeploy = await as(ids.teacher, 'lab', 'deploy cs101 2');
    expect(refusedDeploy.error).toBe(true);
    expect(refusedDeploy.text).toContain(
      'cs101 asks for private networks (one per student) but cluster lab has no SDN settings: add an "sdn" section to lab.config.json',
    );
    expect(studentGuests()).toEqual([]);
    // The templates' own bridge needs no SDN.
    const bridged = await as(ids.teacher, 'class', 'set-lab cs101 attacker=ubuntu target=windows:1:1024');
    expect(bridged.text).not.toContain('Warning');

    const deployed = await as(ids.teacher, 'lab', 'deploy cs101 2');
    expect(deployed.error, deployed.text).toBeFalsy();
    expect(deployed.text).toMatch(/^attacker: cs101: 4 created/);
    expect(deployed.text).toMatch(/\ntarget: cs101: \d+ created/);
    expect(
      studentGuests()
        .map((g) => g.config.name)
        .sort(),
    ).toEqual(['cs101-alice-attacker', 'cs101-alice-target', 'cs101-bob-attacker', 'cs101-bob-target']);
    for (const u of ['alice', 'bob']) expect(guest(`cs101-${u}-target`)!.node).toBe(guest(`cs101-${u}-attacker`)!.node);
  });

  it('/myvm start target starts only that VM; a role is needed to connect; start with none starts the set', async () => {
    const start = await as(ids.alice, 'myvm', 'start target');
    expect(start.error, start.text).toBeFalsy();
    expect(start.text).toMatch(/^cs101-alice-target \(\d+\) is running\.$/);
    expect(guest('cs101-alice-target')!.status).toBe('running');
    expect(guest('cs101-alice-attacker')!.status).toBe('stopped');
    expect(guest('cs101-bob-target')!.status).toBe('stopped');

    const connect = await as(ids.alice, 'myvm', 'connect');
    expect(connect.error).toBe(true);
    expect(connect.text).toMatch(/say which: \/myvm connect attacker \(cs101-alice-attacker\), \/myvm connect target/);
    expect((await as(ids.alice, 'myvm', 'connect target')).text).toContain('cs101-alice-target');

    const all = await as(ids.alice, 'myvm', 'start');
    expect(all.error, all.text).toBeFalsy();
    expect(guest('cs101-alice-attacker')!.status).toBe('running');
    expect(guest('cs101-bob-attacker')!.status).toBe('stopped');
    const stop = await as(ids.alice, 'myvm', 'stop');
    expect(stop.text.split('\n')).toHaveLength(2);
    expect(guest('cs101-alice-attacker')!.status).toBe('stopped');
    expect(guest('cs101-alice-target')!.status).toBe('stopped');
  });

  it("a student cannot act on another student's role VM", async () => {
    const bobTarget = guest('cs101-bob-target')!;
    for (const named of [String(bobTarget.vmid), 'cs101-bob-target']) {
      const reply = await as(ids.alice, 'myvm', `start ${named}`);
      expect(reply.error).toBe(true);
      expect(reply.text).toContain(`You have no VM '${named}'`);
    }
    expect(bobTarget.status).toBe('stopped');
    const bobs = await as(ids.bob, 'myvm', 'start target');
    expect(bobs.text).toMatch(/^cs101-bob-target \(\d+\) is running\.$/);
    expect(guest('cs101-alice-target')!.status).toBe('stopped');
  });

  it('/lab reset --role re-creates only that role of the student; /lab publish needs a role', async () => {
    const target = guest('cs101-alice-target')!;
    const attacker = guest('cs101-alice-attacker')!;
    const ask = await as(ids.teacher, 'lab', 'reset cs101 alice --role target');
    expect(ask.confirm).toBeDefined();
    expect(ask.text).toContain('from cs101-target-base');
    const done = await as(ids.teacher, 'lab', 'reset cs101 alice --role target', true);
    expect(done.error, done.text).toBeFalsy();
    expect(guest('cs101-alice-target')).not.toBe(target);
    expect(guest('cs101-alice-attacker')).toBe(attacker);
    const rebuild = await as(ids.teacher, 'lab', 'rebuild cs101');
    expect(rebuild.confirm).toBeDefined();
    expect(rebuild.text).toContain(
      'deletes its 4 student VM(s) and creates them again from cs101-attacker-base, cs101-target-base',
    );
    const publish = await as(ids.teacher, 'lab', 'publish cs101');
    expect(publish.error).toBe(true);
    expect(publish.text).toContain('/lab publish cs101 --role attacker');
  });
});

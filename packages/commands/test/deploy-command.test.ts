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
});

const deploy = (text: string, confirmed = false) =>
  router.invoke({ platform: 'slack', userId: ids.teacher, command: 'lab', text, confirmed });
const guestsOf = (klass: string) =>
  [...env.sim.state.guests.values()].filter((g) => (g.config.tags ?? '').split(';').includes(`class-${klass}`));

describe('/lab deploy', () => {
  it('asks before a smaller deploy deletes VMs, lists them with their owners, and deletes nothing unconfirmed', async () => {
    expect((await deploy('deploy cs101 2')).error).toBeFalsy();
    expect(guestsOf('cs101')).toHaveLength(4);
    const ask = await deploy('deploy cs101 1');
    expect(ask.confirm).toBeDefined();
    expect(ask.error).toBeFalsy();
    expect(ask.text).toContain('deletes 1');
    expect(ask.text).toMatch(/^Deploying cs101 with 1 seat creates /);
    expect(ask.text).toMatch(/cs101-bob \(\d+ on pve\d, bob's\)/);
    expect(ask.text).toContain('1 enrolled student(s) get no VM: bob');
    expect(guestsOf('cs101')).toHaveLength(4);
    const done = await deploy('deploy cs101 1', true);
    expect(done.error, done.text).toBeFalsy();
    expect(done.text).toMatch(
      /^cs101: 0 created, 3 kept, 1 deleted in [\d.]+ s\.\nwithout a VM \(no seat left\): bob$/,
    );
    expect(
      guestsOf('cs101')
        .map((g) => g.config.name)
        .sort(),
    ).toEqual(['cs101-alice', 'cs101-base', 'cs101-teacher']);
  });

  it('answers a second deploy of a class that is running with who started it', async () => {
    let second: Promise<commands.Reply> | undefined;
    const first = router.invoke({
      platform: 'slack',
      userId: ids.teacher,
      command: 'lab',
      text: 'deploy cs101 2',
      onProgress: () => {
        second ??= router.invoke({ platform: 'slack', userId: ids.admin, command: 'lab', text: 'deploy cs101 2' });
      },
    });
    expect((await first).error).toBeFalsy();
    expect(second).toBeDefined();
    await expectRefused(await second!);
  });

  it('counts progress up to its total when the deploy keeps VMs, and every step renders as a bar', async () => {
    expect((await deploy('deploy cs101 2', true)).error).toBeFalsy();
    const updates: commands.ProgressUpdate[] = [];
    const done = await router.invoke({
      platform: 'slack',
      userId: ids.teacher,
      command: 'lab',
      text: 'deploy cs101 1',
      confirmed: true,
      onProgress: (u) => updates.push(u),
    });
    expect(done.error, done.text).toBeFalsy();
    expect(done.text).toMatch(/^cs101: 0 created, 3 kept, 1 deleted/);
    expect(updates.length).toBeGreaterThan(0);
    for (const u of updates) expect(u.done, JSON.stringify(u)).toBeLessThanOrEqual(u.total);
    expect(updates.at(-1)).toMatchObject({ done: 1, total: 1 });
    for (const u of updates) expect(() => commands.renderProgressBar(u)).not.toThrow();
  });
});

async function expectRefused(second: commands.Reply): Promise<void> {
  expect(second.error).toBe(true);
  expect(second.ephemeral).toBe(true);
  expect(second.text).toMatch(
    /^A deployment of cs101 started by lovelace at .* is still running; wait for it to finish, then try again\. If the process that ran it has stopped, it is taken over automatically within about 30 s: run the command again then\.$/,
  );
}

describe('/lab adopt', () => {
  it('takes a VM into a class, for a teacher of the class only', async () => {
    const vm = [...env.sim.state.guests.values()].find((g) => g.config.name === 'dns')!;
    const refused = await router.invoke({
      platform: 'slack',
      userId: ids.teacher2,
      command: 'lab',
      text: `adopt ${vm.vmid} cs101 alice`,
    });
    expect(refused.error).toBe(true);
    expect(vm.config.tags ?? '').not.toContain('class-cs101');
    const other = await router.invoke({
      platform: 'slack',
      userId: ids.teacher,
      command: 'lab',
      text: `adopt ${vm.vmid} cs101 carol`,
    });
    expect(other.text).toBe('carol is not a student of cs101; enrol them first.');
    const fine = await router.invoke({
      platform: 'slack',
      userId: ids.teacher,
      command: 'lab',
      text: `adopt ${vm.vmid} cs101`,
    });
    expect(fine.error, fine.text).toBeFalsy();
    expect(vm.config.tags).toBe('class-cs101;lab;role-student');
    expect(await services.store.classes.assignment('lab', vm.vmid)).toMatchObject({ classId: 'cs101', personId: null });
  });
});

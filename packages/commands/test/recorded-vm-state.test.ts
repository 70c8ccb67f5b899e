import * as commands from '../src/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CommandRouter, LabServices } from '../src/index.js';
import { ids, useLab } from './lab-fixture.js';

// What the store says about a VM right after our own action, before any sync: the state we caused.
const current = useLab(commands, { deploy: 'cs101 2' });
let router: CommandRouter;
let services: LabServices;
beforeAll(() => {
  ({ router, services } = current());
});

const as = async (userId: string, command: string, text: string, confirmed = false) => {
  const reply = await router.invoke({ platform: 'slack', userId, command, text, confirmed });
  expect(reply.error, reply.text).toBeFalsy();
  return reply;
};
const vmidOf = async (username: string) => {
  const person = (await services.store.classes.getPersonByUsername(username))!;
  return (await services.store.classes.assignmentsOf(person.id))[0]!.vmid;
};
/** The inventory row's status, beside the simulator's. */
const recorded = async (username: string) => {
  const vmid = await vmidOf(username);
  return {
    status: (await services.store.inventory.get('lab', vmid))!.status,
    simulator: current().sim.state.guests.get(vmid)!.status,
  };
};

describe('the store records the state our own actions leave a VM in, at once', () => {
  it('after /myvm start, stop and restart', async () => {
    await as(ids.alice, 'myvm', 'start');
    expect(await recorded('alice')).toEqual({ status: 'running', simulator: 'running' });
    await as(ids.alice, 'myvm', 'restart');
    expect(await recorded('alice')).toEqual({ status: 'running', simulator: 'running' });
    await as(ids.alice, 'myvm', 'stop');
    expect(await recorded('alice')).toEqual({ status: 'stopped', simulator: 'stopped' });
  });

  it('after /myvm reset of a running VM, which is started again, and its usage interval is open', async () => {
    await as(ids.alice, 'myvm', 'start');
    await as(ids.alice, 'myvm', 'reset', true);
    expect(await recorded('alice')).toEqual({ status: 'running', simulator: 'running' });
    const usage = await services.store.usage.intervals([{ clusterId: 'lab', vmid: await vmidOf('alice') }]);
    expect(usage.at(-1)?.endedAt).toBeNull();
  });

  it('after /lab reset of one running student VM and /lab rebuild of the class', async () => {
    await as(ids.bob, 'myvm', 'start');
    await as(ids.teacher, 'lab', 'reset cs101 bob', true);
    expect(await recorded('bob')).toEqual({ status: 'running', simulator: 'running' });
    await as(ids.teacher, 'lab', 'rebuild cs101', true);
    expect(await recorded('alice')).toEqual({ status: 'running', simulator: 'running' });
    expect(await recorded('bob')).toEqual({ status: 'running', simulator: 'running' });
  });

  it('after /lab publish, which shuts the running teacher VM down for the copy and starts it again', async () => {
    const teacher = [...current().sim.state.guests.values()].find((g) => g.config.name === 'cs101-teacher')!;
    teacher.status = 'running';
    await services.sync!.quickSync({ force: true });
    await as(ids.teacher, 'lab', 'publish cs101', true);
    expect((await services.store.inventory.get('lab', teacher.vmid))!.status).toBe('running');
    const usage = await services.store.usage.intervals([{ clusterId: 'lab', vmid: teacher.vmid }]);
    expect(usage.map((i) => i.endedAt === null)).toEqual([false, true]);
  });
});

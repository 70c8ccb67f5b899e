import * as commands from '../src/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CommandRecord, CommandRouter, LabServices } from '../src/index.js';
import { ids, useLab } from './lab-fixture.js';

// How each finished command is counted (`lab_command_duration_seconds{outcome}` in /metrics):
// every kind of refusal as `refused`, failures of the lab or the cluster as `error`.
const current = useLab(commands, { deploy: 'cs101 2' });
let services: LabServices;
let router: CommandRouter;
const records: CommandRecord[] = [];
beforeAll(() => {
  services = current().services;
  router = new commands.CommandRouter(services, [...commands.builtinPlugins], {
    rateLimit: { perMinute: 1000 },
    onCommandFinished: (r) => records.push(r),
  });
});

/** Runs a command and returns how it was counted. */
async function outcome(userId: string, command: string, text: string, confirmed = false) {
  records.length = 0;
  const reply = await router.invoke({ platform: 'slack', userId, command, text, confirmed });
  expect(records).toHaveLength(1);
  return { outcome: records[0]!.outcome, text: reply.text };
}
const vmidOf = async (username: string) => {
  const person = (await services.store.classes.getPersonByUsername(username))!;
  return (await services.store.classes.assignmentsOf(person.id))[0]!.vmid;
};

describe('command outcomes for metrics', () => {
  it('counts a quota refusal as refused', async () => {
    const vmid = await vmidOf('alice');
    const now = services.clock.now();
    await services.store.usage.openInterval('lab', vmid, now - 3 * 3_600_000);
    await services.store.usage.closeInterval('lab', vmid, now - 3_600_000);
    expect((await outcome(ids.teacher, 'lab', 'limits cs101 --quota-hours 1')).outcome).toBe('ok');
    const refused = await outcome(ids.alice, 'myvm', 'start');
    expect(refused.text).toContain('has used all 1 h');
    expect(refused.outcome).toBe('refused');
    await outcome(ids.teacher, 'lab', 'limits cs101 --quota-hours 0');
  });

  it("counts a class running-limit refusal, an ownership refusal and a plugin's own refusal as refused", async () => {
    expect((await outcome(ids.bob, 'myvm', 'start')).outcome).toBe('ok');
    await outcome(ids.teacher, 'lab', 'limits cs101 --class-max-running 1');
    const limited = await outcome(ids.alice, 'myvm', 'start');
    expect(limited.text).toMatch(/cs101/);
    expect(limited.outcome).toBe('refused');
    await outcome(ids.teacher, 'lab', 'limits cs101 --class-max-running 0');
    const notHers = await outcome(ids.alice, 'myvm', `stop ${await vmidOf('bob')}`);
    expect(notHers.text).toMatch(/^You have no VM/);
    expect(notHers.outcome).toBe('refused');
    expect((await outcome(ids.teacher, 'lab', 'reset cs101', true)).outcome).toBe('refused');
    expect((await outcome(ids.alice, 'lab', 'deploy cs101 3')).outcome).toBe('refused');
  });

  it('counts a Proxmox failure as error', async () => {
    current().sim.faults.add({
      method: 'POST',
      path: '/nodes/{node}/qemu/{vmid}/status/start',
      kind: 'http-500',
      count: 10,
    });
    const failed = await outcome(ids.alice, 'myvm', 'start');
    current().sim.faults.clear();
    expect(failed.text).toMatch(/HTTP 500/);
    expect(failed.outcome).toBe('error');
  });
});

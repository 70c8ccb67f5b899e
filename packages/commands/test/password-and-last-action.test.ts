import { createLogger, type LogRecord } from '@lab/proxmox-sdk';
import { passwordsSetIn } from '@lab/pve-sim';
import * as commands from '../src/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CommandRouter, LabServices } from '../src/index.js';
import { ids, useLab } from './lab-fixture.js';

const current = useLab(commands, { deploy: 'cs101 2' });
let env: ReturnType<typeof current>;
let router: CommandRouter;
let services: LabServices;
beforeAll(() => {
  env = current();
  ({ router, services } = env);
});

const as = (userId: string, command: string, text: string, confirmed = false) =>
  router.invoke({ platform: 'slack', userId, command, text, confirmed });
const vmidOf = async (username: string) => {
  const person = (await services.store.classes.getPersonByUsername(username))!;
  return (await services.store.classes.assignmentsOf(person.id))[0]!.vmid;
};
const guestOf = async (username: string) => env.sim.state.guests.get(await vmidOf(username))!;

describe('/myvm password', () => {
  it('sets a new random password for the login user through the guest agent, shown once to the student only, never logged or audited', async () => {
    const records: LogRecord[] = [];
    const logged = new commands.CommandRouter(
      { ...services, logger: createLogger({ level: 'debug', sink: (r) => records.push(r) }) },
      commands.builtinPlugins,
    );
    const guest = await guestOf('alice');
    guest.config.agent = '1';
    await as(ids.alice, 'myvm', 'start');
    guest.agentReadyAt = env.sim.state.time.now();

    const reply = await logged.invoke({ platform: 'slack', userId: ids.alice, command: 'myvm', text: 'password' });
    expect(reply.error, reply.text).toBeFalsy();
    expect(reply.ephemeral).toBe(true);
    const set = passwordsSetIn(guest);
    expect(set).toHaveLength(1);
    expect(set[0]).toMatchObject({ username: 'alice', crypted: false });
    const password = set[0]!.password;
    expect(password).toMatch(/^([a-km-zA-HJ-NP-Z2-9]{5}-){3}[a-km-zA-HJ-NP-Z2-9]{5}$/);
    expect(reply.text).toContain(`New password for alice on cs101-alice: ${password}`);
    expect(reply.text).toMatch(/shown only this once/);

    const audit = await services.store.audit.list({ limit: 1000 });
    expect(audit.find((a) => a.action === 'password.reset')).toMatchObject({
      actor: 'alice',
      outcome: 'ok',
      details: { username: 'alice' },
    });
    expect(JSON.stringify(audit)).not.toContain(password);
    expect(JSON.stringify(records)).not.toContain(password);

    const again = await as(ids.alice, 'myvm', 'password');
    expect(passwordsSetIn(guest)).toHaveLength(2);
    expect(passwordsSetIn(guest)[1]!.password).not.toBe(password);
    expect(again.text).toContain(passwordsSetIn(guest)[1]!.password);
  });

  it('sets it for the class login user when the class has one', async () => {
    await as(ids.teacher, 'class', 'set-login cs101 student');
    await as(ids.alice, 'myvm', 'password');
    expect(passwordsSetIn(await guestOf('alice')).at(-1)).toMatchObject({ username: 'student' });
    await as(ids.teacher, 'class', 'set-login cs101');
  });

  it('says how to reset it instead where the VM has no agent, is stopped, or its agent does not answer', async () => {
    const guest = await guestOf('bob');
    delete guest.config.agent;
    await as(ids.bob, 'myvm', 'start');
    const none = await as(ids.bob, 'myvm', 'password');
    expect(none.error).toBe(true);
    expect(none.text).toMatch(
      /cs101-bob has no QEMU guest agent, so the lab cannot set a password in it; reset it from inside instead: log in on the console \(\/myvm console\) and run passwd, or add an SSH key \(\/myvm sshkey add\) and reset the VM/,
    );

    guest.config.agent = '1';
    guest.agentReadyAt = env.sim.state.time.now() + 3_600_000;
    expect((await as(ids.bob, 'myvm', 'password')).text).toMatch(
      /The guest agent of cs101-bob does not answer \(still booting/,
    );

    await as(ids.bob, 'myvm', 'stop');
    expect((await as(ids.bob, 'myvm', 'password')).text).toBe(
      'cs101-bob is stopped; start it (/myvm start), wait until it has booted, then ask for a new password again.',
    );
    expect(passwordsSetIn(guest)).toEqual([]);
    const denied = (await services.store.audit.list({ action: 'password.reset' })).filter((a) => a.actor === 'bob');
    expect(denied.map((a) => [a.outcome, a.details.reason])).toEqual([
      ['denied', 'stopped'],
      ['denied', 'not-running'],
      ['denied', 'no-agent'],
    ]);
  });
});

describe('/myvm status says why a VM last started or stopped', () => {
  const why = async (userId: string) => {
    const reply = await as(userId, 'myvm', 'status');
    expect(reply.error, reply.text).toBeFalsy();
    return (reply.data as Array<{ why: string | null; lastAction: { cause: string } | null }>)[0]!;
  };

  it('names the student, a teacher, an admin, the idle rule with its signal, the quota and the end of a session', async () => {
    const vmid = await vmidOf('alice');
    const viewer = async (username: string) => {
      const p = (await services.store.classes.getPersonByUsername(username))!;
      return { personId: p.id, username: p.username, role: p.role };
    };
    const scheduler = { personId: null, username: 'scheduler', role: 'admin' as const };

    await as(ids.alice, 'myvm', 'stop');
    expect((await why(ids.alice)).why).toMatch(/^Last stopped by you at .+\.$/);

    await services.power.perform(await viewer('lovelace'), 'lab', vmid, 'start');
    expect((await why(ids.alice)).why).toMatch(/^Last started by a teacher \(lovelace\) at /);
    await services.power.perform(await viewer('root'), 'lab', vmid, 'stop');
    expect((await why(ids.alice)).why).toMatch(/^Last stopped by an admin \(root\) at /);

    await services.power.perform(scheduler, 'lab', vmid, 'start', {
      reason: 'class cs101 session at 2026-12-07T09:00:00.000Z',
    });
    await services.power.perform(scheduler, 'lab', vmid, 'shutdown', {
      reason: 'idle: below 5% CPU for 30 min, warned 10 min before',
    });
    const idle = await why(ids.alice);
    expect(idle.lastAction?.cause).toBe('idle');
    expect(idle.why).toMatch(
      /^Last shut down by the idle rule at .+: idle: below 5% CPU for 30 min, warned 10 min before\.$/,
    );

    await services.power.perform(scheduler, 'lab', vmid, 'start');
    await services.power.perform(scheduler, 'lab', vmid, 'shutdown', {
      reason: 'quota: alice has no hours left outside sessions of cs101',
    });
    expect((await why(ids.alice)).why).toMatch(
      /^Last shut down by the hours quota at .+: quota: alice has no hours left/,
    );

    await services.power.perform(scheduler, 'lab', vmid, 'start');
    await services.power.perform(scheduler, 'lab', vmid, 'shutdown', { reason: 'class cs101 session ended' });
    const text = (await as(ids.alice, 'myvm', 'status')).text;
    expect(text).toMatch(
      /cs101-alice \(\d+\) on pve\d: stopped\n {2}Last shut down by the class schedule at .+: class cs101 session ended\./,
    );
  });

  it("names a teacher's reset of the VM, which the audit log records under the VM itself", async () => {
    const reset = await as(ids.teacher, 'lab', 'reset cs101 alice', true);
    expect(reset.error, reset.text).toBeFalsy();
    const after = await why(ids.alice);
    expect(after.lastAction?.cause).toBe('teacher');
    expect(after.why).toMatch(/^Last re-created from the class base by a teacher \(\w+\) at /);
  });

  it('says a VM stopped outside the lab when the lab last started it', async () => {
    await as(ids.bob, 'myvm', 'start');
    (await guestOf('bob')).status = 'stopped';
    await services.sync!.quickSync({ force: true });
    expect((await why(ids.bob)).why).toMatch(
      /^Stopped outside the lab after it was started at .+ \(shut down inside the VM, or in Proxmox\)\.$/,
    );
  });
});

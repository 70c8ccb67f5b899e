import * as commands from '../src/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type Clock } from '@lab/proxmox-sdk';
import type { CommandRouter, LabServices, Reply } from '../src/index.js';
import {
  CommandRouter as Router,
  EXPIRED_CONFIRMATION,
  builtinPlugins,
  renderDeploymentSummary,
} from '../src/index.js';
import { ids, useLab } from './lab-fixture.js';

const current = useLab(commands);
let env: ReturnType<typeof current>;
let router: CommandRouter;
let services: LabServices;
beforeAll(async () => {
  env = current();
  ({ router, services } = env);
  await services.engine.deploy({ classId: 'cs202', count: 0, template: 'ubuntu' });
});

/** A clock the test moves by hand, for expiries. */
function handClock(start: number): Clock & { advance: (ms: number) => void } {
  let now = start;
  return { now: () => now, sleep: async () => undefined, advance: (ms) => void (now += ms) };
}

async function ask(
  r: CommandRouter,
  userId: string = ids.teacher2,
): Promise<Reply & { confirm: { prompt: string; id: string } }> {
  const reply = await r.invoke({ platform: 'slack', userId, command: 'lab', text: 'destroy cs202' });
  expect(reply.confirm?.id).toBeDefined();
  return reply as Reply & { confirm: { prompt: string; id: string } };
}

const vmsOf = (klass: string) => services.store.classes.assignmentsOfClass(klass);

describe('single-use confirmations', () => {
  it('keeps the pending command in the store and gives the button only a random 128-bit id', async () => {
    const reply = await ask(router);
    expect(reply.ephemeral).toBe(true);
    expect(reply.confirm.prompt).toBe('Destroy cs202?');
    expect(reply.confirm.id).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(reply.confirm.id).not.toContain('cs202');
    expect((await ask(router)).confirm.id).not.toBe(reply.confirm.id);
  });

  it('does nothing when someone other than the asker presses Confirm, and still works for the asker', async () => {
    const reply = await ask(router);
    const before = (await vmsOf('cs202')).length;
    const other = await router.confirm({ id: reply.confirm.id, platform: 'slack', userId: ids.admin });
    expect(other.reply).toEqual({
      text: 'Only hopper, who asked, can confirm this; ask them, or run the command yourself if you mean to.',
      ephemeral: true,
      error: true,
    });
    const otherPlatform = await router.confirm({ id: reply.confirm.id, platform: 'discord', userId: ids.teacher2 });
    expect(otherPlatform.reply?.text).toMatch(/^Only hopper, who asked, can confirm this/);
    expect((await vmsOf('cs202')).length).toBe(before);
    const mine = await router.confirm({ id: reply.confirm.id, platform: 'slack', userId: ids.teacher2 });
    expect(mine.reply).toBeUndefined();
  });

  it('runs a confirmed command once: a second press gets a plain answer and changes nothing', async () => {
    const reply = await ask(router);
    expect((await vmsOf('cs202')).length).toBeGreaterThan(0);
    const first = await router.confirm({ id: reply.confirm.id, platform: 'slack', userId: ids.teacher2 });
    const outcome = await first.run!();
    expect(outcome.text).toMatch(/^cs202: \d+ VMs destroyed\.$/);
    expect(await vmsOf('cs202')).toEqual([]);
    await services.engine.deploy({ classId: 'cs202', count: 0, template: 'ubuntu' });
    const second = await router.confirm({ id: reply.confirm.id, platform: 'slack', userId: ids.teacher2 });
    expect(second.reply).toEqual({ text: EXPIRED_CONFIRMATION, ephemeral: true, error: true });
    expect((await vmsOf('cs202')).length).toBeGreaterThan(0);
  });

  it('expires a confirmation after ten minutes by default', async () => {
    const clock = handClock(services.clock.now());
    const timed = new Router({ ...services, clock }, builtinPlugins, { rateLimit: { perMinute: 1000 } });
    const stillValid = await ask(timed);
    const tooLate = await ask(timed);
    clock.advance(9 * 60_000);
    expect(
      (await timed.confirm({ id: stillValid.confirm.id, platform: 'slack', userId: ids.teacher2 })).reply,
    ).toBeUndefined();
    clock.advance(60_001);
    expect((await timed.confirm({ id: tooLate.confirm.id, platform: 'slack', userId: ids.teacher2 })).reply?.text).toBe(
      EXPIRED_CONFIRMATION,
    );
  });

  it('forgets a cancelled confirmation', async () => {
    const reply = await ask(router);
    expect(
      await router.cancelConfirmation({ id: reply.confirm.id, platform: 'slack', userId: ids.alice }),
    ).toMatchObject({ text: expect.stringMatching(/^Only hopper, who asked, can cancel this/), error: true });
    expect(await router.cancelConfirmation({ id: reply.confirm.id, platform: 'slack', userId: ids.teacher2 })).toEqual({
      text: 'Cancelled; nothing was changed.',
      ephemeral: true,
    });
    expect((await router.confirm({ id: reply.confirm.id, platform: 'slack', userId: ids.teacher2 })).reply?.text).toBe(
      EXPIRED_CONFIRMATION,
    );
  });
});

describe('logging refusals and failures', () => {
  it('logs a refusal (not allowed) at info with its code, never at error', async () => {
    const records: Array<{ level: string; msg: string } & Record<string, unknown>> = [];
    const logger = createLogger({ level: 'debug', sink: (r) => void records.push(r) });
    const logged = new Router({ ...services, logger }, builtinPlugins, { rateLimit: { perMinute: 1000 } });
    const reply = await logged.invoke({
      platform: 'slack',
      userId: ids.teacher2,
      command: 'lab',
      text: 'reset cs101 alice',
    });
    expect(reply).toMatchObject({ error: true, text: expect.stringMatching(/may not reset VMs of class cs101/) });
    expect(records.filter((r) => r.level === 'error')).toEqual([]);
    expect(records).toContainEqual(
      expect.objectContaining({ level: 'info', msg: 'command refused', code: 'LAB_NOT_ALLOWED', actor: 'hopper' }),
    );
  });
});

describe('preparing a command before it runs', () => {
  it('tells whether the replies will be private before running, and makes refusals while running private', async () => {
    const status = await router.prepare({
      platform: 'discord',
      userId: 'ualice-discord',
      command: 'myvm',
      subcommand: 'status',
      options: {},
    });
    expect(status).toMatchObject({ ephemeral: true });
    const deploy = await router.prepare({
      platform: 'discord',
      userId: 'uteach2-discord',
      command: 'lab',
      subcommand: 'deploy',
      options: { class: 'cs101', count: 1 },
    });
    expect(deploy).toMatchObject({ ephemeral: false });
    const refused = await deploy.run!();
    expect(refused).toMatchObject({ ephemeral: true, error: true });
    expect(refused.text).toMatch(/cs101/);
    const notEnrolled = await router.prepare({
      platform: 'discord',
      userId: 'nobody',
      command: 'lab',
      subcommand: 'status',
      options: { class: 'cs101' },
    });
    expect(notEnrolled.reply).toMatchObject({ ephemeral: true, error: true });
  });
});

describe('the audit log of chat commands', () => {
  it("records an unknown chat user's attempt as denied, under their platform id", async () => {
    await router.invoke({ platform: 'slack', userId: 'U0NOBODY', command: 'lab', text: 'destroy cs101' });
    const entries = await services.store.audit.list({ actor: 'slack:U0NOBODY' });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      action: 'command.lab.destroy',
      outcome: 'denied',
      details: { platformUserId: 'slack:U0NOBODY', reason: 'unknown user' },
    });
  });

  it('records which chat account acted for every command, keeping the username as actor', async () => {
    await router.invoke({ platform: 'discord', userId: 'ualice-discord', command: 'myvm', text: 'status' });
    await router.invoke({ platform: 'slack', userId: ids.alice, command: 'lab', text: 'sync' });
    const entries = await services.store.audit.list({ actor: 'alice' });
    expect(entries.find((e) => e.action === 'command.myvm.status')).toMatchObject({
      outcome: 'ok',
      details: { platformUserId: 'discord:ualice-discord' },
    });
    expect(entries.find((e) => e.action === 'command.lab.sync')).toMatchObject({
      outcome: 'denied',
      details: { platformUserId: `slack:${ids.alice}` },
    });
  });
});

describe('replay guard', () => {
  it('claims a delivery id once', async () => {
    expect(await router.claimDelivery('discord', '12345')).toBe(true);
    expect(await router.claimDelivery('discord', '12345')).toBe(false);
    expect(await router.claimDelivery('slack', '12345')).toBe(true);
  });
});

describe('deployment summaries', () => {
  it('renders a summary exactly as /lab deploy answers', async () => {
    const reply = await router.invoke({
      platform: 'slack',
      userId: ids.teacher,
      command: 'lab',
      text: 'deploy cs101 1 ubuntu',
    });
    expect(reply.error).toBeFalsy();
    expect(renderDeploymentSummary(reply.data as Parameters<typeof renderDeploymentSummary>[0])).toBe(reply.text);
    expect(
      renderDeploymentSummary({
        deploymentId: 'd',
        classId: 'cs9',
        status: 'failed',
        created: 0,
        kept: 0,
        deleted: 0,
        failed: [{ name: 'cs9-a', error: 'boom' }],
        orphans: [],
        unregistered: [],
        duplicates: [],
        removed: [],
        unseated: [],
        durationMs: 1500,
      }),
    ).toBe(
      'cs9: the cluster does not match the plan after 1.5 s (0 created, 0 kept, 0 deleted); run the deploy again to retry what failed.\nfailed cs9-a: boom',
    );
    expect(
      renderDeploymentSummary({
        deploymentId: 'd',
        classId: 'cs9',
        status: 'failed',
        created: 3,
        kept: 0,
        deleted: 0,
        failed: [{ name: 'cs9-base@pve2', error: 'HTTP 500' }],
        orphans: [],
        unregistered: [],
        duplicates: [],
        removed: [],
        unseated: [],
        replanned: [{ name: 'cs9-a', from: 'pve2', to: 'pve1' }],
        durationMs: 1500,
      }).split('\n'),
    ).toContain('cs9-a is on pve1 instead of pve2: the base template could not be copied to pve2');
  });
});

import * as commands from '@lab/commands';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '@lab/proxmox-sdk';
import { createSlackPersonNotifier, type SlackBot } from '../src/index.js';
import { startTestLab as lab, testLabIds as ids } from '@lab/proxmox-sdk/testing';
import { slash as slashTo, startSlackTestBot, type SlackCall, type SlackTestBot } from './fixtures/slack-test-bot.js';

/** Minutes the test has moved the lab's clock ahead of the real one (request signatures stay real). */
let shiftMs = 0;
const clock: Clock = { now: () => Date.now() + shiftMs, sleep: systemClock.sleep };
let env: Awaited<ReturnType<typeof lab<commands.CommandRouter, commands.LabServices>>>;
let slack: SlackTestBot;
let bot: SlackBot;
let calls: SlackCall[];

beforeAll(async () => {
  env = await lab<commands.CommandRouter, commands.LabServices>(commands, { clock });
  slack = await startSlackTestBot(env.router);
  ({ bot, calls } = slack);
  // What `lab serve` does: the scheduler's direct messages go out through the bot's Slack client.
  env.services.scheduler!.useNotifier(createSlackPersonNotifier({ client: bot.app.client, store: env.services.store }));
  await env.services.engine.deploy({ classId: 'cs101', count: 2, template: 'ubuntu' });
}, 60_000);
afterAll(async () => {
  await slack.close();
  await env.close();
});

/** A slash command as Slack posts it, signed with the app's signing secret; resolves with the status. */
const slash = async (command: string, text: string, userId: string) =>
  (await slashTo(slack, command, text, userId)).status;

describe('idle warning and /myvm keep in Slack', () => {
  it('DMs both idle students, keeps the VM of the one who answered /myvm keep in Slack, and stops the other after the class’s warning delay', async () => {
    const { store, sync, scheduler, power } = env.services;
    await store.usage.savePolicy({
      classId: 'cs101',
      quotaHours: null,
      maxRunning: null,
      maxRunningInClass: null,
      idleCpuBelowPercent: 5,
      idleForMinutes: 30,
      keepsPerSession: 1,
      idleWarnMinutes: 5,
    });
    const vmOf = async (username: string) =>
      (await store.classes.assignmentsOf((await store.classes.getPersonByUsername(username))!.id)).find(
        (a) => a.classId === 'cs101',
      )!.vmid;
    const [alice, bob] = [await vmOf('alice'), await vmOf('bob')];
    for (const vmid of [alice, bob]) {
      await power.perform({ personId: null, username: 'root', role: 'admin' }, 'lab', vmid, 'start');
      env.sim.state.guests.get(vmid)!.cpuLoad = 0.01;
    }
    const tick = async (minutes: number) => {
      shiftMs = minutes * 60_000;
      await sync!.quickSync();
      return (await scheduler!.runOnce()).map((a) => [a.vmid, a.action, a.outcome]);
    };
    const dms = () => calls.filter((c) => c.path === '/api/chat.postMessage').map((c) => [c.body.channel, c.body.text]);
    expect(await tick(1)).toEqual([]);
    calls.length = 0;
    expect(await tick(32)).toEqual([
      [alice, 'idle-warning', 'ok'],
      [bob, 'idle-warning', 'ok'],
    ]);
    expect(dms()).toEqual([
      [
        `D0${ids.alice}`,
        'cs101-alice has been idle for 30 min and will stop in 5 min. Why: below 5% CPU. /myvm keep to keep it running.',
      ],
      [
        `D0${ids.bob}`,
        'cs101-bob has been idle for 30 min and will stop in 5 min. Why: below 5% CPU. /myvm keep to keep it running.',
      ],
    ]);
    shiftMs = 34 * 60_000;
    calls.length = 0;
    expect(await slash('/myvm', `keep ${bob}`, ids.bob)).toBe(200);
    await bot.idle();
    const reply = calls.find((c) => c.path.startsWith('/respond/'))!;
    expect(reply.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String(reply.body.text)).toBe(
      'cs101-bob keeps running; its idle stop is cancelled. If it stays idle, you will be warned again. You can keep it no more times this session.',
    );
    expect(await tick(36)).toEqual([]);
    expect(await tick(37)).toEqual([[alice, 'idle-shutdown', 'ok']]);
    expect(env.sim.state.guests.get(alice)!.status).toBe('stopped');
    expect(env.sim.state.guests.get(bob)!.status).toBe('running');
    expect((await store.audit.list({ actor: 'bob', action: 'vm.keep' })).map((e) => e.target)).toEqual([`lab/${bob}`]);
  }, 60_000);
});

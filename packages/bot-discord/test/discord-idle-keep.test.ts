import * as commands from '@lab/commands';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '@lab/proxmox-sdk';
import { createDiscordPersonNotifier, type DiscordInteractions } from '../src/index.js';
import { startTestLab as lab } from '@lab/proxmox-sdk/testing';
import {
  APP,
  interact,
  slash,
  startDiscordTestBot,
  type DiscordCall,
  type DiscordTestBot,
} from './fixtures/discord-test-bot.js';

/** How far the test has moved the lab's clock ahead of the real one (request signatures stay real). */
let shiftMs = 0;
const clock: Clock = { now: () => Date.now() + shiftMs, sleep: systemClock.sleep };
let env: Awaited<ReturnType<typeof lab<commands.CommandRouter, commands.LabServices>>>;
let bot: DiscordTestBot;
let endpoint: DiscordInteractions;
let calls: DiscordCall[];

beforeAll(async () => {
  env = await lab<commands.CommandRouter, commands.LabServices>(commands, { clock });
  bot = await startDiscordTestBot(env.router);
  ({ endpoint, calls } = bot);
  // What `lab serve` does: the scheduler's direct messages go out through the bot's REST client.
  env.services.scheduler!.useNotifier(createDiscordPersonNotifier({ rest: bot.rest, store: env.services.store }));
  await env.services.engine.deploy({ classId: 'cs101', count: 2, template: 'ubuntu' });
}, 60_000);
afterAll(async () => {
  await bot.close();
  await env.close();
});

/** `/myvm keep <vm>` from `userId`, signed with the app's key; resolves with the immediate answer. */
const keep = async (userId: string, vm: number, token: string): Promise<Record<string, unknown>> =>
  (await interact(bot.url, slash(userId, 'myvm', 'keep', [{ name: 'vm', value: String(vm) }], token))).json;

describe('idle warning and /myvm keep in Discord', () => {
  it('DMs both idle students, keeps the VM of the one who answered /myvm keep in Discord, and stops the other after the class’s warning delay', async () => {
    const { store, sync, scheduler, power } = env.services;
    await store.usage.savePolicy({
      classId: 'cs101',
      quotaHours: null,
      maxRunning: null,
      maxRunningInClass: null,
      idleCpuBelowPercent: 5,
      idleForMinutes: 30,
      keepsPerSession: 2,
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
    const dms = () =>
      calls
        .filter((c) => /^\/api\/v10\/channels\/dm-[^/]+\/messages$/.test(c.path))
        .map((c) => [c.path, c.body.content]);
    expect(await tick(1)).toEqual([]);
    calls.length = 0;
    expect(await tick(32)).toEqual([
      [alice, 'idle-warning', 'ok'],
      [bob, 'idle-warning', 'ok'],
    ]);
    expect(dms()).toEqual([
      [
        '/api/v10/channels/dm-ualice-discord/messages',
        'cs101-alice has been idle for 30 min and will stop in 5 min. Why: below 5% CPU. /myvm keep to keep it running.',
      ],
      [
        '/api/v10/channels/dm-ubob-discord/messages',
        'cs101-bob has been idle for 30 min and will stop in 5 min. Why: below 5% CPU. /myvm keep to keep it running.',
      ],
    ]);
    shiftMs = 34 * 60_000;
    calls.length = 0;
    expect(await keep('ubob-discord', bob, 'tok-keep')).toEqual({ type: 5, data: { flags: 64 } });
    await endpoint.idle();
    const edit = calls.find((c) => c.path === `/api/v10/webhooks/${APP}/tok-keep/messages/%40original`)!;
    expect(edit.body.content).toBe(
      'cs101-bob keeps running; its idle stop is cancelled. If it stays idle, you will be warned again. You can keep it once more this session.',
    );
    expect(await tick(36)).toEqual([]);
    expect(await tick(37)).toEqual([[alice, 'idle-shutdown', 'ok']]);
    expect(env.sim.state.guests.get(alice)!.status).toBe('stopped');
    expect(env.sim.state.guests.get(bob)!.status).toBe('running');
    expect((await store.audit.list({ actor: 'bob', action: 'vm.keep' })).map((e) => e.target)).toEqual([`lab/${bob}`]);
  }, 60_000);
});

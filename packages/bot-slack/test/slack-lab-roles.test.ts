import * as commands from '@lab/commands';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackBot } from '../src/index.js';
import { startTestLab, testLabIds as ids } from '@lab/proxmox-sdk/testing';
import { net0Bridge } from '@lab/proxmox-sdk/network';
import { slash as slashTo, startSlackTestBot, type SlackCall, type SlackTestBot } from './fixtures/slack-test-bot.js';

let env: Awaited<ReturnType<typeof startTestLab<commands.CommandRouter, commands.LabServices>>>;
let slack: SlackTestBot;
let bot: SlackBot;
let calls: SlackCall[];

/** A slash command as Slack posts it, signed with the app's signing secret; resolves with the status. */
const slash = async (command: string, text: string, userId: string) =>
  (await slashTo(slack, command, text, userId)).status;

beforeAll(async () => {
  // The lab's `sdn` settings, as lab.config.json gives them: private networks can be built.
  env = await startTestLab<commands.CommandRouter, commands.LabServices>(commands, { sdn: { prefix: 'lab' } });
  await env.services.catalog.create({
    name: 'windows',
    memory: 4096,
    cores: 2,
    mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9001 }],
  });
  slack = await startSlackTestBot(env.router);
  ({ bot, calls } = slack);
});
afterAll(async () => {
  await slack.close();
  await env.close();
});

describe('a lab with two roles per student through signed Slack requests', () => {
  it('/class set-lab --network student then /lab deploy give each student one VM per role on their own network', async () => {
    expect(
      await slash('/class', 'set-lab cs101 attacker=ubuntu target=windows:1:1024 --network student', ids.teacher),
    ).toBe(200);
    await bot.idle();
    const set = calls.find((c) => c.path.startsWith('/api/chat.postMessage'))!;
    expect(String(set.body.text)).toMatch(
      /^cs101: each student gets 2 VM\(s\):\n• attacker: ubuntu\n• target: windows/,
    );
    expect((await env.services.store.labDefinitions.get('cs101'))?.network.mode).toBe('student');

    calls.length = 0;
    expect(await slash('/lab', 'deploy cs101 2', ids.teacher)).toBe(200);
    await bot.idle();
    const chat = calls.filter((c) => c.path.startsWith('/api/chat.')).map((c) => String(c.body.text));
    expect(chat.at(-1)).toMatch(
      /^attacker: cs101: 4 created, 0 kept, 0 deleted in [\d.]+ s\.\ntarget: cs101: \d+ created/,
    );
    const names = [...env.sim.state.guests.values()]
      .filter((g) => (g.config.tags ?? '').includes('role-student'))
      .map((g) => g.config.name)
      .sort();
    expect(names).toEqual(['cs101-alice-attacker', 'cs101-alice-target', 'cs101-bob-attacker', 'cs101-bob-target']);
    expect(chat.at(-1)).toContain(
      'Networks: 3 private networks (one per seated student, one for the teacher VMs) in zone labzone, with internet (SNAT).',
    );
    // Each student's two VMs on that student's VNet, per the store's records and the VMs' config in PVE.
    // (and the teacher VMs on the teachers' own, `@teachers`)
    const vnets = (await env.services.store.sdn.list('lab', { classId: 'cs101' })).filter(
      (r) => r.kind === 'vnet' && r.student !== '@teachers',
    );
    expect(vnets.map((r) => r.student).sort()).toEqual(['alice', 'bob']);
    expect(new Set(vnets.map((r) => r.objectId)).size).toBe(2);
    for (const r of vnets)
      for (const g of [...env.sim.state.guests.values()].filter((g) =>
        g.config.name?.startsWith(`cs101-${r.student}-`),
      ))
        expect(net0Bridge(g.config.net0), g.config.name).toBe(r.objectId);

    calls.length = 0;
    expect(await slash('/lab', 'destroy cs101', ids.teacher)).toBe(200);
    await bot.idle();
    expect(calls.some((c) => JSON.stringify(c.body).includes('Destroy cs101'))).toBe(true);
  });
});

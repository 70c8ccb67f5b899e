import * as commands from '@lab/commands';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordInteractions } from '../src/index.js';
import { startTestLab } from '@lab/proxmox-sdk/testing';
import { net0Bridge } from '@lab/proxmox-sdk/network';
import {
  APP,
  interact as signedInteraction,
  slash,
  startDiscordTestBot,
  type DiscordCall,
  type DiscordTestBot,
} from './fixtures/discord-test-bot.js';

let env: Awaited<ReturnType<typeof startTestLab<commands.CommandRouter, commands.LabServices>>>;
let bot: DiscordTestBot;
let endpoint: DiscordInteractions;
let calls: DiscordCall[];
const interact = (body: object) => signedInteraction(bot.url, body);

beforeAll(async () => {
  // The lab's `sdn` settings, as lab.config.json gives them: private networks can be built.
  env = await startTestLab<commands.CommandRouter, commands.LabServices>(commands, { sdn: { prefix: 'lab' } });
  bot = await startDiscordTestBot(env.router);
  ({ endpoint, calls } = bot);
  await env.services.catalog.create({
    name: 'windows',
    memory: 4096,
    cores: 2,
    mappings: [{ clusterId: 'lab', node: 'pve1', vmid: 9001 }],
  });
});
afterAll(async () => {
  await bot.close();
  await env.close();
});

const original = (token: string) =>
  calls.filter((c) => c.path.startsWith(`/api/v10/webhooks/${APP}/${token}/messages/`)).map((c) => c.body);

describe('a lab with two roles per student through signed Discord interactions', () => {
  it('/class set-lab with network student then /lab deploy give each student one VM per role on their own network', async () => {
    const set = await interact(
      slash(
        'uteach1-discord',
        'class',
        'set-lab',
        [
          { name: 'class', value: 'cs101' },
          { name: 'role', value: 'attacker=ubuntu target=windows:1:1024' },
          { name: 'network', value: 'student' },
          { name: 'internet', value: 'none' },
        ],
        'tok-set',
      ),
    );
    expect(set.status).toBe(200);
    await endpoint.idle();
    expect(String(original('tok-set').at(-1)?.content)).toMatch(
      /^cs101: each student gets 2 VM\(s\):\n• attacker: ubuntu\n• target: windows, 1 cores, 1024 MiB\nNetwork: one private network per student, no internet\./,
    );
    expect((await env.services.store.labDefinitions.get('cs101'))?.network).toEqual({
      mode: 'student',
      zone: null,
      internet: 'none',
    });

    const deploy = await interact(
      slash(
        'uteach1-discord',
        'lab',
        'deploy',
        [
          { name: 'class', value: 'cs101' },
          { name: 'count', value: 2, type: 4 },
        ],
        'tok-deploy',
      ),
    );
    expect(deploy.status).toBe(200);
    await endpoint.idle();
    const texts = calls.map((c) => (typeof c.body.content === 'string' ? c.body.content : ''));
    expect(
      texts.some((t) =>
        /^attacker: cs101: 4 created, 0 kept, 0 deleted in [\d.]+ s\.\ntarget: cs101: \d+ created/.test(t),
      ),
    ).toBe(true);
    const names = [...env.sim.state.guests.values()]
      .filter((g) => (g.config.tags ?? '').includes('role-student'))
      .map((g) => g.config.name)
      .sort();
    expect(names).toEqual(['cs101-alice-attacker', 'cs101-alice-target', 'cs101-bob-attacker', 'cs101-bob-target']);
    expect(
      texts.some((t) =>
        t.includes(
          'Networks: 3 private networks (one per seated student, one for the teacher VMs) in zone labzone, no internet.',
        ),
      ),
    ).toBe(true);
    // Each student's two VMs on that student's VNet, per the store's records and the VMs' config in PVE.
    // (and the teacher VMs on the teachers' own, `@teachers`)
    const vnets = (await env.services.store.sdn.list('lab', { classId: 'cs101' })).filter(
      (r) => r.kind === 'vnet' && r.student !== '@teachers',
    );
    expect(vnets.map((r) => r.student).sort()).toEqual(['alice', 'bob']);
    expect(new Set(vnets.map((r) => r.objectId)).size).toBe(2);
    for (const r of vnets) {
      const mine = [...env.sim.state.guests.values()].filter((g) => g.config.name?.startsWith(`cs101-${r.student}-`));
      expect(mine).toHaveLength(2);
      for (const g of mine) expect(net0Bridge(g.config.net0), g.config.name).toBe(r.objectId);
    }
  });
});

import * as commands from '../src/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PveSim } from '@lab/pve-sim';
import type { CommandRouter, LabServices, Reply } from '../src/index.js';
import { ids, lab } from './lab-fixture.js';

let env: Awaited<ReturnType<typeof lab>>;
let router: CommandRouter;
let services: LabServices;
let sim: PveSim;
let aliceVm: number;
let bobVm: number;

beforeAll(async () => {
  env = await lab(commands);
  ({ router, services, sim } = env);
  await services.engine.deploy({ classId: 'cs101', count: 2, template: 'ubuntu' });
  const vmOf = async (username: string) =>
    (
      await services.store.inventory.list({
        personId: (await services.store.classes.getPersonByUsername(username))!.id,
      })
    )[0]!.vmid;
  aliceVm = await vmOf('alice');
  bobVm = await vmOf('bob');
});
afterAll(() => env.close());

type Who = keyof typeof ids;
const everyone: Who[] = ['admin', 'teacher', 'teacher2', 'alice', 'bob', 'stranger'];

/** For each command: who may run it (everyone else must be refused). */
const matrix: Array<{ command: string; text: () => string; allowed: Who[] }> = [
  { command: 'lab', text: () => 'deploy cs101 2 ubuntu', allowed: ['admin', 'teacher'] },
  { command: 'lab', text: () => 'status cs101', allowed: ['admin', 'teacher'] },
  { command: 'lab', text: () => 'destroy cs202', allowed: ['admin', 'teacher2'] },
  { command: 'lab', text: () => 'templates', allowed: ['admin', 'teacher', 'teacher2'] },
  { command: 'lab', text: () => 'sync', allowed: ['admin'] },
  { command: 'lab', text: () => 'link <@UCAROL|carol> carol cs101', allowed: ['admin', 'teacher'] },
  { command: 'myvm', text: () => 'status', allowed: ['admin', 'teacher', 'teacher2', 'alice', 'bob'] },
  { command: 'myvm', text: () => `start ${aliceVm}`, allowed: ['alice'] },
  { command: 'myvm', text: () => `stop ${bobVm}`, allowed: ['bob'] },
  { command: 'myvm', text: () => `restart ${aliceVm}`, allowed: ['alice'] },
  { command: 'myvm', text: () => `connect ${aliceVm}`, allowed: ['alice'] },
];

const cases = matrix.flatMap((row) => everyone.map((who) => ({ ...row, who, allow: row.allowed.includes(who) })));

describe('authorization matrix (role × command × ownership)', () => {
  it.each(cases)('/$command $text.name by $who → allowed: $allow', async ({ command, text, who, allow }) => {
    const before = sim.requests.count('POST /nodes/{node}/qemu/{vmid}/status/start');
    const reply: Reply = await router.invoke({ platform: 'slack', userId: ids[who], command, text: text() });
    if (allow) {
      expect(reply.error, reply.text).toBeFalsy();
    } else {
      expect(reply.error, `${who} should be refused: ${reply.text}`).toBe(true);
      expect(reply.ephemeral).toBe(true);
      if (text().startsWith('start'))
        expect(sim.requests.count('POST /nodes/{node}/qemu/{vmid}/status/start')).toBe(before);
    }
  });

  it('records refusals in the audit log', async () => {
    const denied = await services.store.audit.list({ actor: 'alice' });
    expect(denied.some((a) => a.action === 'command.lab.deploy' && a.outcome === 'denied')).toBe(true);
  });

  it('tells an unknown user how to get enrolled', async () => {
    const reply = await router.invoke({ platform: 'discord', userId: 'nobody', command: 'myvm', text: 'status' });
    expect(reply.text).toBe(
      'You are not enrolled in Proxmox Lab yet. If your teacher gave you an invite code, type `/lab join <code>`; otherwise ask them to run `/lab link @you <your-username>`.',
    );
  });
});

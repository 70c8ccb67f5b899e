import * as commands from '../src/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandRouter, LabServices } from '../src/index.js';
import { ids, lab } from './lab-fixture.js';

let env: Awaited<ReturnType<typeof lab>>;
let router: CommandRouter;
let services: LabServices;
beforeAll(async () => {
  env = await lab(commands);
  ({ router, services } = env);
});
afterAll(() => env.close());

describe('the local CLI operator', () => {
  it('acts as an admin without a person record, audited as cli:<os user>', async () => {
    const reply = await router.invoke({ platform: 'cli', userId: 'ops', operator: true, command: 'lab', text: 'sync' });
    expect(reply.error, reply.text).toBeFalsy();
    const [entry] = await services.store.audit.list({ actor: 'cli:ops' });
    expect(entry).toMatchObject({ actor: 'cli:ops', action: 'command.lab.sync', outcome: 'ok' });
  });

  it('is a CLI notion only: a chat user claiming it is still unknown', async () => {
    const reply = await router.invoke({
      platform: 'slack',
      userId: ids.stranger,
      operator: true,
      command: 'lab',
      text: 'sync',
    });
    expect(reply).toMatchObject({ error: true });
    expect(reply.text).toMatch(/^You are not enrolled/);
  });

  it('still lets --as act as someone else, with their rights', async () => {
    const reply = await router.invoke({ platform: 'cli', userId: 'alice', command: 'lab', text: 'sync' });
    expect(reply.text).toBe('/lab sync is for admins; you are a student.');
  });
});

describe('/lab vms', () => {
  it('lists the VMs the caller may see under a header row, all of them for an admin', async () => {
    await router.invoke({ platform: 'slack', userId: ids.teacher, command: 'lab', text: 'deploy cs101 1' });
    await router.invoke({ platform: 'slack', userId: ids.admin, command: 'lab', text: 'sync' });
    const mine = await router.invoke({ platform: 'slack', userId: ids.alice, command: 'lab', text: 'vms' });
    const lines = mine.text.split('\n');
    expect(lines[0]).toMatch(/^VMID +NAME +NODE +STATUS +IP$/);
    expect(lines.slice(1).map((l) => l.split(/ +/)[1])).toEqual(['cs101-alice']);
    const all = await router.invoke({ platform: 'cli', userId: 'ops', operator: true, command: 'lab', text: 'vms' });
    expect((all.data as Array<{ name: string }>).map((v) => v.name)).toEqual(
      expect.arrayContaining(['cs101-alice', 'cs101-teacher', 'dns']),
    );
  });
});

import * as commands from '../src/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CommandRouter, LabServices, ProgressUpdate } from '../src/index.js';
import { CommandRouter as Router, builtinPlugins, renderProgressBar } from '../src/index.js';
import { ids, useLab } from './lab-fixture.js';

const current = useLab(commands);
let env: ReturnType<typeof current>;
let router: CommandRouter;
let services: LabServices;
beforeAll(async () => {
  env = current();
  ({ router, services } = env);
});

describe('the command layer', () => {
  it('deploys with progress updates that end at the total, then replies with a summary', async () => {
    const updates: ProgressUpdate[] = [];
    const reply = await router.invoke({
      platform: 'slack',
      userId: ids.teacher,
      command: 'lab',
      text: 'deploy cs101 3',
      onProgress: (u) => updates.push(u),
    });
    expect(reply.error).toBeFalsy();
    expect(reply.text).toMatch(/^cs101: 5 created, 0 kept, 0 deleted in \d+\.\d s\.$/);
    expect(updates[0]).toMatchObject({ label: 'cs101', done: 0, total: 5 });
    expect(updates.at(-1)).toMatchObject({ done: 5, total: 5 });
    expect(renderProgressBar({ label: 'cs101', done: 7, total: 11 }, 8)).toBe('cs101 ▓▓▓▓▓░░░ 7/11');
  });

  it('validates options with messages that point at the bad one, before touching Proxmox', async () => {
    const count = await router.invoke({
      platform: 'slack',
      userId: ids.teacher,
      command: 'lab',
      text: 'deploy cs101 ten',
    });
    expect(count.text).toBe(
      'count: must be a number\nUsage: /lab deploy <class> <count> [template] — Deploy a class: teacher VM, base template and one VM per student',
    );
    const klass = await router.invoke({
      platform: 'slack',
      userId: ids.teacher,
      command: 'lab',
      text: 'deploy CS-101 3',
    });
    expect(klass.text).toMatch(/^class: a class id is lower-case letters/);
    const extra = await router.invoke({
      platform: 'slack',
      userId: ids.teacher,
      command: 'lab',
      text: 'status cs101 extra words',
    });
    expect(extra.text).toMatch(/^Too many words for \/lab status/);
    const unknown = await router.invoke({
      platform: 'slack',
      userId: ids.teacher,
      command: 'lab',
      text: 'reboot-everything',
    });
    expect(unknown.text).toMatch(/^Unknown subcommand 'reboot-everything'/);
    const overCapacity = await router.invoke({
      platform: 'slack',
      userId: ids.teacher,
      command: 'lab',
      text: 'deploy cs101 400 ubuntu',
    });
    expect(overCapacity).toMatchObject({ error: true });
    // Three students already have VMs, so 397 more are asked for.
    expect(overCapacity.text).toMatch(/^397 VMs were asked for but only \d+ fit/);
  });

  it('asks before destroying, and destroys once confirmed', async () => {
    const ask = await router.invoke({ platform: 'slack', userId: ids.teacher, command: 'lab', text: 'destroy cs101' });
    expect(ask.confirm).toMatchObject({ prompt: 'Destroy cs101?', action: 'Destroy cs101' });
    expect((await services.store.classes.assignmentsOfClass('cs101')).length).toBeGreaterThan(0);
    const done = await router.invoke({
      platform: 'slack',
      userId: ids.teacher,
      command: 'lab',
      text: 'destroy cs101',
      confirmed: true,
    });
    expect(done.text).toMatch(/^cs101: \d+ VMs destroyed\.$/);
    expect(await services.store.classes.assignmentsOfClass('cs101')).toEqual([]);
  });

  it('enrols a chat user with /lab link', async () => {
    const reply = await router.invoke({
      platform: 'discord',
      userId: 'uteach1-discord',
      command: 'lab',
      text: 'link <@998877> dave cs101',
    });
    expect(reply.text).toBe('Linked <@998877> to dave and enrolled them in cs101.');
    const dave = await services.store.classes.findByIdentity('discord', '998877');
    expect(dave?.username).toBe('dave');
    expect((await services.store.classes.members('cs101')).some((m) => m.personId === dave!.id)).toBe(true);
  });

  it('rate-limits a person', async () => {
    const strict = new Router(services, builtinPlugins, { rateLimit: { perMinute: 2 } });
    await strict.invoke({ platform: 'slack', userId: ids.alice, command: 'myvm', text: 'status' });
    await strict.invoke({ platform: 'slack', userId: ids.alice, command: 'myvm', text: 'status' });
    const third = await strict.invoke({ platform: 'slack', userId: ids.alice, command: 'myvm', text: 'status' });
    expect(third.text).toMatch(/^Too many commands/);
  });

  it('generates usage text from the same schemas as the options', () => {
    expect(router.usage('myvm')).toContain('/myvm start [vm] — Start your VM');
    expect(router.usage('lab')).toContain('/lab deploy <class> <count> [template] — Deploy a class');
  });

  it('autocompletes class ids for their teacher only', async () => {
    expect(
      await router.autocomplete({
        platform: 'slack',
        userId: ids.teacher2,
        command: 'lab',
        subcommand: 'deploy',
        option: 'class',
        partial: 'cs',
      }),
    ).toEqual([{ label: 'cs202', value: 'cs202' }]);
    expect(
      await router.autocomplete({
        platform: 'slack',
        userId: ids.admin,
        command: 'lab',
        subcommand: 'deploy',
        option: 'class',
        partial: '',
      }),
    ).toEqual([
      { label: 'cs101', value: 'cs101' },
      { label: 'cs202', value: 'cs202' },
    ]);
  });
});

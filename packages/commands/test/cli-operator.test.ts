import type { VmInventoryRecord } from '@lab/proxmox-sdk';
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

  it('lists a page of 100 and says that more match; --limit and --all list more', async () => {
    const clusterId = services.defaultClusterId;
    const extra: VmInventoryRecord[] = Array.from({ length: 150 }, (_, i) => ({
      clusterId,
      vmid: 70_000 + i,
      name: `spare-${i}`,
      node: 'pve1',
      status: 'stopped',
      ip: null,
      type: 'qemu',
      category: 'linux',
      memory: 1024,
      cores: 1,
      diskSize: null,
      uptime: 0,
      cpuUsage: 0,
      memoryUsage: 0,
      isTemplate: false,
      tags: '',
      rdpAvailable: false,
      sshAvailable: false,
      lastUpdated: services.clock.now(),
      lastStatusCheck: null,
      syncError: null,
      goneAt: null,
    }));
    await services.store.inventory.upsertMany(extra);
    const total = (await services.store.inventory.list()).length;
    const asOps = (text: string) =>
      router.invoke({ platform: 'cli', userId: 'ops', operator: true, command: 'lab', text });
    const page = await asOps('vms');
    const lines = page.text.split('\n');
    expect(page.data as unknown[]).toHaveLength(100);
    expect(lines.filter((l) => /^\d/.test(l))).toHaveLength(100);
    expect(lines).toContain('(the first 100 by cluster and VMID; more match: --limit <n> lists more, --all every one)');
    const limited = await asOps('vms --limit 120');
    expect(limited.data as unknown[]).toHaveLength(120);
    const all = await asOps('vms --all');
    expect(all.data as unknown[]).toHaveLength(total);
    expect(all.text).not.toContain('more match');
    expect((all.data as VmInventoryRecord[]).slice(0, 100)).toEqual(page.data);
    const mine = await router.invoke({ platform: 'slack', userId: ids.alice, command: 'lab', text: 'vms --limit 1' });
    expect((mine.data as VmInventoryRecord[]).map((v) => v.name)).toEqual(['cs101-alice']);
    expect(mine.text).not.toContain('more match');
  });
});

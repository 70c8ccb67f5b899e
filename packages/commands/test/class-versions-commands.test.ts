import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exportTerraform } from '@lab/proxmox-sdk/terraform';
import * as commands from '../src/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CommandRouter, LabServices } from '../src/index.js';
import { ids, useLab } from './lab-fixture.js';

const current = useLab(commands, { deploy: 'cs101 2' });
let env: ReturnType<typeof current>;
let router: CommandRouter;
let services: LabServices;
beforeAll(async () => {
  env = current();
  ({ router, services } = env);
});

const as = (userId: string, command: string, text: string, confirmed = false) =>
  router.invoke({ platform: 'slack', userId, command, text, confirmed });
const guestNamed = (name: string) => [...env.sim.state.guests.values()].find((g) => g.config.name === name);
const vmOf = async (username: string) =>
  (await services.store.classes.assignmentsOf((await services.store.classes.getPersonByUsername(username))!.id))[0]!
    .vmid;

/** The summary of a deployment that finished with nothing to report but success. */
const doneSummary = (deploymentId: string) => ({
  deploymentId,
  classId: 'cs101',
  status: 'done' as const,
  created: 1,
  kept: 0,
  deleted: 0,
  failed: [],
  orphans: [],
  unregistered: [],
  duplicates: [],
  removed: [],
  unseated: [],
  durationMs: 4200,
});

describe('class template versions through the commands', () => {
  it('publishes v2 from the teacher VM, moves students one at a time, and deletes v1 only after the last one left it', async () => {
    const teacher = guestNamed('cs101-teacher')!;
    teacher.status = 'running';
    const bob = await vmOf('bob');
    env.sim.state.guests.get(bob)!.status = 'running';
    const bobGuest = env.sim.state.guests.get(bob);
    const v1 = guestNamed('cs101-base')!.vmid;

    expect((await as(ids.teacher2, 'lab', 'publish cs101 --snapshot')).error).toBe(true);
    const ask = await as(ids.teacher, 'lab', 'publish cs101 --note "python 3.13"');
    expect(ask.confirm?.prompt).toBe('Shut down cs101-teacher to publish cs101-base-v2?');
    expect(guestNamed('cs101-base-v2')).toBeUndefined();
    // A front end's progress reference, completed once its first message is posted (as Slack's `ts`).
    const notify: Record<string, unknown> = { platform: 'slack', channel: 'C0CLASS', responseUrl: 'http://x/r' };
    const published = await router.invoke({
      platform: 'slack',
      userId: ids.teacher,
      command: 'lab',
      text: 'publish cs101 --note "python 3.13" --snapshot',
      notify,
      onProgress: () => void (notify.ts ??= '1700000000.000001'),
    });
    expect(published.error, published.text).toBeFalsy();
    expect(published.text).toMatch(
      /^cs101-base-v2 published from cs101-teacher \(snapshot lab-publish-v2\)\. Students keep their VMs/,
    );
    expect(guestNamed('cs101-base-v2')!.config.template).toBe('1');
    const [publish] = await services.store.deployments.list({ classId: 'cs101' });
    expect(publish!.notify, 'a process that takes the publish over edits this message').toEqual({
      platform: 'slack',
      channel: 'C0CLASS',
      responseUrl: 'http://x/r',
      ts: '1700000000.000001',
    });
    expect(commands.renderFinishedDeployment(publish!, doneSummary(publish!.id))).toBe(published.text);
    expect(teacher.status).toBe('running');
    expect(env.sim.state.guests.get(bob)).toBe(bobGuest);

    let versions = await as(ids.teacher, 'lab', 'versions cs101');
    expect(versions.text.split('\n')).toEqual([
      expect.stringMatching(/^v1 cs101-base — \d{4}-\d\d-\d\d by lovelace, 2 VM\(s\), on pve1: from template ubuntu$/),
      expect.stringMatching(
        /^v2 cs101-base-v2 \(newest\) — \d{4}-\d\d-\d\d by lovelace, 0 VM\(s\), on pve1: python 3\.13$/,
      ),
    ]);

    const resetNotify: Record<string, unknown> = { platform: 'slack', channel: 'C0CLASS' };
    const aliceReset = await router.invoke({
      platform: 'slack',
      userId: ids.alice,
      command: 'myvm',
      text: 'reset',
      confirmed: true,
      notify: resetNotify,
      onProgress: () => void (resetNotify.ts ??= '1700000000.000002'),
    });
    expect(aliceReset.error, aliceReset.text).toBeFalsy();
    const [reset] = await services.store.deployments.list({ classId: 'cs101' });
    expect(reset!.notify).toEqual({ platform: 'slack', channel: 'C0CLASS', ts: '1700000000.000002' });
    expect(commands.renderFinishedDeployment(reset!, doneSummary(reset!.id))).toMatch(
      /^cs101-alice \(\d+\) re-created from cs101-base-v2\.$/,
    );
    expect(aliceReset.text).toBe(commands.renderFinishedDeployment(reset!, doneSummary(reset!.id)));
    versions = await as(ids.teacher, 'lab', 'versions cs101');
    expect(versions.text).toMatch(/^v1 cs101-base — .*, 1 VM\(s\)/);
    expect(versions.text).toMatch(/\nv2 cs101-base-v2 \(newest\) — .*, 1 VM\(s\)/);
    expect(env.sim.state.guests.get(bob), 'bob keeps his VM').toBe(bobGuest);
    expect(bobGuest!.status, 'and it keeps running').toBe('running');
    expect(env.sim.state.guests.has(v1), 'v1 stays while bob uses it').toBe(true);

    const rebuild = await as(ids.teacher, 'lab', 'rebuild cs101');
    expect(rebuild.confirm).toBeDefined();
    expect(rebuild.text).toContain('from cs101-base-v2');
    expect(rebuild.text.split('\n').slice(1)).toEqual([
      expect.stringMatching(/^• cs101-alice \(\d+ on pve\d, alice's\)$/),
      expect.stringMatching(/^• cs101-bob \(\d+ on pve\d, bob's, running\)$/),
    ]);
    const moved = await as(ids.bob, 'myvm', 'reset', true);
    expect(moved.error, moved.text).toBeFalsy();
    expect(moved.text).toContain('1 copy(ies) of an older template version no VM used any more were deleted');
    expect(env.sim.state.guests.has(v1)).toBe(false);
    expect(env.sim.state.guests.get(bob)!.status).toBe('running');
    expect((await as(ids.teacher, 'lab', 'versions cs101')).text).toMatch(
      /^v2 cs101-base-v2 \(newest\) — .*, 2 VM\(s\)/,
    );
  });

  it('exports the newest base version to Terraform under its own name, so a plan does not rename it', async () => {
    guestNamed('cs101-teacher')!.status = 'running';
    const published = await as(ids.teacher, 'lab', 'publish cs101 --snapshot', true);
    expect(published.error, published.text).toBeFalsy();
    const v3 = guestNamed('cs101-base-v3')!;
    const dir = mkdtempSync(join(tmpdir(), 'lab-tf-versions-'));
    try {
      const result = await exportTerraform(
        { store: services.store },
        {
          classId: 'cs101',
          dir,
          from: 'deployed',
          endpoint: { url: env.sim.url },
          moduleDir: resolve(import.meta.dirname, '../../../terraform/modules/proxmox-class'),
        },
      );
      const tfvars = JSON.parse(readFileSync(join(dir, 'terraform.tfvars.json'), 'utf8')) as Record<string, unknown>;
      expect(tfvars).toMatchObject({ base_name: 'cs101-base-v3', base_vmid: v3.vmid, base_node: v3.node });
      expect(readFileSync(join(dir, 'main.tf'), 'utf8')).toContain(
        `to = module.class.proxmox_virtual_environment_vm.base\n  id = "${v3.node}/${v3.vmid}"`,
      );
      expect(result.imports).toBe(result.vms);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

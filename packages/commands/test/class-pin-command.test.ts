import * as commands from '../src/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CommandRouter, LabServices } from '../src/index.js';
import { ids, useLab } from './lab-fixture.js';

const current = useLab(commands);
let router: CommandRouter;
let services: LabServices;
beforeAll(() => {
  ({ router, services } = current());
});

const slack = (userId: string, text: string) => router.invoke({ platform: 'slack', userId, command: 'class', text });

describe('/class pin', () => {
  it('pins a class to nodes the cluster has and that hold its template, shows the pin and clears it', async () => {
    const pinned = await slack(ids.admin, 'pin cs202 pve2,pve3 pve2');
    expect(pinned.error).toBeFalsy();
    expect(pinned.text).toBe(
      'cs202 is pinned to pve2, pve3: from the next deploy its students are placed only there, spread evenly (existing VMs stay where they are).',
    );
    expect((await services.store.classes.getClass('cs202'))?.pinnedNodes).toEqual(['pve2', 'pve3']);
    expect((await services.store.audit.list({ action: 'class.pin' })).at(0)).toMatchObject({
      actor: 'root',
      target: 'cs202',
      details: { nodes: ['pve2', 'pve3'] },
    });
    expect((await slack(ids.admin, 'pin cs202')).text).toBe('cs202 is pinned to pve2, pve3.');

    const both = await slack(ids.admin, 'pin cs202 pve1 --clear');
    expect(both).toMatchObject({ error: true, text: 'Give nodes or --clear, not both (class pin cs202 pve1,pve2).' });

    const cleared = await slack(ids.admin, 'pin cs202 --clear');
    expect(cleared.text).toMatch(/^cs202 is no longer pinned/);
    expect((await services.store.classes.getClass('cs202'))?.pinnedNodes).toBeNull();
    expect((await slack(ids.admin, 'pin cs202')).text).toBe(
      'cs202 is not pinned: its students spread over every node that can hold them.',
    );
  });

  it('refuses a node the cluster does not have, naming it and the nodes there are, and keeps the old pin', async () => {
    const reply = await slack(ids.admin, 'pin cs101 pve1,pve9');
    expect(reply.error).toBe(true);
    expect(reply.text).toContain(
      'cs101 is pinned to pve9, which the cluster does not have (nodes: pve1, pve2, pve3); pin it to existing nodes',
    );
    expect((await services.store.classes.getClass('cs101'))?.pinnedNodes).toEqual(['pve1']);
  });

  it('is for admins: a teacher of the class is refused', async () => {
    const reply = await slack(ids.teacher, 'pin cs101 pve2');
    expect(reply.error).toBe(true);
    expect((await services.store.classes.getClass('cs101'))?.pinnedNodes).toEqual(['pve1']);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import type { PveSim } from '@lab/pve-sim';
import { InvalidTagError } from '../src/errors/index.js';
import type { ProxmoxClient } from '../src/index.js';
import { normalisePveTags, sameTags } from '../src/pve/pve-tags.js';
import { fastSim } from './helpers.js';
import { labOver } from './deployment-fixture.js';

let sim: PveSim;
let api: ProxmoxClient | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
  await sim?.close();
});

const CONFIG_PUTS = 'PUT /nodes/{node}/qemu/{vmid}/config';

describe('tags as PVE stores them (pve-common pve-tag, pve-guest-common get_unique_tags)', () => {
  it('normalises a tag list like PVE and refuses a tag PVE would refuse before sending it', () => {
    expect(normalisePveTags('Lab,role-student class-CS101;lab')).toBe('class-cs101;lab;role-student');
    expect(normalisePveTags(['replica', 'lab-tpl-3', 'template;linux'])).toBe('lab-tpl-3;linux;replica;template');
    const refused = (() => {
      try {
        return normalisePveTags(['lab', 'class-cs:101']);
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(InvalidTagError);
    expect(refused).toMatchObject({ code: 'LAB_PVE_TAG_INVALID', data: { tag: 'class-cs:101' } });
    expect(sameTags('lab;class-cs101;role-student', 'class-cs101,LAB role-student;lab')).toBe(true);
    expect(sameTags('lab;class-cs101', 'lab;class-cs101;role-student')).toBe(false);
  });

  it('does not rewrite a VM’s tags on a second run when PVE stored them in its own order and case', async () => {
    sim = await fastSim({ timeScale: 400 });
    const lab = await labOver(sim);
    api = lab.api;
    const spec = { classId: 'cs101', count: 3, template: 'ubuntu' };
    expect((await lab.engine.deploy(spec)).status).toBe('done');
    const alice = [...sim.state.guests.values()].find((g) => g.config.name === 'cs101-alice')!;
    expect(alice.config.tags).toBe('class-cs101;lab;role-student');
    // Someone wrote the same tags their own way (a PVE with `tag-style: case-sensitive`, or by hand).
    sim.editGuestConfig(alice.vmid, { tags: 'Role-Student,lab class-cs101' });
    const before = sim.requests.count(CONFIG_PUTS);
    const again = await lab.engine.plan(spec);
    expect(again.counts).toEqual({ create: 0, keep: 5, delete: 0 });
    expect((await (await lab.engine.apply(again)).done).status).toBe('done');
    expect(sim.requests.count(CONFIG_PUTS)).toBe(before);
    expect(sim.state.guests.get(alice.vmid)?.config.tags).toBe('Role-Student,lab class-cs101');
  });
});

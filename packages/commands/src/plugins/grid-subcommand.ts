import { classGrid } from '@lab/proxmox-sdk';
import { classViewSubcommand } from './teacher-access.js';

/**
 * `/lab grid <class>`: the teacher's grid of a class from the store (students, VMs, state, idle,
 * hours, last action and why) as `data`, with a one-line count as text. The web portal's class
 * page renders its data; chat shows the count.
 */
export const gridSubcommand = classViewSubcommand({
  description: 'The class at a glance: students, VMs, state, hours and the last action',
  action: 'see the grid of',
  async run(ctx, o) {
    const grid = await classGrid(ctx.services.store, o.class, ctx.services.clock.now());
    if (!grid) return { text: `There is no class ${o.class}.`, error: true };
    const vms = grid.rows.filter((r) => r.vm);
    const count = (test: (r: (typeof vms)[number]) => boolean) => vms.filter(test).length;
    const students = new Set(grid.rows.map((r) => r.personId)).size;
    return {
      text: `${o.class}: ${students} student(s), ${vms.length} VM(s), ${count((r) => r.vm!.status === 'running')} running, ${count((r) => r.vm!.ready)} ready, ${count((r) => r.idleSince !== null)} idle.`,
      data: grid,
    };
  },
});

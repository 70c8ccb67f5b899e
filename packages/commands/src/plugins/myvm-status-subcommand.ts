import { z } from 'zod';
import { describeLastAction, formatLocalTime, lastPowerActions } from '@lab/proxmox-sdk';
import { subcommand } from '../command-plugin.js';
import { myVms } from './my-vms.js';

/**
 * `/myvm status`: the caller's VMs from the inventory, each with its last power action, who or
 * what did it and why (a session's end, the idle rule and its signal, the quota, a teacher, an
 * admin), from the audit log; `data` carries `lastAction` and the sentence (`why`) for the portal.
 */
export const myvmStatusSubcommand = subcommand({
  description: 'Status of your VMs (from the inventory), and why each last started or stopped',
  options: z.object({}),
  positional: [],
  role: 'student',
  ephemeral: true,
  async run(ctx) {
    const { vms, stale } = await myVms(ctx);
    if (vms.length === 0) return { text: 'You have no VM yet.', data: [] };
    const me = ctx.caller.person.username;
    const last = await lastPowerActions(
      ctx.services.store,
      vms.map((v) => ({ clusterId: v.clusterId, vmid: v.vmid, owner: me })),
    );
    const time = (at: number) => formatLocalTime(at, ctx.services.timezone);
    const rows = vms.map((v) => {
      const action = last.get(`${v.clusterId}/${v.vmid}`);
      return { ...v, lastAction: action ?? null, why: describeLastAction(v.status, action, time) ?? null };
    });
    return {
      text: `${rows.map((v) => `${v.name} (${v.vmid}) on ${v.node}: ${v.status}${v.ip ? `, ${v.ip}` : ''}${v.why ? `\n  ${v.why}` : ''}`).join('\n')}${stale ? '\n(the inventory may be a few minutes old)' : ''}`,
      data: rows,
    };
  },
});

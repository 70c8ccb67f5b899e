import { z } from 'zod';
import type { PowerAction, VmInventoryRecord } from '@lab/proxmox-sdk';
import { subcommand, type CommandContext, type CommandPlugin, type Reply } from '../command-plugin.js';

const vmOption = z.string().regex(/^[a-z0-9-]+$/i, 'name a VM by its id or name').optional().describe('VM id or name, if you have several');

async function myVms(ctx: CommandContext): Promise<{ vms: VmInventoryRecord[]; stale: boolean }> {
  const result = await ctx.services.inventory.listVms({ user: { ...ctx.caller.viewer, role: 'student' } });
  return { vms: result.vms, stale: result.stale };
}

/** The caller's VM named by `vm`, or the only one; otherwise a reply listing the choice. */
async function pick(ctx: CommandContext, vm: string | undefined, verb: string): Promise<VmInventoryRecord | Reply> {
  const { vms } = await myVms(ctx);
  if (vms.length === 0) return { text: 'You have no VM yet. Your teacher deploys them with /lab deploy.', ephemeral: true, error: true };
  if (vm) {
    const found = vms.find((v) => String(v.vmid) === vm || v.name === vm);
    return found ?? { text: `You have no VM '${vm}'. Yours: ${vms.map((v) => `${v.name} (${v.vmid})`).join(', ')}`, ephemeral: true, error: true };
  }
  if (vms.length === 1) return vms[0]!;
  return { text: `You have ${vms.length} VMs; say which: ${vms.map((v) => `/myvm ${verb} ${v.vmid} (${v.name})`).join(', ')}`, ephemeral: true, error: true };
}

function power(action: PowerAction, verb: string, description: string) {
  return subcommand({
    description,
    options: z.object({ vm: vmOption }),
    positional: ['vm'],
    role: 'student',
    ephemeral: true,
    autocomplete: { vm: async (ctx) => (await myVms(ctx)).vms.map((v) => String(v.vmid)) },
    async run(ctx, o) {
      const chosen = await pick(ctx, o.vm, verb);
      if ('text' in chosen) return chosen;
      // Ownership is enforced again inside VmPower, against the store.
      const result = await ctx.services.power.perform({ ...ctx.caller.viewer, role: 'student' }, chosen.clusterId, chosen.vmid, action);
      return { text: `${chosen.name} (${chosen.vmid}) is ${result.status}.`, data: result };
    },
  });
}

/** `/myvm`: start, stop, restart, status and connect for the caller's own VMs. */
export const myvmPlugin: CommandPlugin = {
  name: 'myvm',
  description: 'Your own VM: start, stop, restart, status, connect',
  subcommands: {
    start: power('start', 'start', 'Start your VM'),
    stop: power('stop', 'stop', 'Stop your VM (hard stop)'),
    restart: power('reboot', 'restart', 'Restart your VM'),
    status: subcommand({
      description: 'Status of your VMs (from the inventory)',
      options: z.object({}),
      positional: [],
      role: 'student',
      ephemeral: true,
      async run(ctx) {
        const { vms, stale } = await myVms(ctx);
        if (vms.length === 0) return { text: 'You have no VM yet.', data: [] };
        return { text: `${vms.map((v) => `${v.name} (${v.vmid}) on ${v.node}: ${v.status}${v.ip ? `, ${v.ip}` : ''}`).join('\n')}${stale ? '\n(the inventory may be a few minutes old)' : ''}`, data: vms };
      },
    }),
    connect: subcommand({
      description: 'How to connect to your VM: address and SSH/RDP readiness',
      options: z.object({ vm: vmOption }),
      positional: ['vm'],
      role: 'student',
      ephemeral: true,
      async run(ctx, o) {
        const chosen = await pick(ctx, o.vm, 'connect');
        if ('text' in chosen) return chosen;
        if (chosen.status !== 'running') return { text: `${chosen.name} is ${chosen.status}; start it first with /myvm start.`, error: true };
        if (!chosen.ip) return { text: `${chosen.name} is running but has no address yet (its guest agent is starting); try again in a minute.` };
        const ways = [chosen.sshAvailable ? `ssh ${chosen.ip}` : null, chosen.rdpAvailable ? `RDP to ${chosen.ip}:3389` : null].filter(Boolean);
        return {
          text: `${chosen.name}: ${chosen.ip}. ${ways.length ? `Connect with ${ways.join(' or ')}.` : 'SSH and RDP do not answer yet.'}`,
          fields: [{ label: 'address', value: chosen.ip }, { label: 'SSH', value: chosen.sshAvailable ? 'ready' : 'not ready' }, { label: 'RDP', value: chosen.rdpAvailable ? 'ready' : 'not ready' }],
          data: { ip: chosen.ip, ssh: chosen.sshAvailable, rdp: chosen.rdpAvailable },
        };
      },
    }),
  },
};

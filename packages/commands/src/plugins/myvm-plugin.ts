import { z } from 'zod';
import type { PowerAction } from '@lab/proxmox-sdk';
import { subcommand, type CommandPlugin } from '../command-plugin.js';
import { myVms, myVmSubcommand } from './my-vms.js';
import { myvmResetSubcommand } from './reset-subcommands.js';
import { sshkeySubcommand } from './sshkey-subcommand.js';
import { connectSubcommand } from './connect-subcommand.js';
import { consoleSubcommand } from './console-subcommand.js';
import { myvmKeepSubcommand, myvmUsageSubcommand } from './time-subcommands.js';
import { linkCodeSubcommand } from './link-me-subcommands.js';

function power(action: PowerAction, verb: string, description: string) {
  return myVmSubcommand({
    description,
    verb,
    async run(ctx, chosen) {
      // Ownership is enforced again inside VmPower, against the store.
      const result = await ctx.services.power.perform(
        { ...ctx.caller.viewer, role: 'student' },
        chosen.clusterId,
        chosen.vmid,
        action,
      );
      return { text: `${chosen.name} (${chosen.vmid}) is ${result.status}.`, data: result };
    },
  });
}

/** `/myvm`: start, stop, restart, status, reset, connect and console for the caller's own VMs. */
export const myvmPlugin: CommandPlugin = {
  name: 'myvm',
  description: 'Your own VM: start, stop, restart, status, reset, connect, console, sshkey, usage, keep',
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
        return {
          text: `${vms.map((v) => `${v.name} (${v.vmid}) on ${v.node}: ${v.status}${v.ip ? `, ${v.ip}` : ''}`).join('\n')}${stale ? '\n(the inventory may be a few minutes old)' : ''}`,
          data: vms,
        };
      },
    }),
    reset: myvmResetSubcommand,
    sshkey: sshkeySubcommand,
    connect: connectSubcommand,
    console: consoleSubcommand,
    usage: myvmUsageSubcommand,
    keep: myvmKeepSubcommand,
    'link-code': linkCodeSubcommand,
  },
};

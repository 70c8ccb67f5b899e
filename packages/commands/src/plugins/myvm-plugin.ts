import type { PowerAction } from '@lab/proxmox-sdk';
import type { CommandPlugin } from '../command-plugin.js';
import { myVmSubcommand } from './my-vms.js';
import { myvmResetSubcommand } from './reset-subcommands.js';
import { sshkeySubcommand } from './sshkey-subcommand.js';
import { connectSubcommand } from './connect-subcommand.js';
import { consoleSubcommand } from './console-subcommand.js';
import { myvmKeepSubcommand, myvmUsageSubcommand } from './time-subcommands.js';
import { linkCodeSubcommand } from './link-me-subcommands.js';
import { myvmRestoreSubcommand, myvmSnapshotsSubcommand, myvmSnapshotSubcommand } from './snapshot-subcommands.js';
import { myvmPasswordSubcommand } from './password-subcommand.js';
import { myvmStatusSubcommand } from './myvm-status-subcommand.js';

function power(action: PowerAction, verb: string, description: string, wholeSet = false) {
  return myVmSubcommand({
    description,
    verb,
    wholeSet,
    async run(ctx, chosen, inSet) {
      // Acting on a whole set, a VM already in the wanted state is said so, not asked of PVE again.
      const already = action === 'start' ? 'running' : action === 'stop' ? 'stopped' : undefined;
      if (inSet && already && chosen.status === already)
        return { text: `${chosen.name} (${chosen.vmid}) is already ${already}.`, data: { status: already } };
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
  description:
    'Your own VM: start, stop, restart, status, reset, connect, console, sshkey, usage, keep, snapshot, restore, password',
  subcommands: {
    start: power('start', 'start', 'Start your VM', true),
    stop: power('stop', 'stop', 'Stop your VM (hard stop)', true),
    restart: power('reboot', 'restart', 'Restart your VM'),
    status: myvmStatusSubcommand,
    reset: myvmResetSubcommand,
    sshkey: sshkeySubcommand,
    connect: connectSubcommand,
    console: consoleSubcommand,
    usage: myvmUsageSubcommand,
    keep: myvmKeepSubcommand,
    'link-code': linkCodeSubcommand,
    snapshot: myvmSnapshotSubcommand,
    snapshots: myvmSnapshotsSubcommand,
    restore: myvmRestoreSubcommand,
    password: myvmPasswordSubcommand,
  },
};

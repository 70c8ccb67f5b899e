import { studentCloudInit, type VmInventoryRecord } from '@lab/proxmox-sdk';
import type { CommandContext, ReplyAttachment } from '../command-plugin.js';
import { myVmSubcommand } from './my-vms.js';

/** An `.rdp` file for Microsoft Remote Desktop and compatible clients. */
export function rdpFile(ip: string, username: string | null): string {
  return [
    `full address:s:${ip}:3389`,
    ...(username ? [`username:s:${username}`] : []),
    'prompt for credentials:i:1',
    'screen mode id:i:2',
    'authentication level:i:2',
    '',
  ].join('\r\n');
}

/** The login user of a VM: the class's cloud-init login scheme (default: the lab username). */
async function loginOf(ctx: CommandContext, vm: VmInventoryRecord): Promise<string> {
  const assignment = await ctx.services.store.classes.assignment(vm.clusterId, vm.vmid);
  const ci = assignment?.classId
    ? await studentCloudInit(ctx.services.store, assignment.classId, ctx.caller.person.id)
    : undefined;
  return ci?.ciuser ?? ctx.caller.person.username;
}

/**
 * `/myvm connect [vm]`: the VM's address and SSH/RDP readiness, checked again for this VM now, the
 * `ssh user@ip` line, and for a Windows VM an `.rdp` file.
 */
export const connectSubcommand = myVmSubcommand({
  description: 'How to connect to your VM: address, SSH/RDP readiness, ssh line or .rdp file',
  verb: 'connect',
  async run(ctx, picked) {
    // Readiness as of now: the inventory is refreshed for this VM's cluster before answering.
    const refreshed = await ctx.services.inventory
      .refreshVm(picked.clusterId, picked.vmid)
      .catch((error: unknown) =>
        ctx.services.logger.warn('could not refresh a VM for connect', { vmid: picked.vmid, error }),
      );
    const chosen = refreshed ?? picked;
    if (chosen.status !== 'running')
      return { text: `${chosen.name} is ${chosen.status}; start it first with /myvm start.`, error: true };
    if (!chosen.ip)
      return {
        text: `${chosen.name} is running but has no address yet (its guest agent is starting); try again in a minute.`,
      };
    const user = await loginOf(ctx, chosen);
    const windows = chosen.category === 'windows';
    const attachments: ReplyAttachment[] = windows
      ? [{ filename: `${chosen.name}.rdp`, contentType: 'application/x-rdp', content: rdpFile(chosen.ip, user) }]
      : [];
    const ways = [
      chosen.sshAvailable || !windows ? `ssh ${user}@${chosen.ip}` : null,
      windows ? `Remote Desktop to ${chosen.ip} (open ${chosen.name}.rdp)` : null,
    ].filter(Boolean);
    const readiness = windows
      ? chosen.rdpAvailable
        ? 'Remote Desktop answers.'
        : 'Remote Desktop does not answer yet; Windows may still be starting.'
      : chosen.sshAvailable
        ? 'SSH answers.'
        : 'SSH does not answer yet; the VM may still be booting.';
    return {
      text: `${chosen.name}: ${chosen.ip}. Connect with ${ways.join(' or ')}. ${readiness}`,
      fields: [
        { label: 'address', value: chosen.ip },
        { label: 'SSH', value: chosen.sshAvailable ? 'ready' : 'not ready' },
        { label: 'RDP', value: chosen.rdpAvailable ? 'ready' : 'not ready' },
      ],
      data: {
        ip: chosen.ip,
        ssh: chosen.sshAvailable,
        rdp: chosen.rdpAvailable,
        user,
        sshCommand: `ssh ${user}@${chosen.ip}`,
      },
      ...(attachments.length ? { attachments } : {}),
    };
  },
});

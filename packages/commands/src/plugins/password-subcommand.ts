import { myVmSubcommand } from './my-vms.js';

/**
 * `/myvm password [vm]`: a new random password for the VM's login user, set inside it through the
 * guest agent and shown once, only to the caller (the reply is private; the audit log names the
 * user, never the password). Without an agent the answer says how to reset it instead.
 */
export const myvmPasswordSubcommand = myVmSubcommand({
  description: 'Set a new random password for your VM login (shown once, only to you)',
  verb: 'password',
  async run(ctx, chosen) {
    const { username, password } = await ctx.services.passwords.reset(
      { ...ctx.caller.viewer, role: 'student' },
      chosen.clusterId,
      chosen.vmid,
    );
    return {
      text: `New password for ${username} on ${chosen.name}: ${password}\nIt is shown only this once and not kept anywhere; write it down or change it inside the VM (passwd).`,
      ephemeral: true,
      data: { vm: { name: chosen.name, vmid: chosen.vmid }, username, password },
    };
  },
});

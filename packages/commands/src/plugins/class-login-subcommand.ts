import { z } from 'zod';
import { subcommand } from '../command-plugin.js';
import { classIdOption, classNamed, manageableClasses, mustTeachClass } from './onboarding-options.js';

/**
 * `/class set-login <class> [user] [--ipconfig0 ip=dhcp]`: the cloud-init login scheme of the
 * class's student VMs — one login user for all, or (without `user`) each student's lab username —
 * and optionally their network. Applied at the next deploy or reset.
 */
export const classLoginSubcommand = subcommand({
  description: 'Set how students log in to their VMs (cloud-init user; default: their lab username) and the VM network',
  options: z.object({
    class: classIdOption,
    user: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a login name is lower-case letters, digits, dashes or underscores')
      .optional()
      .describe('one login user for every student (default: each student’s lab username)'),
    ipconfig0: z
      .string()
      .regex(/^[a-z0-9=,./:-]+$/i, 'e.g. ip=dhcp or ip=10.0.0.5/24,gw=10.0.0.1')
      .optional()
      .describe("PVE ipconfig0 of student VMs, e.g. 'ip=dhcp'"),
  }),
  positional: ['class', 'user'],
  role: 'teacher',
  autocomplete: { class: manageableClasses },
  async run(ctx, o) {
    await mustTeachClass(ctx, o.class, 'change the login of');
    const klass = await classNamed(ctx, o.class);
    const { store } = ctx.services;
    const before = await store.classLifecycle.settings(klass.id);
    const record = {
      classId: klass.id,
      loginUser: o.user ?? null,
      ipconfig0: o.ipconfig0 ?? before?.ipconfig0 ?? null,
    };
    await store.classLifecycle.saveSettings(record);
    const template = klass.templateId === null ? undefined : await ctx.services.catalog.get(klass.templateId);
    const cloudInit = template ? await ctx.services.catalog.hasCloudInit(template) : undefined;
    if (template && cloudInit === false)
      return {
        text: `Saved, but template ${template.name} of ${klass.id} has no cloud-init drive, so its VMs get no login user, SSH keys or network from this; add a cloud-init drive to the template (qm set <vmid> --ide2 local-lvm:cloudinit) or set up logins inside it.`,
        data: { ...record, cloudInit },
      };
    const who = record.loginUser ? `log in as ${record.loginUser}` : 'log in with their lab username';
    return {
      text: `Students of ${klass.id} ${who}${record.ipconfig0 ? `; network ${record.ipconfig0}` : ''}, with their SSH keys (/myvm sshkey add). VMs get it when next deployed or reset; the VM name is the hostname (Proxmox has no hostname setting for VMs — cloud-init uses the name).`,
      data: { ...record, cloudInit: cloudInit ?? null },
    };
  },
});

import { z } from 'zod';
import type { LabDefinitionRecord } from '@lab/proxmox-sdk/store';
import { subcommand, type Subcommand } from '../command-plugin.js';
import { listOf } from './onboarding-options.js';
import { classId, classNames, classViewSubcommand, mustTeach } from './teacher-access.js';

/** `attacker=kali-2026` or `target=metaspl-3:2:4096` (role=template[:cores[:memory MiB]]). */
const roleItem = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,15}=[A-Za-z0-9][A-Za-z0-9._-]*(:\d*(:\d+)?)?$/,
    'a role is name=template[:cores[:memory]], e.g. attacker=kali-2026 or target=metaspl-3:2:4096',
  )
  .transform((text) => {
    const [name, rest] = text.split('=') as [string, string];
    const [template, cores, memory] = rest.split(':');
    return {
      name,
      template: template!,
      ...(cores ? { cores: Number(cores) } : {}),
      ...(memory ? { memory: Number(memory) } : {}),
    };
  });

/** A lab definition in one line per role, and its network. */
export function describeLab(lab: LabDefinitionRecord): string[] {
  const net = lab.network;
  return [
    ...lab.roles.map(
      (r) =>
        `• ${r.name}: ${r.template}${r.cores !== null ? `, ${r.cores} cores` : ''}${r.memory !== null ? `, ${r.memory} MiB` : ''}`,
    ),
    `Network: ${net.mode === 'bridge' ? 'the templates’ own bridge' : `one private network per ${net.mode}`}${net.zone ? ` in zone ${net.zone}` : ''}${net.mode === 'bridge' ? '' : net.internet === 'snat' ? ', with internet (SNAT)' : ', no internet'}.`,
  ];
}

/**
 * `/class set-lab cs101 attacker=kali-2026 target=metaspl-3:2:4096 [--network student] [--zone z]
 * [--internet none]`: the VMs each student gets (one per role) and the class's network choice.
 */
export const setLabSubcommand: Subcommand = subcommand({
  description: 'Set the VMs each student gets (role=template[:cores[:memory]]) and the network',
  options: z.object({
    class: classId,
    role: listOf(roleItem, 'roles, e.g. attacker=kali-2026 target=metaspl-3:2:4096 (role=template[:cores[:MiB]])'),
    network: z
      .enum(['bridge', 'class', 'student'])
      .optional()
      .describe('bridge (the template’s, default), class or student: a private network per class or student'),
    zone: z.string().min(1).optional().describe('an SDN zone an admin made (vlan/vxlan); default: a simple zone'),
    internet: z.enum(['snat', 'none']).optional().describe('private networks: snat (default) or none'),
  }),
  positional: ['class', 'role'],
  role: 'teacher',
  autocomplete: { class: classNames },
  async run(ctx, o) {
    await mustTeach(ctx, o.class, 'set the lab of');
    const lab = await ctx.services.engine.setLabDefinition({
      classId: o.class,
      roles: o.role,
      network: {
        mode: o.network ?? 'bridge',
        ...(o.zone ? { zone: o.zone } : {}),
        ...(o.internet ? { internet: o.internet } : {}),
      },
      actor: ctx.caller.person.username,
    });
    return {
      text: [
        `${o.class}: each student gets ${lab.roles.length} VM(s):`,
        ...describeLab(lab),
        ...(lab.network.mode !== 'bridge' && !ctx.services.engine.hasNetworks()
          ? [
              `Warning: this lab has no SDN settings, so /lab deploy ${o.class} will be refused until an admin adds an "sdn" section to lab.config.json (e.g. "sdn": { "prefix": "lab" }).`,
            ]
          : []),
        `Deploy them with /lab deploy ${o.class} <count>.`,
      ].join('\n'),
      data: lab,
    };
  },
});

/** `/class lab cs101`: the class's lab definition, or that it has one VM per student. */
export const labSubcommand: Subcommand = classViewSubcommand({
  description: 'Show the VMs each student of a class gets and its network',
  action: 'see the lab of',
  async run(ctx, o) {
    const lab = await ctx.services.store.labDefinitions.get(o.class);
    if (!lab)
      return {
        text: `${o.class} gives each student one VM from its template; set roles with /class set-lab ${o.class} attacker=<template> target=<template>.`,
        ephemeral: true,
        data: null,
      };
    return {
      text: [`${o.class}: each student gets ${lab.roles.length} VM(s):`, ...describeLab(lab)].join('\n'),
      ephemeral: true,
      data: lab,
    };
  },
});

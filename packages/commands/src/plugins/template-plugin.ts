import { z } from 'zod';
import {
  checkTemplateHealth,
  replicateTemplate,
  scanTemplateInventory,
  templateDistribution,
  templateStatistics,
  type LabTemplate,
  type TemplateInventoryRecord,
} from '@lab/proxmox-sdk';
import { subcommand, type CommandContext, type CommandPlugin } from '../command-plugin.js';
import { wholeNumber } from '../number-option.js';
import { listOf } from './onboarding-options.js';

const templateName = z
  .string({ error: 'name a template' })
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/, 'a template name is letters, digits, dots, dashes or underscores')
  .describe('template name, e.g. ubuntu-24.04');
const nodeName = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/, 'a node name is letters, digits, dots and dashes')
  .describe('node name, e.g. pve1');
const mapping = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}=\d{3,9}$/, 'a mapping is node=vmid, e.g. pve1=9000');
const clusterOption = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/, 'a cluster id is lower-case letters, digits and dashes')
  .optional()
  .describe('cluster id (default: the first)');

const parseMapping = (m: string, clusterId: string) => {
  const [node, vmid] = m.split('=') as [string, string];
  return { clusterId, node, vmid: Number(vmid) };
};

const describeTemplate = (t: LabTemplate): string =>
  `${t.name} (${t.record.memory} MiB, ${t.record.cores} cores${t.record.isActive ? '' : ', inactive'}): ${t.mappings.map((m) => `${m.node}=${m.vmid}`).join(', ') || 'no nodes'}`;

const describeEntry = (r: TemplateInventoryRecord): string =>
  `${r.clusterId}/${r.node} ${r.vmid} ${r.name}${r.isReplica ? ` (replica${r.sourceVmid ? ` of ${r.sourceVmid}` : ''})` : ''}${r.isClassTemplate ? ` (class ${r.classId})` : ''} — ${r.health}${r.lastVerifiedAt ? `, verified ${new Date(r.lastVerifiedAt).toISOString().slice(0, 16).replace('T', ' ')}` : ''}`;

async function templateNames(ctx: CommandContext): Promise<string[]> {
  return (await ctx.services.catalog.list()).map((t) => t.name);
}

/** `template`: the lab's templates, where they live, and the template VMs of the clusters (admins; list for teachers). */
export const templatePlugin: CommandPlugin = {
  name: 'template',
  description: 'Register, map, scan, replicate and check templates (admins)',
  subcommands: {
    add: subcommand({
      description: 'Register a template: each --map node=vmid is checked against the cluster first',
      options: z.object({
        name: templateName,
        map: listOf(mapping, 'node=vmid, once per node (e.g. pve1=9000)'),
        cluster: clusterOption,
        memory: wholeNumber('memory of its VMs in MiB', 16, 1_048_576).default(2048),
        cores: wholeNumber('cores of its VMs', 1, 512).default(2),
        description: z.string().max(200).optional().describe('what is on it'),
      }),
      positional: ['name'],
      role: 'admin',
      async run(ctx, o) {
        const clusterId = o.cluster ?? ctx.services.defaultClusterId;
        const t = await ctx.services.catalog.create({
          name: o.name,
          memory: o.memory,
          cores: o.cores,
          mappings: o.map.map((m) => parseMapping(m, clusterId)),
          ...(o.description ? { description: o.description } : {}),
        });
        return { text: `Registered ${describeTemplate(t)}.`, data: { name: t.name, mappings: t.mappings } };
      },
    }),
    map: subcommand({
      description: 'Add a node to a template (checked against the cluster first)',
      options: z.object({ name: templateName, map: mapping.describe('node=vmid'), cluster: clusterOption }),
      positional: ['name', 'map'],
      role: 'admin',
      autocomplete: { name: templateNames },
      async run(ctx, o) {
        const t = await ctx.services.catalog.addMapping(
          o.name,
          parseMapping(o.map, o.cluster ?? ctx.services.defaultClusterId),
        );
        return { text: `Mapped: ${describeTemplate(t)}.` };
      },
    }),
    unmap: subcommand({
      description: 'Remove a node from a template (not its last one)',
      options: z.object({ name: templateName, node: nodeName, cluster: clusterOption }),
      positional: ['name', 'node'],
      role: 'admin',
      autocomplete: { name: templateNames },
      async run(ctx, o) {
        const t = await ctx.services.catalog.removeMapping(o.name, o.cluster ?? ctx.services.defaultClusterId, o.node);
        return { text: `Now: ${describeTemplate(t)}.` };
      },
    }),
    list: subcommand({
      description: 'List the templates and their nodes',
      options: z.object({}),
      positional: [],
      role: 'teacher',
      ephemeral: true,
      async run(ctx) {
        const all = await ctx.services.catalog.list();
        return {
          text: all.length ? all.map(describeTemplate).join('\n') : 'No templates yet; register one with template add.',
          data: all.map((t) => ({ ...t.record, mappings: t.mappings })),
        };
      },
    }),
    show: subcommand({
      description: 'Show a template, its nodes, their health and the classes using it',
      options: z.object({ name: templateName }),
      positional: ['name'],
      role: 'teacher',
      ephemeral: true,
      autocomplete: { name: templateNames },
      async run(ctx, o) {
        const { catalog, store } = ctx.services;
        const t = await catalog.get(o.name);
        const inventory = await store.templateInventory.list();
        const health = t.mappings.map((m) => {
          const r = inventory.find((x) => x.clusterId === m.clusterId && x.node === m.node && x.vmid === m.vmid);
          return `${m.clusterId}/${m.node} ${m.vmid}: ${r ? r.health : 'not scanned yet'}`;
        });
        const classes = (await store.classes.listClasses()).filter((c) => c.templateId === t.id).map((c) => c.id);
        return {
          text: [describeTemplate(t), ...health, `classes: ${classes.join(', ') || 'none'}`].join('\n'),
          data: { ...t.record, mappings: t.mappings, classes },
        };
      },
    }),
    remove: subcommand({
      description: 'Remove a template (refused while classes use it, unless --force; VMs are not touched)',
      options: z.object({
        name: templateName,
        force: z.boolean().default(false).describe('remove even if classes use it (they lose their template)'),
      }),
      positional: ['name'],
      role: 'admin',
      autocomplete: { name: templateNames },
      async run(ctx, o) {
        const { catalog, store } = ctx.services;
        const t = await catalog.get(o.name);
        const classes = (await store.classes.listClasses()).filter((c) => c.templateId === t.id).map((c) => c.id);
        if (classes.length && !o.force)
          return {
            text: `${t.name} is the template of ${classes.join(', ')}; set another with class set-template, or remove with --force.`,
            error: true,
          };
        await store.templates.delete(t.id);
        return { text: `Removed template ${t.name}; its VMs on the cluster are untouched.` };
      },
    }),
    scan: subcommand({
      description: "Scan and check every cluster's template VMs, then list them (filters: --node --cluster --vmid, …)",
      options: z.object({
        node: nodeName.optional(),
        cluster: clusterOption,
        replicas: z.boolean().optional().describe('only replicas'),
        'class-templates': z.boolean().optional().describe('only class templates'),
        class: z.string().optional().describe('only the class template of this class'),
        vmid: wholeNumber('only this VMID', 100, 999_999_999).optional(),
      }),
      positional: [],
      role: 'admin',
      ephemeral: true,
      async run(ctx, o) {
        const { store, clusters, clock, logger } = ctx.services;
        const reports = await scanTemplateInventory(
          { store, clusters, clock },
          o.cluster ? { clusterIds: [o.cluster] } : {},
        );
        // Verify what was found the way `template check` does, so both say the same of every template.
        await checkTemplateHealth({ store, clusters, clock, logger });
        const rows = await store.templateInventory.list({
          ...(o.cluster ? { clusterId: o.cluster } : {}),
          ...(o.node ? { node: o.node } : {}),
          ...(o.vmid !== undefined ? { vmid: o.vmid } : {}),
          ...(o.replicas !== undefined ? { isReplica: o.replicas } : {}),
          ...(o['class-templates'] !== undefined ? { isClassTemplate: o['class-templates'] } : {}),
          ...(o.class ? { classId: o.class } : {}),
        });
        const summary = reports
          .map((r) => `${r.clusterId}: ${r.found} template(s), ${r.added} new, ${r.vanished} gone`)
          .join('; ');
        return {
          text: `${summary}\n${rows.map(describeEntry).join('\n') || 'No template matches.'}`,
          data: { reports, templates: rows },
        };
      },
    }),
    nodes: subcommand({
      description: 'Where a template (by name or VMID) is, across nodes',
      options: z.object({ template: z.string().min(1).describe('template name or VMID') }),
      positional: ['template'],
      role: 'teacher',
      ephemeral: true,
      async run(ctx, o) {
        const { store } = ctx.services;
        const rows = /^\d+$/.test(o.template)
          ? (await store.templateInventory.list({ vmid: Number(o.template) })).flatMap((r) =>
              store.templateInventory.list({ name: r.name }),
            )
          : [templateDistribution(store, o.template)];
        const found = (await Promise.all(rows)).flat();
        const unique = [...new Map(found.map((r) => [`${r.clusterId}/${r.node}/${r.vmid}`, r])).values()];
        if (!unique.length)
          return { text: `No template '${o.template}' in the inventory; run template scan first.`, error: true };
        return {
          text: unique.map((r) => `${r.clusterId}/${r.node}: ${r.vmid}${r.isReplica ? ' (replica)' : ''}`).join('\n'),
          data: unique,
        };
      },
    }),
    stats: subcommand({
      description: 'Template totals: originals, replicas, class templates, per node',
      options: z.object({ cluster: clusterOption }),
      positional: [],
      role: 'teacher',
      ephemeral: true,
      async run(ctx, o) {
        const s = await templateStatistics(ctx.services.store, o.cluster);
        return {
          text: `${s.total} template(s): ${s.originals} original(s), ${s.replicas} replica(s), ${s.classTemplates} class template(s)\n${Object.entries(
            s.perNode,
          )
            .map(([node, n]) => `${node}: ${n}`)
            .join('\n')}`,
          data: s,
        };
      },
    }),
    replicate: subcommand({
      description: 'Copy a template to nodes that lack it (--to pve3, repeatable)',
      options: z.object({ name: templateName, to: listOf(nodeName, 'node to copy it to'), cluster: clusterOption }),
      positional: ['name'],
      role: 'admin',
      autocomplete: { name: templateNames },
      async run(ctx, o) {
        const { store, clusters, clock, logger, catalog } = ctx.services;
        const t = await catalog.get(o.name);
        let done = 0;
        ctx.progress({ label: t.name, done, total: o.to.length, note: 'replicating' });
        const results = await replicateTemplate({ store, clusters, clock, logger }, t, o.to, {
          ...(o.cluster ? { clusterId: o.cluster } : {}),
          onProgress: (e) => {
            if (e.phase === 'registered')
              ctx.progress({ label: t.name, done: ++done, total: o.to.length, note: e.node });
          },
        });
        return { text: results.map((r) => `${r.node}: ${r.vmid} ${r.status}`).join('\n'), data: results };
      },
    }),
    check: subcommand({
      description: 'Check every registered template VM: exists, is a template, has its boot disk',
      options: z.object({}),
      positional: [],
      role: 'admin',
      ephemeral: true,
      async run(ctx) {
        const { store, clusters, clock, logger } = ctx.services;
        const report = await checkTemplateHealth({ store, clusters, clock, logger });
        const lines = report.problems.map(
          (p) => `${p.clusterId}/${p.node} ${p.vmid} ${p.name}: ${p.health} — ${p.detail}`,
        );
        return {
          text: `${report.healthy} of ${report.checked} template VM(s) healthy${lines.length ? `:\n${lines.join('\n')}` : '.'}`,
          data: report,
        };
      },
    }),
  },
};

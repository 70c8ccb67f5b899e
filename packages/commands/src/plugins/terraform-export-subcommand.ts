import { z } from 'zod';
import { assertTerraformExportable, describeTerraformWorkspace } from '@lab/proxmox-sdk/terraform';
import { TerraformExportError } from '@lab/proxmox-sdk/errors';
import { subcommand, type CommandContext, type Reply, type Subcommand } from '../command-plugin.js';
import { wholeNumber } from '../number-option.js';
import { classId, classNames, mustTeach } from './teacher-access.js';

const COUNT = 'with --from plan: student VMs (default: the enrolled students)';

/**
 * `class export-terraform <class>`: the class as a Terraform workspace (bpg/proxmox), from the
 * placement Proxmox Lab would choose (`--from plan`, the default for a class with no VMs) or adopting
 * what is deployed (`--from deployed`). The reply's `data` is the workspace (`TerraformWorkspace`);
 * the CLI writes it to disk with the cluster's endpoint, so only a teacher of the class (or an
 * admin) gets it, whichever front end asks.
 */
export const terraformExportSubcommand: Subcommand = subcommand({
  description: 'Terraform workspace (bpg/proxmox) of a class: from plan deploys it, from deployed adopts its VMs',
  options: z.object({
    class: classId,
    from: z
      .enum(['plan', 'deployed'])
      .optional()
      .describe('plan (default for a class with no VMs) or deployed (import blocks for every VM)'),
    count: wholeNumber(COUNT, 0, 500).optional().describe(COUNT),
    cluster: z.string().min(1).optional().describe("the cluster (default: the class template's)"),
    'vmid-range': z
      .string()
      .regex(/^\d+-\d+$/, 'takes FIRST-LAST, e.g. 5000-5099')
      .optional()
      .describe('with --from plan: pin VMIDs from this range instead of letting Proxmox choose'),
  }),
  positional: ['class'],
  role: 'teacher',
  ephemeral: true,
  autocomplete: { class: classNames },
  async run(ctx, o) {
    await mustTeach(ctx, o.class, 'export');
    try {
      return await describeWorkspace(ctx, o);
    } catch (error) {
      // The class cannot be exported as asked: the message says what to do, nothing failed.
      if (error instanceof TerraformExportError) return { text: error.message, ephemeral: true, error: true };
      throw error;
    }
  },
});

async function describeWorkspace(
  ctx: CommandContext,
  o: {
    class: string;
    from?: 'plan' | 'deployed' | undefined;
    count?: number | undefined;
    cluster?: string | undefined;
    'vmid-range'?: string | undefined;
  },
): Promise<Reply> {
  const { store, engine } = ctx.services;
  // A class with several VMs per student is refused first, saying what to run instead.
  await assertTerraformExportable({ store }, o.class);
  const deployed = (await store.classes.assignmentsOfClass(o.class)).length > 0;
  const from = o.from ?? (deployed ? 'deployed' : 'plan');
  let plan;
  if (from === 'plan') {
    const klass = await store.classes.getClass(o.class);
    const template = klass?.templateId ? await store.templates.get(klass.templateId) : undefined;
    if (!klass || !template)
      throw new TerraformExportError(
        `Class ${o.class} needs a template to plan from; set one with \`lab class set-template ${o.class} <template>\`.`,
        { classId: o.class },
      );
    const count = o.count ?? (await store.classes.members(o.class)).filter((m) => m.role === 'student').length;
    plan = await engine.plan({
      classId: o.class,
      count,
      template: template.name,
      ...(o.cluster ? { clusterId: o.cluster } : {}),
      // The Terraform module clones students where the base is and copies no base to other nodes.
      strategy: 'pack',
      requestedBy: ctx.caller.person.username,
    });
  }
  const range = o['vmid-range']?.split('-').map(Number);
  const workspace = await describeTerraformWorkspace(
    { store },
    {
      classId: o.class,
      from,
      ...(plan ? { plan } : {}),
      ...((plan?.clusterId ?? o.cluster) ? { clusterId: plan?.clusterId ?? o.cluster } : {}),
      ...(range ? { vmidRange: { first: range[0]!, last: range[1]! } } : {}),
    },
  );
  const imports = from === 'deployed' ? workspace.vms.length : 0;
  return {
    text: `${o.class} as a Terraform workspace on cluster ${workspace.clusterId}: ${workspace.vms.length} VMs${imports ? `, ${imports} to import` : ''} (from ${from}). \`lab class export-terraform ${o.class}\` writes it.`,
    data: workspace,
  };
}

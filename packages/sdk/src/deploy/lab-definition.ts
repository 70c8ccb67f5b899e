import { z } from 'zod';
import type { Clock } from '../ports/clock.js';
import type { LabDefinitionRecord, LabNetworkChoice } from '../store/lab-definition-repository.js';
import type { Store } from '../store/store.js';
import type { TemplateCatalog } from '../templates/template-catalog.js';
import { labRoleOfTags } from '../templates/class-vm-names.js';
import { InvalidDeploymentError, type ClassSpecInput } from './class-spec.js';

const roleName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,15}$/, 'a role is 1–16 lower-case letters, digits or dashes, starting with a letter');

/** What `/class set-lab` is given: the roles each student gets and the network choice. */
export const labDefinitionInputSchema = z
  .object({
    classId: z.string().min(1),
    roles: z
      .array(
        z
          .object({
            name: roleName,
            template: z.string().min(1, 'name a template'),
            cores: z.number().int().min(1, 'at least 1 core').max(128, 'at most 128 cores').nullish(),
            memory: z
              .number()
              .int()
              .min(64, 'at least 64 MiB of memory')
              .max(4_194_304, 'at most 4 TiB of memory')
              .nullish(),
          })
          .strict(),
      )
      .min(1, 'give at least one role (attacker=kali-2026)')
      .max(8, 'at most 8 roles per student'),
    network: z
      .object({
        mode: z.enum(['bridge', 'class', 'student']).default('bridge'),
        zone: z
          .string()
          .regex(/^[a-z][a-z0-9]{0,7}$/, 'an SDN zone id is 1–8 lower-case letters or digits, starting with a letter')
          .nullish(),
        internet: z.enum(['snat', 'none']).default('snat'),
      })
      .strict()
      .default({ mode: 'bridge', internet: 'snat' }),
    actor: z.string().default('system'),
  })
  .strict();

/** A lab definition as given to {@link setLabDefinition}. */
export type LabDefinitionInput = z.input<typeof labDefinitionInputSchema>;

/**
 * Validates and stores a class's lab definition (`/class set-lab`): role names unique, each
 * template in the catalog and active, a zone or `--internet none` only with a private network.
 * Audited as `class.set-lab`. Existing VMs are untouched until the next deploy.
 */
export async function setLabDefinition(
  deps: { store: Store; catalog: TemplateCatalog; clock: Clock },
  input: LabDefinitionInput,
): Promise<LabDefinitionRecord> {
  const parsed = labDefinitionInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidDeploymentError(`${issue.path.join('.') || 'lab'}: ${issue.message}`, {
      field: issue.path.join('.'),
    });
  }
  const { classId, roles, network, actor } = parsed.data;
  if (!(await deps.store.classes.getClass(classId)))
    throw new InvalidDeploymentError(`no class '${classId}'; create it first`, { classId });
  const seen = new Set<string>();
  for (const r of roles) {
    if (seen.has(r.name))
      throw new InvalidDeploymentError(`role '${r.name}' is given twice; give each role once`, { role: r.name });
    seen.add(r.name);
  }
  const active = new Set((await deps.catalog.list({ activeOnly: true })).map((t) => t.name));
  for (const r of roles)
    if (!active.has(r.template))
      throw new InvalidDeploymentError(
        `role '${r.name}': no active template '${r.template}'${active.size ? ` (templates: ${[...active].sort().join(', ')})` : ''}`,
        { role: r.name, template: r.template },
      );
  const choice: LabNetworkChoice = { mode: network.mode, zone: network.zone ?? null, internet: network.internet };
  if (choice.mode === 'bridge' && (choice.zone !== null || choice.internet === 'none'))
    throw new InvalidDeploymentError(
      'a zone and --internet none need a private network: add --network class or --network student',
      { field: 'network' },
    );
  const now = deps.clock.now();
  const record: LabDefinitionRecord = {
    classId,
    roles: roles.map((r) => ({ name: r.name, template: r.template, cores: r.cores ?? null, memory: r.memory ?? null })),
    network: choice,
    updatedBy: actor,
    updatedAt: now,
  };
  await deps.store.transaction(async (tx) => {
    await tx.labDefinitions.save(record);
    await tx.audit.record({
      at: now,
      actor,
      action: 'class.set-lab',
      target: classId,
      outcome: 'ok',
      details: { roles: record.roles, network: record.network },
    });
  });
  return record;
}

/** Forgets a class's lab definition (back to one VM per student from the class's template); audited. */
export async function clearLabDefinition(
  deps: { store: Store; clock: Clock },
  request: { classId: string; actor: string },
): Promise<boolean> {
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const had = await tx.labDefinitions.delete(request.classId);
    if (had)
      await tx.audit.record({
        at: now,
        actor: request.actor,
        action: 'class.clear-lab',
        target: request.classId,
        outcome: 'ok',
        details: {},
      });
    return had;
  });
}

/**
 * The class specs a deploy of `spec` runs, one per role of the class's lab definition (each with
 * the role's template, name, cores and memory), in the definition's order; `[spec]` itself for a
 * class without one. `only` keeps one role (an unknown one fails, naming the roles).
 */
export function labRoleSpecs(
  definition: LabDefinitionRecord | undefined,
  spec: ClassSpecInput,
  only?: string,
): ClassSpecInput[] {
  if (!definition) {
    if (only)
      throw new InvalidDeploymentError(`${spec.classId} has no roles; set them with /class set-lab first`, {
        classId: spec.classId,
      });
    return [spec];
  }
  const roles = only ? definition.roles.filter((r) => r.name === only) : definition.roles;
  if (roles.length === 0)
    throw new InvalidDeploymentError(
      `${spec.classId} has no role '${only}' (roles: ${definition.roles.map((r) => r.name).join(', ')})`,
      { classId: spec.classId, role: only },
    );
  return roles.map((r) => ({
    ...spec,
    template: r.template,
    labRole: {
      name: r.name,
      ...(r.cores !== null ? { cores: r.cores } : {}),
      ...(r.memory !== null ? { memory: r.memory } : {}),
    },
  }));
}

/** The lab role a VM plays (from its tags), or undefined for the VM of a class with one unnamed role. */
export function labRoleOfVm(vm: { tags?: string | null | undefined }): string | undefined {
  return labRoleOfTags(vm.tags);
}

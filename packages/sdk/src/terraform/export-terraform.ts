import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { currentBaseVersion } from '../deploy/base-versions.js';
import { baseVmName } from '../templates/class-vm-names.js';
import type { ClassPlan } from '../deploy/plan-class.js';
import { LabError } from '../errors/lab-error.js';
import type { Store } from '../store/store.js';

/** A class cannot be exported as asked; the message says what to do instead. */
export class TerraformExportError extends LabError {
  static override readonly code: string = 'LAB_TERRAFORM_EXPORT';
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(TerraformExportError.code, message, data);
  }
}

/** How the provider reaches PVE: from the lab's configuration, never a placeholder. */
export interface TerraformEndpoint {
  /** `https://host:8006`. */
  url: string;
  /** Only when the lab itself is configured `insecure` for this cluster. @defaultValue false */
  insecure?: boolean;
  /** PEM of the CA that signed the node certificates, written next to the workspace for `SSL_CERT_FILE`. */
  caPem?: string;
}

/** What to export. */
export interface TerraformExportRequest {
  classId: string;
  /** The workspace directory, conventionally `terraform/classes/<class>`. */
  dir: string;
  /**
   * `plan`: a workspace that deploys the class from `plan` (Proxmox Lab's placement); `deployed`:
   * one that adopts the class's existing VMs with `import` blocks.
   */
  from: 'plan' | 'deployed';
  /** The plan to export (`DeploymentEngine.plan`), for `from: 'plan'`. */
  plan?: ClassPlan;
  endpoint: TerraformEndpoint;
  /** The `proxmox-class` module to copy into the workspace (`terraform/modules/proxmox-class`). */
  moduleDir: string;
  /** Cluster of the class's VMs. @defaultValue the plan's, else the cluster of its first VM */
  clusterId?: string;
  /** Pins VMIDs for `from: 'plan'` (teacher, base, then students in order); otherwise PVE chooses. */
  vmidRange?: { first: number; last: number };
}

/** What was written. */
export interface TerraformExportResult {
  dir: string;
  files: string[];
  /** VMs the workspace declares. */
  vms: number;
  /** `import` blocks (existing VMs Terraform adopts). */
  imports: number;
}

/** One VM of an exported class: its role, node, VMID (null: PVE chooses) and a student's key. */
export interface TerraformClassVm {
  role: 'teacher' | 'base' | 'student';
  /** A student's name within the class (`alice` of `cs101-alice`). */
  key?: string;
  /** The VM's name when it is not the module's default (`cs101-base-v2`). */
  name?: string;
  node: string;
  vmid: number | null;
}
type ClassVm = TerraformClassVm;

/** What a class's Terraform workspace declares, read from the store (and the plan): no endpoint, no files. */
export interface TerraformWorkspace {
  classId: string;
  from: 'plan' | 'deployed';
  clusterId: string;
  /** Teacher, base template and students. */
  vms: TerraformClassVm[];
  /** The class template's VMID on each node of the cluster. */
  templateVmids: Record<string, number>;
  sharedStorage: boolean;
}

/** What {@link describeTerraformWorkspace} needs: the request without where and how to write it. */
export type TerraformWorkspaceRequest = Omit<TerraformExportRequest, 'dir' | 'endpoint' | 'moduleDir'>;

/**
 * Writes a self-contained Terraform workspace for one class: `main.tf` (the bpg/proxmox provider,
 * the `proxmox-class` module copied to `modules/proxmox-class`, and — for a deployed class —
 * `import` blocks with bpg's `<node>/<vmid>` ids for every VM), `terraform.tfvars.json` with the data,
 * and `pve-root-ca.pem` when a CA is given. No secret is written: the provider reads the token from
 * `PROXMOX_VE_API_TOKEN` (or `TF_VAR_proxmox_api_token`, a sensitive variable).
 */
export async function exportTerraform(
  deps: { store: Store },
  request: TerraformExportRequest,
): Promise<TerraformExportResult> {
  checkedEndpoint(request.endpoint);
  const { dir, endpoint, moduleDir, ...what } = request;
  return writeTerraformWorkspace(await describeTerraformWorkspace(deps, what), { dir, endpoint, moduleDir });
}

/**
 * The class's workspace as data, from the store (`from: 'deployed'`) or the plan (`from: 'plan'`);
 * a `TerraformExportError` says why the class cannot be exported as asked.
 */
export async function describeTerraformWorkspace(
  deps: { store: Store },
  request: TerraformWorkspaceRequest,
): Promise<TerraformWorkspace> {
  const { classId } = request;
  const klass = await deps.store.classes.getClass(classId);
  if (!klass) throw new TerraformExportError(`There is no class '${classId}'; create it first.`, { classId });
  await assertTerraformExportable(deps, classId);
  const { vms, clusterId, templateName } =
    request.from === 'plan' ? vmsFromPlan(request) : await vmsDeployed(deps.store, classId, request.clusterId);
  const template = templateName
    ? await deps.store.templates.getByName(templateName)
    : klass.templateId !== null
      ? await deps.store.templates.get(klass.templateId)
      : undefined;
  if (!template)
    throw new TerraformExportError(
      `Class ${classId} has no template to clone from; set one with \`lab class set-template ${classId} <template>\`.`,
      { classId },
    );
  const templateVmids: Record<string, number> = Object.fromEntries(
    (await deps.store.templates.mappings(template.id))
      .filter((m) => m.clusterId === clusterId)
      .map((m) => [m.node, m.vmid]),
  );
  const teacher = vms.find((v) => v.role === 'teacher');
  const base = vms.find((v) => v.role === 'base');
  if (!teacher || !base)
    throw new TerraformExportError(
      `Class ${classId} has no ${teacher ? 'base template' : 'teacher VM'} to export; deploy it or export --from plan.`,
      { classId },
    );
  for (const vm of [teacher, base]) {
    if (request.from === 'plan' && templateVmids[vm.node] === undefined)
      throw new TerraformExportError(`Template ${template.name} has no copy on ${vm.node}; map one there first.`, {
        node: vm.node,
      });
  }
  return {
    classId,
    from: request.from,
    clusterId,
    vms,
    templateVmids,
    sharedStorage: request.plan?.storage.shared ?? false,
  };
}

/**
 * Fails with `TerraformExportError` when the module cannot express the class: one with several VMs
 * per student (roles, private networks). Call it before planning the class for an export.
 */
export async function assertTerraformExportable(deps: { store: Store }, classId: string): Promise<void> {
  const lab = await deps.store.labDefinitions.get(classId);
  if (lab) throw roleClassRefusal(classId, lab);
}

/**
 * A class with several VMs per student cannot be one `proxmox-class` module (one template, one
 * VM per student, the templates' bridge): its roles' templates and sizes, the names and
 * `labrole-` tags the lab gives their VMs and its private networks (SDN, recorded by the lab) are
 * not in the module. The refusal names each role and says what to run instead.
 */
function roleClassRefusal(
  classId: string,
  lab: {
    roles: ReadonlyArray<{ name: string; template: string; cores: number | null; memory: number | null }>;
    network: { mode: string };
  },
): TerraformExportError {
  const roles = lab.roles
    .map(
      (r) =>
        `${r.name}=${r.template}${r.cores !== null ? `:${r.cores}` : ''}${r.memory !== null ? `${r.cores === null ? ':' : ''}:${r.memory}` : ''}`,
    )
    .join(' ');
  const networks =
    lab.network.mode === 'bridge'
      ? ''
      : ` and its private network${lab.network.mode === 'student' ? 's (one per student)' : ''} on Proxmox SDN`;
  return new TerraformExportError(
    `Class ${classId} gives each student several VMs (${roles})${networks}; the Terraform module declares one template and one VM per student, so it cannot express them. Deploy and scale it with \`lab deploy ${classId} <seats>\` (one deployment per role${networks ? ', networks first' : ''}), which the lab keeps crash-safe; Terraform export works for classes without roles.`,
    { classId, roles: lab.roles.map((r) => r.name), network: lab.network.mode },
  );
}

/** Writes `workspace` into `target.dir` (see {@link exportTerraform}), with the endpoint the provider uses. */
export function writeTerraformWorkspace(
  workspace: TerraformWorkspace,
  target: Pick<TerraformExportRequest, 'dir' | 'endpoint' | 'moduleDir'>,
): TerraformExportResult {
  const endpoint = checkedEndpoint(target.endpoint);
  const { classId, vms } = workspace;
  const teacher = vms.find((v) => v.role === 'teacher');
  const base = vms.find((v) => v.role === 'base');
  if (!teacher || !base)
    throw new TerraformExportError(`The workspace of ${classId} needs a teacher VM and a base template.`, { classId });
  const students = vms.filter((v) => v.role === 'student');
  const tfvars = {
    proxmox_endpoint: endpoint.url,
    proxmox_insecure: endpoint.insecure,
    class_id: classId,
    template_vmids: workspace.templateVmids,
    teacher_node: teacher.node,
    base_node: base.node,
    students: Object.fromEntries(
      students.map((s) => [s.key!, { node: s.node, ...(s.vmid !== null ? { vmid: s.vmid } : {}) }]),
    ),
    teacher_vmid: teacher.vmid,
    base_vmid: base.vmid,
    base_name: base.name && base.name !== baseVmName(workspace.classId) ? base.name : null,
    shared_storage: workspace.sharedStorage,
  };
  const imports =
    workspace.from === 'deployed'
      ? [
          importBlock('proxmox_virtual_environment_vm.teacher', teacher),
          importBlock('proxmox_virtual_environment_vm.base', base),
          ...students.map((s) => importBlock(`proxmox_virtual_environment_vm.student["${s.key}"]`, s)),
        ]
      : [];
  mkdirSync(target.dir, { recursive: true });
  cpSync(target.moduleDir, join(target.dir, 'modules', 'proxmox-class'), {
    recursive: true,
    filter: (src) => !/\.terraform|\.tfstate/.test(src),
  });
  const files = ['main.tf', 'terraform.tfvars.json', 'modules/proxmox-class/'];
  writeFileSync(join(target.dir, 'main.tf'), mainTf(classId, workspace.from, imports));
  writeFileSync(join(target.dir, 'terraform.tfvars.json'), `${JSON.stringify(tfvars, null, 2)}\n`);
  if (endpoint.caPem) {
    writeFileSync(join(target.dir, 'pve-root-ca.pem'), endpoint.caPem);
    files.push('pve-root-ca.pem');
  }
  return { dir: target.dir, files, vms: vms.length, imports: imports.length };
}

function checkedEndpoint(endpoint: TerraformEndpoint): Required<Omit<TerraformEndpoint, 'caPem'>> & { caPem?: string } {
  let url: URL;
  try {
    url = new URL(endpoint.url);
  } catch {
    throw new TerraformExportError(
      `The cluster URL '${endpoint.url}' is not a URL; fix clusters[].url in the lab configuration.`,
    );
  }
  if (url.protocol !== 'https:' || url.username || url.password)
    throw new TerraformExportError(
      'The cluster URL must be https:// without a user or password; fix clusters[].url in the lab configuration.',
    );
  return {
    url: url.origin,
    insecure: endpoint.insecure ?? false,
    ...(endpoint.caPem ? { caPem: endpoint.caPem } : {}),
  };
}

function vmsFromPlan(request: TerraformWorkspaceRequest): { vms: ClassVm[]; clusterId: string; templateName: string } {
  const plan = request.plan;
  if (!plan) throw new TerraformExportError('Exporting from a plan needs the plan (DeploymentEngine.plan).');
  if (plan.spec.classId !== request.classId)
    throw new TerraformExportError(`The plan is for ${plan.spec.classId}, not ${request.classId}.`);
  const existing = [plan.base, ...plan.vms].filter((v) => v.action === 'keep');
  if (existing.length) {
    throw new TerraformExportError(
      `Class ${request.classId} already has ${existing.length} VM(s) (e.g. ${existing[0]!.name}); export --from deployed so Terraform adopts them instead of creating them again.`,
      { classId: request.classId },
    );
  }
  if (plan.replicateBaseTo.length && !plan.storage.shared) {
    throw new TerraformExportError(
      `Class ${request.classId} needs copies of its base template on ${plan.replicateBaseTo.join(', ')}, which the Terraform module does not make; deploy it with \`lab deploy\` and export --from deployed, or ask for fewer students.`,
      { classId: request.classId },
    );
  }
  const planned = [
    plan.vms.find((v) => v.role === 'teacher')!,
    plan.base,
    ...plan.vms.filter((v) => v.role === 'student' && v.action === 'create'),
  ];
  const range = request.vmidRange;
  if (range && range.last - range.first + 1 < planned.length)
    throw new TerraformExportError(
      `The VMID range ${range.first}-${range.last} holds ${range.last - range.first + 1} VMs; the class needs ${planned.length}.`,
    );
  const vms = planned.map((v, i): ClassVm => ({
    role: v.role,
    node: v.node,
    vmid: range ? range.first + i : null,
    ...(v.role === 'student' ? { key: v.name.slice(request.classId.length + 1) } : {}),
  }));
  return { vms, clusterId: plan.clusterId, templateName: plan.templateName };
}

async function vmsDeployed(
  store: Store,
  classId: string,
  clusterId?: string,
): Promise<{ vms: ClassVm[]; clusterId: string; templateName?: string }> {
  const assignments = (await store.classes.assignmentsOfClass(classId)).filter(
    (a) => clusterId === undefined || a.clusterId === clusterId,
  );
  if (assignments.length === 0)
    throw new TerraformExportError(
      `Class ${classId} has no deployed VMs; export --from plan to deploy it with Terraform.`,
      { classId },
    );
  const cluster = clusterId ?? assignments[0]!.clusterId;
  const originals = new Set(
    (await store.templateInventory.list({ clusterId: cluster, classId }))
      .filter((t) => !t.isReplica)
      .map((t) => t.vmid),
  );
  const vms: ClassVm[] = [];
  const bases: ClassVm[] = [];
  for (const a of assignments.filter((x) => x.clusterId === cluster)) {
    const row = await store.inventory.get(cluster, a.vmid);
    if (!row || row.goneAt !== null) continue;
    const key = row.name.startsWith(`${classId}-`) ? row.name.slice(classId.length + 1) : row.name;
    (a.role === 'base' ? bases : vms).push({
      role: a.role,
      node: row.node,
      vmid: a.vmid,
      ...(a.role === 'student' ? { key } : {}),
      ...(a.role === 'base' ? { name: row.name } : {}),
    });
  }
  // The newest version of the class base template (cs101-base-v3 after two publishes): the one new
  // students are cloned from. Its copies on other nodes and older versions, which earlier students
  // are linked to, stay Proxmox Lab's to manage.
  const current = await currentBaseVersion(store, cluster, classId);
  if (current) {
    const rows = (await store.templateInventory.list({ clusterId: cluster, classId })).filter(
      (t) => t.name === current.name,
    );
    const row = rows.find((t) => !t.isReplica) ?? rows[0];
    if (row) bases.unshift({ role: 'base', node: row.node, vmid: row.vmid, name: row.name });
  }
  const [base] = current
    ? bases
    : bases.sort((x, y) => Number(!originals.has(x.vmid!)) - Number(!originals.has(y.vmid!)) || x.vmid! - y.vmid!);
  if (base) vms.push(base);
  const [latest] = await store.deployments.list({ classId });
  const templateName = (latest?.spec as { plan?: ClassPlan } | undefined)?.plan?.templateName;
  return { vms, clusterId: cluster, ...(templateName ? { templateName } : {}) };
}

function importBlock(address: string, vm: ClassVm): string {
  return ['import {', `  to = module.class.${address}`, `  id = "${vm.node}/${vm.vmid}"`, '}', ''].join('\n');
}

function mainTf(classId: string, from: 'plan' | 'deployed', imports: string[]): string {
  const variable = (name: string, type: string, extra = ''): string =>
    `variable "${name}" {\n  type = ${type}${extra}\n}\n`;
  return [
    `# Generated by Proxmox Lab for class ${classId} (lab class export-terraform --from ${from}).`,
    '# Change terraform.tfvars.json, not this file. The API token comes from PROXMOX_VE_API_TOKEN',
    '# (or TF_VAR_proxmox_api_token); it is never written here.',
    'terraform {',
    '  required_version = ">= 1.5.0"',
    '  required_providers {',
    '    proxmox = {',
    '      source  = "bpg/proxmox"',
    '      version = ">= 0.66.0"',
    '    }',
    '  }',
    '}',
    '',
    variable('proxmox_endpoint', 'string'),
    variable('proxmox_insecure', 'bool', '\n  default = false'),
    variable('proxmox_api_token', 'string', '\n  default   = null\n  sensitive = true'),
    variable('class_id', 'string'),
    variable('template_vmids', 'map(number)'),
    variable('teacher_node', 'string'),
    variable('base_node', 'string'),
    variable('students', 'map(object({ node = string, vmid = optional(number) }))'),
    variable('teacher_vmid', 'number', '\n  default = null'),
    variable('base_vmid', 'number', '\n  default = null'),
    variable('base_name', 'string', '\n  default = null'),
    variable('shared_storage', 'bool', '\n  default = false'),
    'provider "proxmox" {',
    '  endpoint  = var.proxmox_endpoint',
    '  api_token = var.proxmox_api_token',
    '  insecure  = var.proxmox_insecure',
    '}',
    '',
    'module "class" {',
    '  source         = "./modules/proxmox-class"',
    ...[
      'class_id',
      'template_vmids',
      'teacher_node',
      'base_node',
      'students',
      'teacher_vmid',
      'base_vmid',
      'base_name',
      'shared_storage',
    ].map((name) => `  ${name.padEnd(14)} = var.${name}`),
    '}',
    '',
    ...imports,
    'output "vmids" {',
    '  value = {',
    '    teacher  = module.class.teacher_vmid',
    '    base     = module.class.base_vmid',
    '    students = module.class.student_vmids',
    '  }',
    '}',
    '',
  ].join('\n');
}

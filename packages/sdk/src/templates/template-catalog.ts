import { systemClock, type Clock } from '../ports/clock.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import type { Store } from '../store/store.js';
import { mapWithConcurrency } from '../util/map-with-concurrency.js';
import { hasCloudInitDrive } from '../cloning/cloud-init-drive.js';
import { LabError } from '../errors/lab-error.js';
import { pveResources } from '../pve/pve-resources.js';
import { checkTemplateVm } from './check-template-vm.js';
import { LabTemplate } from './lab-template.js';
import {
  InvalidTemplateError,
  TemplateNotFoundError,
  TemplateValidationError,
  type MappingProblem,
} from './template-errors.js';
import { checkOptions, PORT_HINTS, STORE_AND_CLUSTERS } from '../util/constructor-options.js';

/** Where a template exists: VMID `vmid` on `node` of cluster `clusterId`. */
export interface NodeMappingInput {
  clusterId: string;
  node: string;
  vmid: number;
}

/** A new template. */
export interface TemplateInput {
  name: string;
  description?: string;
  /** MiB. */
  memory: number;
  cores: number;
  /** @defaultValue true */
  isActive?: boolean;
  /** At least one; at most one per node. */
  mappings: NodeMappingInput[];
}

/** What the catalog needs. */
export interface TemplateCatalogDeps {
  store: Store;
  clusters: ClusterApis;
  clock?: Clock;
}

/** One problem a validation found. */
export interface MappingIssue extends NodeMappingInput {
  problem: MappingProblem;
  detail: string;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;

function checkInput(input: TemplateInput): void {
  if (!NAME.test(input.name))
    throw new InvalidTemplateError(
      input.name,
      'the name must be 1–63 letters, digits, dots, dashes or underscores, starting with a letter or digit',
    );
  if (!Number.isInteger(input.memory) || input.memory < 16)
    throw new InvalidTemplateError(input.name, `memory must be a whole number of MiB ≥ 16, got ${input.memory}`);
  if (!Number.isInteger(input.cores) || input.cores < 1 || input.cores > 512)
    throw new InvalidTemplateError(input.name, `cores must be a whole number from 1 to 512, got ${input.cores}`);
  if (input.mappings.length === 0)
    throw new InvalidTemplateError(input.name, 'a template needs at least one node→VMID mapping');
  const seen = new Set<string>();
  for (const m of input.mappings) checkMapping(input.name, m, seen);
}

function checkMapping(name: string, m: NodeMappingInput, seen = new Set<string>()): void {
  if (!Number.isInteger(m.vmid) || m.vmid < 100 || m.vmid > 999_999_999)
    throw new InvalidTemplateError(
      name,
      `VMID on ${m.node} must be a whole number from 100 to 999999999, got ${m.vmid}`,
    );
  const key = `${m.clusterId}/${m.node}`;
  if (seen.has(key))
    throw new InvalidTemplateError(
      name,
      `two VMIDs for node '${m.node}' of cluster '${m.clusterId}'; a node has at most one`,
    );
  seen.add(key);
}

/** Lab templates with per-node VMID mappings, persisted through the `Store`, checked against the clusters. */
export class TemplateCatalog {
  readonly #store: Store;
  readonly #clusters: ClusterApis;
  readonly #clock: Clock;

  constructor(deps: TemplateCatalogDeps) {
    checkOptions('new TemplateCatalog', deps, STORE_AND_CLUSTERS, PORT_HINTS);
    this.#store = deps.store;
    this.#clusters = deps.clusters;
    this.#clock = deps.clock ?? systemClock;
  }

  /**
   * Creates a template. With `validate` (default) every mapping must point at an existing template
   * VM with a boot disk, or `TemplateValidationError` lists what is wrong and nothing is saved.
   */
  async create(input: TemplateInput, options: { validate?: boolean } = {}): Promise<LabTemplate> {
    checkInput(input);
    if (options.validate ?? true) await this.#mustBeValid(input.name, input.mappings);
    const record = await this.#store.templates.create(
      {
        name: input.name,
        description: input.description ?? '',
        memory: input.memory,
        cores: input.cores,
        isActive: input.isActive ?? true,
      },
      input.mappings,
      this.#clock.now(),
    );
    return new LabTemplate(record, await this.#store.templates.mappings(record.id));
  }

  /** The template with this name (or id), or `TemplateNotFoundError` listing the names there are. */
  async get(nameOrId: string | number): Promise<LabTemplate> {
    const record =
      typeof nameOrId === 'number'
        ? await this.#store.templates.get(nameOrId)
        : await this.#store.templates.getByName(nameOrId);
    if (!record)
      throw new TemplateNotFoundError(
        nameOrId,
        (await this.#store.templates.list()).map((t) => t.name),
      );
    return new LabTemplate(record, await this.#store.templates.mappings(record.id));
  }

  /** Every template with its mappings, by name. */
  async list(options: { activeOnly?: boolean } = {}): Promise<LabTemplate[]> {
    const records = await this.#store.templates.list(options);
    return Promise.all(records.map(async (r) => new LabTemplate(r, await this.#store.templates.mappings(r.id))));
  }

  /** Adds a node mapping (validated against the cluster unless told not to). */
  async addMapping(
    name: string,
    mapping: NodeMappingInput,
    options: { validate?: boolean } = {},
  ): Promise<LabTemplate> {
    const template = await this.get(name);
    checkMapping(name, mapping);
    if (options.validate ?? true) await this.#mustBeValid(name, [mapping]);
    await this.#store.templates.addMapping({ templateId: template.id, ...mapping });
    return this.get(template.id);
  }

  /** Removes a node mapping; the last one cannot go (deactivate or delete the template instead). */
  async removeMapping(name: string, clusterId: string, node: string): Promise<LabTemplate> {
    const template = await this.get(name);
    if (!template.mappings.some((m) => m.clusterId === clusterId && m.node === node)) return template;
    if (template.mappings.length === 1)
      throw new InvalidTemplateError(name, 'this is its last node mapping; deactivate or delete the template instead');
    await this.#store.templates.removeMapping(template.id, clusterId, node);
    return this.get(template.id);
  }

  /** Checks every mapping against its cluster; an empty list means all are usable. */
  async validate(template: LabTemplate, concurrency = 4): Promise<MappingIssue[]> {
    return this.#issues(template.mappings, concurrency);
  }

  /**
   * Whether the template's VMs get a cloud-init drive (so a login user and SSH keys can reach
   * them): read from the first of its mappings whose cluster answers; undefined when none does.
   */
  async hasCloudInit(template: LabTemplate): Promise<boolean | undefined> {
    for (const m of template.mappings) {
      try {
        return hasCloudInitDrive(await pveResources(this.#clusters.get(m.clusterId)).qemu(m.node, m.vmid).config());
      } catch (error) {
        if (!(error instanceof LabError)) throw error;
      }
    }
    return undefined;
  }

  async #issues(mappings: readonly NodeMappingInput[], concurrency = 4): Promise<MappingIssue[]> {
    const nodesOf = await this.#nodesOfClusters(mappings);
    const checks = await mapWithConcurrency(mappings, concurrency, async (m) => {
      const nodes = nodesOf.get(m.clusterId);
      if (nodes && !nodes.includes(m.node)) {
        const detail = `does not exist in cluster '${m.clusterId}'; its nodes are ${nodes.length ? nodes.join(', ') : '(none)'}`;
        return { m, check: { ok: false, problem: 'unknown-node', detail } as const };
      }
      return { m, check: await checkTemplateVm(this.#clusters.get(m.clusterId), m.node, m.vmid) };
    });
    return checks.flatMap(({ m, check }) =>
      check.ok
        ? []
        : [{ clusterId: m.clusterId, node: m.node, vmid: m.vmid, problem: check.problem, detail: check.detail }],
    );
  }

  /**
   * The node names of each cluster the mappings name (`GET /nodes`, once per cluster), so a mapping
   * to a node that is not there is reported as such rather than as a missing VMID. A cluster that
   * does not answer is left out; its mappings are then checked VM by VM, which says it is unreachable.
   */
  async #nodesOfClusters(mappings: readonly NodeMappingInput[]): Promise<Map<string, string[]>> {
    const nodes = new Map<string, string[]>();
    for (const clusterId of new Set(mappings.map((m) => m.clusterId))) {
      try {
        const listed = await pveResources(this.#clusters.get(clusterId)).nodes.list();
        nodes.set(clusterId, listed.map((n) => n.node).sort());
      } catch (error) {
        if (!(error instanceof LabError)) throw error;
      }
    }
    return nodes;
  }

  async #mustBeValid(name: string, mappings: readonly NodeMappingInput[]): Promise<void> {
    const issues = await this.#issues(mappings);
    if (issues.length) throw new TemplateValidationError(name, issues);
  }
}

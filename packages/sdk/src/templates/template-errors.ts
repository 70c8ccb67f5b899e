import { LabError } from '../errors/lab-error.js';

/** A template has no VMID on the node asked for; `nodes` lists where it does exist. */
export class TemplateNotOnNodeError extends LabError {
  static override readonly code: string = 'LAB_TEMPLATE_NOT_ON_NODE';
  readonly nodes: ReadonlyArray<{ clusterId: string; node: string; vmid: number }>;
  constructor(facts: {
    template: string;
    clusterId: string;
    node: string;
    nodes: Array<{ clusterId: string; node: string; vmid: number }>;
  }) {
    const where = facts.nodes.length ? facts.nodes.map((n) => `${n.node} (${n.vmid})`).join(', ') : 'no node at all';
    super(
      TemplateNotOnNodeError.code,
      `template '${facts.template}' has no VMID on node '${facts.node}' of cluster '${facts.clusterId}'; it is on: ${where}. Replicate it there or pick one of those nodes`,
      facts,
    );
    this.nodes = facts.nodes;
  }
}

/** No template by that name (or id); `known` lists the names there are. */
export class TemplateNotFoundError extends LabError {
  static override readonly code: string = 'LAB_TEMPLATE_NOT_FOUND';
  constructor(name: string | number, known: string[]) {
    super(
      TemplateNotFoundError.code,
      `no template '${name}'; templates: ${known.length ? known.join(', ') : '(none yet — create one first)'}`,
      { name, known },
    );
  }
}

/** A template definition is not acceptable (no mapping, two for one node, bad numbers). */
export class InvalidTemplateError extends LabError {
  static override readonly code: string = 'LAB_TEMPLATE_INVALID';
  constructor(template: string, problem: string) {
    super(InvalidTemplateError.code, `template '${template}': ${problem}`, { template, problem });
  }
}

/** What is wrong with one node mapping of a template on the live cluster. */
export type MappingProblem = 'unknown-node' | 'missing' | 'not-template' | 'no-boot-disk' | 'unreachable';

/** A template's mappings do not point at usable templates on the cluster. */
export class TemplateValidationError extends LabError {
  static override readonly code: string = 'LAB_TEMPLATE_VALIDATION';
  readonly problems: ReadonlyArray<{
    clusterId: string;
    node: string;
    vmid: number;
    problem: MappingProblem;
    detail: string;
  }>;
  constructor(
    template: string,
    problems: Array<{ clusterId: string; node: string; vmid: number; problem: MappingProblem; detail: string }>,
  ) {
    super(
      TemplateValidationError.code,
      `template '${template}' cannot be used: ${problems.map((p) => (p.problem === 'unknown-node' ? `node ${p.node} ${p.detail}` : `VMID ${p.vmid} on ${p.node}: ${p.detail}`)).join('; ')}`,
      { template, problems },
    );
    this.problems = problems;
  }
}

import { tagsOf } from '../templates/template-inventory.js';
import { readCreationMarker } from './class-ownership.js';
import { VmNameConflictError } from './deployment-errors.js';

/** A guest as planning sees it in the cluster's resources (`cluster.resources()`). */
export interface NamedGuest {
  vmid?: number | undefined;
  node?: string | undefined;
  name?: string | undefined;
  tags?: string | undefined;
}

/**
 * Chooses the names of a class's new VMs so that they are unique by construction: a name another
 * lab VM or a planned VM already has gets a suffix (`cs101-j-doe-2`), chosen in a fixed order and
 * said in `notes`; a name an unrelated VM has stops planning with a `VmNameConflictError`.
 */
export class VmNamer {
  readonly notes: string[] = [];
  readonly #taken = new Map<string, string>();
  readonly #foreign = new Map<string, NamedGuest>();

  constructor(
    private readonly classId: string,
    owned: readonly NamedGuest[],
    unowned: readonly NamedGuest[],
    private readonly readDescription: (guest: NamedGuest) => Promise<unknown>,
  ) {
    for (const g of owned) if (g.name) this.#taken.set(g.name, `VM ${g.vmid} of ${classId}`);
    for (const g of unowned) {
      if (!g.name) continue;
      if (tagsOf(g).includes('lab')) this.#taken.set(g.name, `VM ${g.vmid} of another class`);
      else if (!this.#foreign.has(g.name)) this.#foreign.set(g.name, g);
    }
  }

  /** Whether any VM, planned or existing, has `name`. */
  isTaken(name: string): boolean {
    return this.#taken.has(name) || this.#foreign.has(name);
  }

  /** Reserves `wanted` or, when another lab VM has it, the first free `wanted-N`. */
  async claim(wanted: string, username?: string): Promise<string> {
    const foreign = this.#foreign.get(wanted);
    if (foreign) {
      const marker = readCreationMarker(await this.readDescription(foreign));
      if (marker?.classId !== this.classId) {
        throw new VmNameConflictError({
          classId: this.classId,
          name: wanted,
          vmid: foreign.vmid!,
          node: foreign.node ?? '?',
          suggestion: username ? { student: username } : {},
        });
      }
      this.#taken.set(wanted, `VM ${foreign.vmid}, left by an earlier deployment`);
    }
    for (let n = 1; ; n++) {
      const name = n === 1 ? wanted : `${wanted.slice(0, 60 - String(n).length)}-${n}`;
      if (this.isTaken(name)) continue;
      this.#taken.set(name, username ? `${username}'s VM` : `the new ${name}`);
      if (n > 1)
        this.notes.push(
          `${username ?? wanted}: VM named ${name} because ${wanted} is taken by ${this.#taken.get(wanted)}`,
        );
      return name;
    }
  }
}

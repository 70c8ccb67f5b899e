import { isIdentityPlatformId, type IdentityFormat } from '@lab/proxmox-sdk';
import type { FrontEndDefinition } from './front-end.js';
import { FrontEndRegistrationError, UnknownFrontEndError } from './front-end-errors.js';

/**
 * The front ends a process knows, by platform id. `lab serve`, the every-platform notifier, the
 * take-over of deployments, lab.config.json's sections and the roster's account columns read it
 * instead of naming platforms; adding a front end is one `register` call (or one entry of the list
 * the registry is made from).
 */
export class FrontEndRegistry {
  readonly #byId = new Map<string, FrontEndDefinition>();

  constructor(definitions: Iterable<FrontEndDefinition> = []) {
    for (const definition of definitions) this.register(definition);
  }

  /** Adds a front end; throws a {@link FrontEndRegistrationError} for a taken or malformed id. */
  register(definition: FrontEndDefinition): this {
    const { id } = definition;
    if (!isIdentityPlatformId(id))
      throw new FrontEndRegistrationError(id, 'an id is lower-case letters, digits or dashes, 2–32 long');
    if (this.#byId.has(id)) throw new FrontEndRegistrationError(id, 'a front end with this id is registered already');
    if (definition.identity.platform !== id)
      throw new FrontEndRegistrationError(
        id,
        `its identity format is the one of '${definition.identity.platform}'; give it its own`,
      );
    this.#byId.set(id, definition);
    return this;
  }

  /** The front end with this id, or undefined. */
  get(id: string): FrontEndDefinition | undefined {
    return this.#byId.get(id);
  }

  /** The front end with this id; throws an {@link UnknownFrontEndError} listing the registered ids. */
  require(id: string): FrontEndDefinition {
    const definition = this.#byId.get(id);
    if (!definition) throw new UnknownFrontEndError(id, this.ids());
    return definition;
  }

  /** Whether a front end with this id is registered. */
  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Every front end, in the order registered. */
  list(): FrontEndDefinition[] {
    return [...this.#byId.values()];
  }

  /** Every registered id, in the order registered. */
  ids(): string[] {
    return [...this.#byId.keys()];
  }

  /** The ids `lab serve` can run (front ends with `serve`). */
  servableIds(): string[] {
    return this.list()
      .filter((d) => d.serve)
      .map((d) => d.id);
  }

  /** The identity formats of every front end: what the store, the roster and account links accept. */
  identityFormats(): IdentityFormat[] {
    return this.list().map((d) => d.identity);
  }

  /** The identity format of `platform`, if a front end with that id is registered. */
  identityFormat(platform: string): IdentityFormat | undefined {
    return this.#byId.get(platform)?.identity;
  }
}

import type { ClusterState } from './cluster-state.js';
import { GuestCopying, type CloneParams } from './guest-copying.js';
import { GuestLifecycle } from './guest-lifecycle.js';
import { migrateGuest, type MigrateParams } from './guest-migration.js';
import type { SimTask } from './types.js';
import type { AccessControl } from './access-control.js';

export type { CloneParams } from './guest-copying.js';

/** The guest-level operations PVE offers, with PVE's checks, locks, timings and errors: copying (clone, migrate) and the lifecycle. */
export class GuestOperations {
  readonly #copying: GuestCopying;
  readonly #lifecycle: GuestLifecycle;
  readonly #state: ClusterState;

  constructor(state: ClusterState, random: () => number, access?: AccessControl, pveVersion = '9.1.3') {
    this.#state = state;
    this.#copying = new GuestCopying(state, random, access);
    this.#lifecycle = new GuestLifecycle(state, access, random, pveVersion);
  }

  /** See {@link GuestCopying.stuckClones}. */
  get stuckClones(): number {
    return this.#copying.stuckClones;
  }
  set stuckClones(count: number) {
    this.#copying.stuckClones = count;
  }

  /** See {@link GuestCopying.cloneRaceRate}. */
  get cloneRaceRate(): number {
    return this.#copying.cloneRaceRate;
  }
  set cloneRaceRate(rate: number) {
    this.#copying.cloneRaceRate = rate;
  }

  /** See {@link GuestCopying.crossNodeVmidRaceRate}. */
  get crossNodeVmidRaceRate(): number {
    return this.#copying.crossNodeVmidRaceRate;
  }
  set crossNodeVmidRaceRate(rate: number) {
    this.#copying.crossNodeVmidRaceRate = rate;
  }

  clone(node: string, vmid: number, params: CloneParams, user: string): SimTask {
    return this.#copying.clone(node, vmid, params, user);
  }

  migrate(node: string, vmid: number, params: MigrateParams, user: string): SimTask {
    return migrateGuest(this.#state, node, vmid, params, user);
  }

  convertToTemplate(node: string, vmid: number, user: string): SimTask {
    return this.#lifecycle.convertToTemplate(node, vmid, user);
  }

  power(
    node: string,
    vmid: number,
    type: 'qemu' | 'lxc',
    action: string,
    user: string,
    options: { skiplock?: boolean; forceStop?: boolean; timeout?: number } = {},
  ): SimTask {
    return this.#lifecycle.power(node, vmid, type, action, user, options);
  }

  destroy(
    node: string,
    vmid: number,
    type: 'qemu' | 'lxc',
    user: string,
    options: { skiplock?: boolean } = {},
  ): SimTask {
    return this.#lifecycle.destroy(node, vmid, type, user, options);
  }

  create(node: string, vmid: number, type: 'qemu' | 'lxc', params: Record<string, unknown>, user: string): SimTask {
    return this.#lifecycle.create(node, vmid, type, params, user);
  }

  updateConfig(
    node: string,
    vmid: number,
    type: 'qemu' | 'lxc',
    params: Record<string, unknown>,
    user = 'root@pam',
  ): void {
    this.#lifecycle.updateConfig(node, vmid, type, params, user);
  }
}

import { destroyGuest } from '../deploy/deployment-teardown.js';
import type { Clock } from '../ports/clock.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import type { Logger } from '../ports/logger.js';
import type { Store } from '../store/store.js';
import { DuplicateNameError } from '../store/store-errors.js';
import { listVmResources } from '../templates/template-inventory.js';
import type { TermVm } from './class-term.js';

/** Where one VM's end-of-term destroy stands in its claim: taken, sent (and audited), finished. */
type ClaimState = 'claimed' | 'sending' | 'done';
interface Claim {
  holder: string | null;
  state: ClaimState;
  /** When a take-over first found the VM still there and not locked by a destroy (a `sending` claim). */
  unlockedSince?: number;
}

const CLAIM_TTL_MS = 90 * 86_400_000;
/** The lock PVE puts on a guest while its destroy task runs (qemu-server `destroy_vm`). */
const DESTROYING_LOCK = 'destroyed';
/**
 * PVE writes that lock only once the destroy worker holds the config lock and passed its checks: a
 * VM of a dead holder's `sending` claim is asked again only after it stayed there unlocked this long.
 */
const UNLOCKED_GRACE_MS = 60_000;

/** What destroying a class's VM at the end of term needs. */
export interface TermDestroyDeps {
  store: Store;
  clusters: ClusterApis;
  clock: Clock;
  logger: Logger;
  /** This process in the claims (the scheduler's lease holder). */
  holderId: string;
  pollIntervalMs: number;
}

/** What became of one VM: destroyed now, found destroyed by a process that died (reconciled), still being destroyed by PVE, done before, or failed. */
export type TermDestroyOutcome = 'destroyed' | 'reconciled' | 'in-progress' | 'already' | 'failed';

const claimKey = (classId: string, vm: { clusterId: string; vmid: number }) =>
  `term-destroy:${classId}:${vm.clusterId}/${vm.vmid}`;

/**
 * Destroys one VM of a class whose end-of-term destroy was confirmed, once across processes and
 * crashes: the VM is claimed in the store, and the claim moves to `sending` in the same transaction
 * as the `sent` audit entry, before PVE is asked. A process that finds a `sending` claim of another
 * holder (it died: the scheduler's lease moved) reads the cluster: a VM that is gone is recorded as
 * destroyed (one `ok` entry, `reconciled`), one PVE is still destroying (`lock: destroyed`) is left
 * to finish, and one that stays there unlocked for a minute (the request never reached PVE, or PVE
 * refused it) is destroyed without a second `sent` entry.
 */
export async function destroyTermVm(
  deps: TermDestroyDeps,
  classId: string,
  vm: TermVm,
  reason: string,
): Promise<TermDestroyOutcome> {
  const { store, clock } = deps;
  const key = claimKey(classId, vm);
  const target = `${vm.clusterId}/${vm.vmid}`;
  const setClaim = async (s: Store, claim: Claim) => {
    const now = clock.now();
    await s.nonces.take(key, now);
    await s.nonces.put(key, claim, now + CLAIM_TTL_MS, now);
  };
  let audited = false;
  try {
    await store.nonces.put(
      key,
      { holder: deps.holderId, state: 'claimed' } satisfies Claim,
      clock.now() + CLAIM_TTL_MS,
      clock.now(),
    );
  } catch (error) {
    if (!(error instanceof DuplicateNameError)) throw error;
    const prior = (await store.nonces.peek(key, clock.now())) as Claim | undefined;
    if (!prior) return 'in-progress';
    if (prior.state === 'done') return 'already';
    if (prior.holder === deps.holderId) return 'in-progress';
    if (prior.state === 'sending') {
      const live = (await listVmResources(deps.clusters.get(vm.clusterId))).find((r) => r.vmid === vm.vmid);
      if (live?.lock === DESTROYING_LOCK) return 'in-progress';
      if (live) {
        const since = prior.unlockedSince ?? clock.now();
        if (prior.unlockedSince === undefined) await setClaim(store, { ...prior, unlockedSince: since });
        if (clock.now() - since < UNLOCKED_GRACE_MS) return 'in-progress';
      }
      if (!live) {
        await store.transaction(async (tx) => {
          await tx.classes.unassignVm(vm.clusterId, vm.vmid);
          await tx.inventory.update(vm.clusterId, vm.vmid, { goneAt: clock.now() });
          await tx.audit.record({
            at: clock.now(),
            actor: 'scheduler',
            action: 'vm.destroy',
            target,
            outcome: 'ok',
            details: {
              name: vm.name,
              reason,
              reconciled: `the scheduler in ${prior.holder ?? 'another process'} sent it and stopped before recording the outcome`,
            },
          });
          await setClaim(tx, { holder: deps.holderId, state: 'done' });
        });
        return 'reconciled';
      }
      audited = true;
    }
    await setClaim(store, { holder: deps.holderId, state: audited ? 'sending' : 'claimed' });
  }
  const api = deps.clusters.get(vm.clusterId);
  const live = (await listVmResources(api)).find((r) => r.vmid === vm.vmid);
  if (!audited)
    await store.transaction(async (tx) => {
      await setClaim(tx, { holder: deps.holderId, state: 'sending' });
      await tx.audit.record({
        at: clock.now(),
        actor: 'scheduler',
        action: 'vm.destroy',
        target,
        outcome: 'sent',
        details: { name: vm.name, node: live?.node ?? vm.node, reason },
      });
    });
  try {
    await destroyGuest(
      {
        store,
        timing: { clock, logger: deps.logger, pollIntervalMs: deps.pollIntervalMs, cloneTimeoutMs: 600_000 },
      },
      api,
      vm.clusterId,
      live?.node ?? vm.node,
      vm.vmid,
    );
  } catch (error) {
    // Handed back as another's `sending` claim: the next round reads the cluster before it asks again.
    await setClaim(store, { holder: null, state: 'sending' });
    deps.logger.warn('end-of-term destroy failed; will retry', {
      classId,
      target,
      error: error instanceof Error ? error.message : String(error),
    });
    return 'failed';
  }
  await store.transaction(async (tx) => {
    await tx.audit.record({
      at: clock.now(),
      actor: 'scheduler',
      action: 'vm.destroy',
      target,
      outcome: 'ok',
      details: { name: vm.name, reason },
    });
    await setClaim(tx, { holder: deps.holderId, state: 'done' });
  });
  return 'destroyed';
}

import { migrateVm } from '../cloning/migrate-vm.js';
import { findBootDisk } from '../cloning/boot-disk.js';
import { sameTags } from '../pve/pve-tags.js';
import { CloneMissingDiskError } from '../cloning/clone-errors.js';
import { cloneVm, type CloneProgress, type SourceFacts } from '../cloning/clone-vm.js';
import type { RetryBudget } from '../ports/retry-budget.js';
import { inventoryRowFromConfig } from '../inventory/inventory-row.js';
import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import type { VmRole } from '../store/records.js';
import type { Store } from '../store/store.js';
import { waitForTask } from '../tasks/wait-for-task.js';
import type { TemplateCatalog } from '../templates/template-catalog.js';
import { replicaTag } from '../templates/replicate-template.js';
import { InvalidDeploymentError } from './class-spec.js';
import { baseVmName, classTags, labRoleTag } from '../templates/class-vm-names.js';
import { creationMarker, hasClassTag, readCreationMarker } from './class-ownership.js';
import type { DeploymentEvent } from './deployment-events.js';
import { markItemDone, type Item } from './deployment-items.js';
import { cloneTiming, settled, taskOptions, type DeploymentTiming } from './deployment-timing.js';
import type { GuestState } from './guest-state.js';
import type { ClassPlan } from './plan-class.js';
import type { ConfigureStudentVm } from './vm-reset.js';

/** What bringing a VM of a class deployment into the class needs. */
export interface RegistrationDeps {
  store: Store;
  /** Where the class's source template's memory and cores are read when its base is registered. */
  catalog: TemplateCatalog;
  timing: DeploymentTiming;
  /** Per-student configuration before a student VM's first boot; none when undefined. */
  configure: ConfigureStudentVm | undefined;
  /** Puts a new teacher VM on the class's network before it first boots (no cloud-init: that is the students'). */
  placeTeacher?: ConfigureStudentVm | undefined;
}

/** The class deployment run an item belongs to. */
export interface ClassRun {
  api: PveApi;
  plan: ClassPlan;
  deploymentId: string;
  emit: (e: DeploymentEvent) => void;
  /** What planning read of `plan.source` moments ago, so its clones do not read it again. */
  sourceFacts?: SourceFacts | undefined;
  /** The deployment's retry budget, also charged for a clone resent after a lost answer. */
  retryBudget?: RetryBudget | undefined;
}

/**
 * Runs one clone under the deployment's node, storage and global limits; `work` calls `copying()`
 * once a full clone's copy has started (its allocations done), to free what only allocations need.
 */
export type CloneSlot = <T>(work: (copying: () => void, copiesAtOnce?: number) => Promise<T>) => Promise<T>;

/**
 * The longest interval between polls of a full copy's task: as many of the deployment's poll
 * intervals as copies share the storage's throughput when it starts (at most ten). Alone, a copy is
 * polled as often as a linked clone, so the teacher VM a class waits for is seen done at once; with
 * four at once on one storage (twenty teachers on the first day of term, half an hour of copying)
 * each moves at a quarter of the speed, and polling it as often would double the day's requests.
 */
const fullCopyPollMs = (t: DeploymentTiming, copiesAtOnce = 1): number =>
  Math.min(10, Math.max(1, copiesAtOnce)) * t.pollIntervalMs;

/**
 * A clone's progress handler that calls `copying()` once its task reports copying: the first
 * percentage after the request is the task log's first `transferred` line, which PVE writes once
 * every volume is allocated (the one before each request is the client's own 0 %).
 */
function copyStartWatch(copying: () => void): (p: CloneProgress) => void {
  let sent = false;
  return (p) => {
    if (p.phase === 'allocating') sent = false;
    else if (p.phase === 'cloning' && p.percent !== undefined) {
      if (sent) copying();
      sent = true;
    }
  };
}

/** What the caller of `ensureVm` / `ensureReplica` is told on the way. */
export interface RegistrationHooks {
  /** The clone request is about to be sent (or no clone is needed). */
  sending?: () => void;
  /** The clone has begun its last storage allocation (`CloneVmOptions.onLastAllocation`), or no clone is needed. */
  atLastAllocation?: () => void;
  /**
   * A base template (the base, a copy of it) is a template on its node, as read once converted:
   * its clones may start while it is registered.
   */
  onTemplate?: (state: GuestState) => void;
}

/**
 * Makes sure one VM exists, is verified, tagged and registered; answers its state as registered. A VMID recorded for the item (a
 * kept VM, or a clone sent before a crash) is waited for and adopted when it is ours; otherwise the
 * VM is cloned, its VMID recorded and its creation marker set before the request is sent.
 */
export async function ensureVm(
  deps: RegistrationDeps,
  run: ClassRun,
  item: Item,
  /** Where it is cloned from, with what was last read of that VM when the caller knows it. */
  source: { node: string; vmid: number; facts?: SourceFacts | undefined },
  cloneSlot: CloneSlot,
  hooks: RegistrationHooks = {},
): Promise<GuestState> {
  const { sending = () => {}, atLastAllocation, onTemplate } = hooks;
  const { api, plan, deploymentId, emit } = run;
  const role = item.role === 'replica' ? 'base' : item.role;
  let state = await recordedGuest(deps, api, plan, item);
  const adopted = state !== undefined;
  if (!state) {
    const node = item.node ?? source.node;
    const result = await cloneSlot((copying, copiesAtOnce) => {
      emit({ type: 'cloning', deploymentId, name: item.name, node });
      const watch = copyStartWatch(copying);
      const sameSource = source.node === plan.source.node && source.vmid === plan.source.vmid;
      const sourceFacts = source.facts ?? (sameSource ? run.sourceFacts : undefined);
      return cloneVm(api, {
        source: { node: source.node, vmid: source.vmid },
        ...(sourceFacts ? { sourceFacts } : {}),
        name: item.name,
        mode: role === 'teacher' ? 'full' : 'auto',
        ...(role === 'base' ? { awaited: true } : {}),
        ...(role === 'teacher' ? { maxTaskPollIntervalMs: fullCopyPollMs(deps.timing, copiesAtOnce) } : {}),
        ...(node !== source.node ? { target: node } : {}),
        description: creationMarker(plan.spec.classId, role, deploymentId),
        ...cloneTiming(deps.timing),
        ...(run.retryBudget ? { retryBudget: run.retryBudget } : {}),
        onAllocated: (vmid) => recordVmid(deps, deploymentId, item, vmid),
        ...(atLastAllocation ? { onLastAllocation: atLastAllocation } : {}),
        onProgress: (p) => {
          watch(p);
          if (p.phase === 'cloning') sending();
          if (p.phase === 'cloning' && p.percent !== undefined)
            emit({
              type: 'cloning',
              deploymentId,
              name: item.name,
              node,
              ...(p.vmid ? { vmid: p.vmid } : {}),
              percent: p.percent,
            });
        },
      });
    });
    // The clone read the new VM's config once its lock cleared: no second read.
    state = { node: result.node, config: result.config };
  }
  sending();
  atLastAllocation?.();
  const vmid = item.vmid!;
  emit({ type: 'verifying', deploymentId, name: item.name, vmid });
  await deps.store.deployments.updateItem(deploymentId, item.name, {
    status: 'verifying',
    vmid,
    node: state.node,
    updatedAt: deps.timing.clock.now(),
  });
  if (!findBootDisk(state.config))
    throw new CloneMissingDiskError({
      clusterId: plan.clusterId,
      node: state.node,
      vmid,
      sourceVmid: source.vmid,
      config: state.config,
    });
  if (role === 'student' && item.action === 'create' && deps.configure) {
    // Before the VM first boots; applied again (changing nothing) when a resumed run gets here.
    state = {
      node: state.node,
      config: await deps.configure(api, {
        classId: plan.spec.classId,
        clusterId: plan.clusterId,
        node: state.node,
        vmid,
        personId: item.personId,
        config: state.config,
      }),
    };
  }
  if (role === 'teacher' && item.action === 'create' && deps.placeTeacher) {
    state = {
      node: state.node,
      config: await deps.placeTeacher(api, {
        classId: plan.spec.classId,
        clusterId: plan.clusterId,
        node: state.node,
        vmid,
        personId: item.personId,
        config: state.config,
        role: 'teacher',
      }),
    };
  }
  if (item.action === 'create' && plan.spec.labRole) state = await sizeForLabRole(api, plan, state, vmid);
  state = await tagAndConvert(deps.timing, api, state, vmid, labTags(plan, role), role === 'base', onTemplate);
  await register(deps, plan, deploymentId, item, state, vmid, role === 'base' ? { isReplica: false } : undefined);
  emit({ type: 'registered', deploymentId, name: item.name, vmid, node: state.node, adopted });
  return state;
}

/**
 * Whether a copy of the base on local storage can start as a linked clone beside the base and then
 * migrate: QemuMigrate refuses to move a linked clone only where the storage's `parse_volname` names
 * a base image (dir, NFS, ZFS: `…/base-N-disk-0/vm-M-disk-0`); an lvm-thin clone is a thin volume
 * like any other and is copied in full to the target (what the simulator's `migrateGuest` follows).
 * Then the base node's storage copies nothing: the one full copy is the migration's, on the target.
 */
export function replicaStartsLinked(storage: { shared: boolean; type?: string | undefined }): boolean {
  return !storage.shared && storage.type === 'lvmthin';
}

/**
 * A copy of the class base template on another node: recorded before its clone, tagged, moved
 * there (local storage: clone beside the base — linked on lvm-thin, else full — then migrate
 * offline), converted and registered. A copy an interrupted run left is waited for (a clone or
 * migration still running) and finished; `hooks` say when its clone is asked for, has begun its
 * last allocation, and when it is a template on the target.
 */
export async function ensureReplica(
  deps: RegistrationDeps,
  run: ClassRun,
  item: Item,
  base: { node: string; vmid: number; facts?: SourceFacts | undefined },
  cloneSlot: CloneSlot,
  /** Runs the migration to the target node (none on shared storage) once the target may take it. */
  migrationSlot: <T>(work: () => Promise<T>) => Promise<T>,
  hooks: RegistrationHooks = {},
): Promise<GuestState> {
  const { sending: onCloneSent = () => {}, atLastAllocation: onLastAllocation = () => {}, onTemplate } = hooks;
  const { api, plan, deploymentId, emit } = run;
  const target = item.node!;
  const linked = replicaStartsLinked(plan.storage);
  const recorded = await recordedGuest(deps, api, plan, item);
  const adopted = recorded !== undefined;
  // Read when the copy is converted: the base may still be registering when the copy is cloned.
  const tagsOfCopy = async () => {
    const baseTemplate = await deps.store.templates.getByName(baseVmName(plan.spec.classId, plan.spec.labRole?.name));
    return labTags(plan, 'base', 'replica', ...(baseTemplate ? [replicaTag(baseTemplate.id)] : []));
  };
  // The copy keeps the base's class tags and its creation marker while it moves; its own tags are
  // set with its conversion, so nothing but the clone lies between the clone and the migration.
  // A copy this run has just cloned as a linked clone on lvm-thin is stopped and movable: its
  // migration is sent without reading it again; one an earlier run left is checked first.
  const moveToTarget = async (state: GuestState, justCloned: boolean): Promise<GuestState> => {
    if (state.node === target) return state;
    const vmid = item.vmid!;
    emit({ type: 'cloning', deploymentId, name: item.name, node: target, vmid });
    await migrateVm(
      api,
      { node: state.node, vmid, target },
      taskOptions(deps.timing, 3_600_000, { kind: 'migrate' }, true),
      justCloned && linked ? 'known' : 'check',
    );
    // Its config moved as it was (the same storage on the target): no read before its conversion.
    if (justCloned && linked) return { node: target, config: state.config };
    const moved = await settled(deps.timing, api, vmid, target);
    if (!moved) throw new InvalidDeploymentError(`${item.name} (${vmid}) disappeared during its migration`);
    return moved;
  };
  let state = recorded;
  if (!state) {
    emit({ type: 'cloning', deploymentId, name: item.name, node: target });
    const result = await cloneSlot((copying, copiesAtOnce) =>
      cloneVm(api, {
        source: { node: base.node, vmid: base.vmid },
        ...(base.facts ? { sourceFacts: base.facts } : {}),
        name: baseVmName(plan.spec.classId, plan.spec.labRole?.name),
        mode: linked ? 'linked' : 'full',
        awaited: true,
        ...(linked
          ? {}
          : { onProgress: copyStartWatch(copying), maxTaskPollIntervalMs: fullCopyPollMs(deps.timing, copiesAtOnce) }),
        ...(plan.storage.shared ? { target } : {}),
        description: creationMarker(plan.spec.classId, 'base', deploymentId),
        ...cloneTiming(deps.timing),
        ...(run.retryBudget ? { retryBudget: run.retryBudget } : {}),
        onAllocated: async (vmid) => {
          await recordVmid(deps, deploymentId, item, vmid);
          onCloneSent();
        },
        onLastAllocation,
      }),
    );
    // The clone read the new VM's config once its lock cleared.
    state = { node: result.node, config: result.config };
  }
  onCloneSent();
  onLastAllocation();
  const cloned = state;
  if (cloned.node !== target) state = await migrationSlot(() => moveToTarget(cloned, !adopted));
  const vmid = item.vmid!;
  state = await tagAndConvert(deps.timing, api, state, vmid, await tagsOfCopy(), true, onTemplate);
  await register(deps, plan, deploymentId, item, state, vmid, { isReplica: true });
  emit({ type: 'registered', deploymentId, name: item.name, vmid, node: state.node, adopted });
  return state;
}

/** The item's recorded VM once settled, if it is ours; undefined when a new clone is needed. */
async function recordedGuest(
  deps: RegistrationDeps,
  api: PveApi,
  plan: ClassPlan,
  item: Item,
): Promise<GuestState | undefined> {
  if (item.vmid === null) return undefined;
  const state = await settled(deps.timing, api, item.vmid, item.node ?? undefined);
  if (!state) return undefined;
  const marker = readCreationMarker(state.config.description);
  const ours =
    item.action === 'keep' ||
    marker?.classId === plan.spec.classId ||
    hasClassTag({ tags: state.config.tags }, plan.spec.classId);
  if (ours && state.config.name === item.name.replace(/@.*$/, '')) return state;
  if (ours && item.action === 'keep') return state;
  deps.timing.logger.warn('the VMID recorded for an item belongs to another VM; cloning anew', {
    name: item.name,
    vmid: item.vmid,
    found: state.config.name,
  });
  return undefined;
}

/** The class's tags for a VM of `role`, with the lab role's (`labrole-target`) when the plan is for one. */
function labTags(plan: ClassPlan, role: VmRole, ...extra: string[]): string {
  const labRole = plan.spec.labRole?.name;
  return classTags(plan.spec.classId, role, ...extra, ...(labRole ? [labRoleTag(labRole)] : []));
}

/**
 * A new VM of a lab role gets the role's cores and memory (MiB) when they differ from its source's;
 * its base has them too, so the students' linked clones and resets inherit them.
 */
async function sizeForLabRole(api: PveApi, plan: ClassPlan, state: GuestState, vmid: number): Promise<GuestState> {
  const { cores, memory } = plan.spec.labRole ?? {};
  const change: { cores?: number; memory?: string } = {};
  if (cores !== undefined && Number(state.config.cores ?? 1) !== cores) change.cores = cores;
  if (memory !== undefined && Number(state.config.memory ?? 512) !== memory) change.memory = String(memory);
  if (Object.keys(change).length === 0) return state;
  await pveResources(api).qemu(state.node, vmid).updateConfig(change);
  return { node: state.node, config: { ...state.config, ...change } };
}

async function recordVmid(deps: RegistrationDeps, deploymentId: string, item: Item, vmid: number): Promise<void> {
  item.vmid = vmid;
  await deps.store.deployments.updateItem(deploymentId, item.name, {
    status: 'cloning',
    vmid,
    updatedAt: deps.timing.clock.now(),
  });
}

/**
 * Sets the VM's tags and, for a base template, converts it first: `onTemplate` is told as soon as it
 * is a template (as read once converted), so its clones may start while its tags are written.
 */
export async function tagAndConvert(
  timing: DeploymentTiming,
  api: PveApi,
  state: GuestState,
  vmid: number,
  tags: string,
  template: boolean,
  onTemplate?: (state: GuestState) => void,
): Promise<GuestState> {
  let config = state.config;
  if (template && Number(config.template) !== 1) {
    await waitForTask(
      api,
      await pveResources(api).qemu(state.node, vmid).template(),
      taskOptions(timing, 120_000, { kind: 'template' }, true),
    );
    config = (await settled(timing, api, vmid, state.node))?.config ?? config;
  }
  if (template) onTemplate?.({ node: state.node, config });
  if (!sameTags(config.tags, tags)) await pveResources(api).qemu(state.node, vmid).updateConfig({ tags });
  return { node: state.node, config: { ...config, tags } };
}

async function register(
  deps: RegistrationDeps,
  plan: ClassPlan,
  deploymentId: string,
  item: Item,
  state: GuestState,
  vmid: number,
  template?: { isReplica: boolean },
): Promise<void> {
  const now = deps.timing.clock.now();
  const role: VmRole = item.role === 'replica' ? 'base' : item.role;
  const { node, config } = state;
  // Read outside the transaction: on SQLite the transaction holds the only connection.
  const sourceTemplate = template ? await deps.catalog.get(plan.templateName) : undefined;
  await deps.store.transaction(async (tx) => {
    await tx.inventory.upsertMany([
      // A new clone has no snapshots (a reset's old VM took its own with it).
      {
        ...inventoryRowFromConfig({ clusterId: plan.clusterId, node, vmid, now }, config, findBootDisk(config)?.key),
        snapshots: 0,
      },
    ]);
    await tx.classes.assignVm(
      { clusterId: plan.clusterId, vmid, personId: item.personId, classId: plan.spec.classId, role },
      now,
    );
    if (template) {
      const name = baseVmName(plan.spec.classId, plan.spec.labRole?.name);
      await tx.templateInventory.upsert({
        clusterId: plan.clusterId,
        node,
        vmid,
        name,
        isReplica: template.isReplica,
        sourceVmid: plan.source.vmid,
        sourceNode: plan.source.node,
        isClassTemplate: true,
        classId: plan.spec.classId,
        lastVerifiedAt: now,
        health: 'ok',
        vanishedAt: null,
      });
      if (
        !template.isReplica &&
        !plan.spec.labRole &&
        (await tx.classes.getClass(plan.spec.classId)) &&
        !(await tx.classLifecycle.baseVersions(plan.spec.classId)).some((v) => v.version === 1)
      ) {
        // The first base version, listed by `/lab versions` with the others.
        await tx.classLifecycle.addBaseVersion({
          classId: plan.spec.classId,
          version: 1,
          name,
          clusterId: plan.clusterId,
          sourceVmid: plan.source.vmid,
          snapshot: null,
          note: `from template ${plan.templateName}`,
          createdBy: plan.spec.requestedBy,
          createdAt: now,
        });
      }
      const existing = await tx.templates.getByName(name);
      if (!existing) {
        const memory = plan.spec.labRole?.memory ?? sourceTemplate!.record.memory;
        const cores = plan.spec.labRole?.cores ?? sourceTemplate!.record.cores;
        await tx.templates.create(
          { name, description: `class base template of ${plan.spec.classId}`, memory, cores, isActive: false },
          [{ clusterId: plan.clusterId, node, vmid }],
          now,
        );
      } else if (
        !(await tx.templates.mappings(existing.id)).some((m) => m.clusterId === plan.clusterId && m.node === node)
      ) {
        await tx.templates.addMapping({ templateId: existing.id, clusterId: plan.clusterId, node, vmid });
      }
    }
    await markItemDone(tx, deploymentId, item.name, { vmid, node }, now);
  });
}

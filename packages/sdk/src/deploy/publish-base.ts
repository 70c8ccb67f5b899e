import { shutDownGuest } from '../tasks/shut-down-guest.js';
import { migrateVm } from '../cloning/migrate-vm.js';
import { findBootDisk } from '../cloning/boot-disk.js';
import { sameTags } from '../pve/pve-tags.js';
import { CloneMissingDiskError } from '../cloning/clone-errors.js';
import { cloneVm } from '../cloning/clone-vm.js';
import { PveHttpError } from '../errors/pve-errors.js';
import { inventoryRowFromConfig } from '../inventory/inventory-row.js';
import type { PveApi } from '../ports/pve-api.js';
import type { DeploymentItemRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { listVmResources } from '../templates/template-inventory.js';
import { classBaseVersions, type BaseVersionCopies } from './base-versions.js';
import { classTags, labRoleTag } from '../templates/class-vm-names.js';
import { creationMarker, ownedByClass, readCreationMarker } from './class-ownership.js';
import type { DeploymentEvent } from './deployment-events.js';
import { guestWaits } from './guest-waits.js';
import { itemCloneOptions } from './item-clone-options.js';
import { VmResetError, type ResetDeps } from './vm-reset.js';
import { pveResources } from '../pve/pve-resources.js';
import { markItemDone } from './deployment-items.js';
import { recordPowerState } from '../inventory/record-power-state.js';
import { ThinCloneBases } from './thin-clone-base.js';

/** How long a running teacher VM gets to power off for a publish before it is stopped hard. */
const PUBLISH_SHUTDOWN_GRACE_S = 300;

/** How the teacher VM is copied when it runs: from a snapshot (it keeps running) or after a clean shutdown. */
export type PublishMode = 'snapshot' | 'shutdown';

/** What `planPublish` found: the next base version of a class and where it comes from. */
export interface PublishPlan {
  kind: 'publish';
  classId: string;
  clusterId: string;
  requestedBy: string;
  version: number;
  /** `cs101-base-v2` … */
  name: string;
  note: string | null;
  teacher: { vmid: number; node: string; name: string; running: boolean };
  mode: PublishMode;
  /** The snapshot cloned from (mode `snapshot` on a running teacher VM). */
  snapname: string | null;
  /** Nodes students are on that need a copy of the new version (local storage only). */
  replicateTo: string[];
  /** The lab role published (`cs101-target-base-v2` from `cs101-target-teacher`); none for a class with one role. */
  labRole?: string;
}

/** Whether a stored deployment spec is a publish. */
export function isPublishPlan(spec: unknown): spec is PublishPlan {
  return typeof spec === 'object' && spec !== null && (spec as { kind?: unknown }).kind === 'publish';
}

/**
 * Publishes one item of a publish plan: the new base (`item.kind === 'base'`), cloned in full from
 * the teacher VM (from its snapshot, or once it is shut down), verified, tagged, converted and
 * registered as a class template and base version; or a copy of it on another node (`replica`).
 * The clone's VMID is recorded before it is sent and carries the publish's creation marker, so a
 * resumed publish adopts it instead of cloning again.
 */
export async function publishItem(
  deps: ResetDeps,
  api: PveApi,
  plan: PublishPlan,
  deploymentId: string,
  item: DeploymentItemRecord,
  emit: (e: DeploymentEvent) => void,
): Promise<void> {
  const { settled, task } = guestWaits(api, deps);
  const isReplica = item.kind === 'replica';
  const target = item.node!;
  let state = item.vmid !== null ? await settled(item.vmid) : undefined;
  if (state && readCreationMarker(state.config.description)?.deploymentId !== deploymentId) state = undefined;
  const adopted = state !== undefined;
  if (!state) {
    let source: { node: string; vmid: number };
    let snapname: string | undefined;
    if (isReplica) {
      const base = (await deps.store.deployments.items(deploymentId)).find((i) => i.kind === 'base');
      if (base?.status !== 'done' || base.vmid === null)
        throw new VmResetError(`${plan.name} is not made yet, so it cannot be copied to ${target}`);
      source = { node: base.node!, vmid: base.vmid };
    } else {
      source = { node: plan.teacher.node, vmid: plan.teacher.vmid };
      if (plan.snapname) {
        const snaps = await pveResources(api).qemu(source.node, source.vmid).snapshots();
        if (!snaps.some((s) => s.name === plan.snapname)) {
          await task(
            await pveResources(api)
              .qemu(source.node, source.vmid)
              .snapshot({ snapname: plan.snapname, description: `${plan.name}${plan.note ? `: ${plan.note}` : ''}` }),
            600_000,
          );
        }
        snapname = plan.snapname;
      } else {
        const status = await pveResources(api).qemu(source.node, source.vmid).status();
        if (status.status === 'running') {
          const outcome = await shutDownGuest(api, source, PUBLISH_SHUTDOWN_GRACE_S, {
            clock: deps.clock,
            pollIntervalMs: Math.min(250, deps.pollIntervalMs),
            maxPollIntervalMs: deps.pollIntervalMs,
          });
          if (outcome.forced)
            await deps.store.audit.record({
              at: deps.clock.now(),
              actor: plan.requestedBy,
              action: 'vm.stop',
              target: `${plan.clusterId}/${source.vmid}`,
              outcome: 'ok',
              details: { node: source.node, reason: `${outcome.reason} to publish ${plan.name}`, forced: true },
            });
          await recordPowerState(
            deps.store,
            { clusterId: plan.clusterId, vmid: source.vmid },
            'stopped',
            deps.clock.now(),
          );
        }
      }
    }
    emit({ type: 'cloning', deploymentId, name: item.name, node: target });
    const result = await cloneVm(api, {
      source,
      name: plan.name,
      mode: 'full',
      ...(snapname ? { snapname } : {}),
      description: creationMarker(plan.classId, 'base', deploymentId),
      ...itemCloneOptions(deps, deploymentId, item),
    });
    state = await settled(result.vmid);
    if (!state) throw new VmResetError(`${item.name} (${result.vmid}) disappeared right after its clone`);
  }
  const vmid = item.vmid!;
  emit({ type: 'verifying', deploymentId, name: item.name, vmid });
  if (!findBootDisk(state.config))
    throw new CloneMissingDiskError({
      clusterId: plan.clusterId,
      node: state.node,
      vmid,
      sourceVmid: plan.teacher.vmid,
      config: state.config,
    });
  const tags = classTags(
    plan.classId,
    'base',
    ...(isReplica ? ['replica'] : []),
    ...(plan.labRole ? [labRoleTag(plan.labRole)] : []),
  );
  if (!sameTags(state.config.tags, tags)) await pveResources(api).qemu(state.node, vmid).updateConfig({ tags });
  if (state.node !== target) {
    await migrateVm(
      api,
      { node: state.node, vmid, target },
      {
        clock: deps.clock,
        timeoutMs: 3_600_000,
        pollIntervalMs: Math.min(250, deps.pollIntervalMs),
        maxPollIntervalMs: deps.pollIntervalMs,
      },
    );
    state = await settled(vmid);
    if (!state) throw new VmResetError(`${item.name} (${vmid}) disappeared during its migration`);
  }
  if (Number(state.config.template) !== 1) {
    await task(await pveResources(api).qemu(state.node, vmid).template(), 120_000);
    state = (await settled(vmid)) ?? state;
  }
  const node = state.node;
  const config = { ...state.config, tags };
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    await tx.inventory.upsertMany([
      inventoryRowFromConfig({ clusterId: plan.clusterId, node, vmid, now }, config, findBootDisk(config)?.key),
    ]);
    await tx.classes.assignVm(
      { clusterId: plan.clusterId, vmid, personId: null, classId: plan.classId, role: 'base' },
      now,
    );
    await tx.templateInventory.upsert({
      clusterId: plan.clusterId,
      node,
      vmid,
      name: plan.name,
      isReplica,
      sourceVmid: plan.teacher.vmid,
      sourceNode: plan.teacher.node,
      isClassTemplate: true,
      classId: plan.classId,
      lastVerifiedAt: now,
      health: 'ok',
      vanishedAt: null,
    });
    // A role's versions are found by name in the template inventory; the class's version list is the unnamed role's.
    if (
      !isReplica &&
      !plan.labRole &&
      !(await tx.classLifecycle.baseVersions(plan.classId)).some((v) => v.version === plan.version)
    ) {
      await tx.classLifecycle.addBaseVersion({
        classId: plan.classId,
        version: plan.version,
        name: plan.name,
        clusterId: plan.clusterId,
        sourceVmid: plan.teacher.vmid,
        snapshot: plan.snapname,
        note: plan.note,
        createdBy: plan.requestedBy,
        createdAt: now,
      });
    }
    await markItemDone(tx, deploymentId, item.name, { vmid, node }, now);
  });
  emit({ type: 'registered', deploymentId, name: item.name, vmid, node, adopted });
  if (!isReplica && plan.teacher.running && !plan.snapname) {
    const status = await pveResources(api).qemu(plan.teacher.node, plan.teacher.vmid).status();
    if (status.status !== 'running')
      await task(await pveResources(api).qemu(plan.teacher.node, plan.teacher.vmid).start(), 300_000);
    await recordPowerState(
      deps.store,
      { clusterId: plan.clusterId, vmid: plan.teacher.vmid },
      'running',
      deps.clock.now(),
    );
  }
}

/** The volume ids of a config's disks (no CD-ROMs). */
function diskVolids(config: Record<string, unknown>): string[] {
  return Object.entries(config)
    .filter(
      ([key, value]) =>
        /^(ide|sata|scsi|virtio|efidisk|tpmstate)\d+$/.test(key) &&
        typeof value === 'string' &&
        !/media=cdrom/.test(value),
    )
    .map(([, value]) => (value as string).split(',')[0]!);
}

/** One version of a class's base template with what uses it. */
export interface BaseVersionUsage extends BaseVersionCopies {
  /** Student (and other) VMs whose disks are linked clones of one of its copies. */
  users: number[];
  note: string | null;
  createdAt: number | null;
  createdBy: string | null;
  current: boolean;
}

/**
 * The class's base versions with the VMs that use each: a VM uses a version when one of its disks
 * is a linked clone of a copy's base disk (`…:base-105-disk-0/vm-120-disk-0`), the same fact PVE
 * refuses to delete a base template on. On lvm-thin no volume id says so (and PVE deletes such a
 * base, its thin clones keep working): there a student VM whose disk sits on the storage of a copy
 * on its node uses the version its deployment cloned it from ({@link ThinCloneBases}), so an old
 * version stays while its students do on every storage type.
 */
export async function baseVersionUsage(
  store: Store,
  api: PveApi,
  clusterId: string,
  classId: string,
  labRole?: string,
): Promise<BaseVersionUsage[]> {
  const versions = await classBaseVersions(store, clusterId, classId, labRole);
  const records = labRole
    ? await rolePublishRecords(store, classId, versions)
    : new Map((await store.classLifecycle.baseVersions(classId)).map((r) => [r.version, r]));
  const assignments = new Map(
    (await store.classes.assignmentsOfClass(classId)).filter((a) => a.clusterId === clusterId).map((a) => [a.vmid, a]),
  );
  const resources = await listVmResources(api);
  const baseDisks = new Map<string, number>();
  const thin = new ThinCloneBases(store, api);
  /** `<node>/<storage>` → versions with a copy whose disk is on that lvm-thin storage. */
  const thinCopies = new Map<string, Set<number>>();
  const present = new Set(resources.map((r) => r.vmid));
  for (const v of versions) {
    for (const [node, vmid] of Object.entries(v.copies)) {
      if (!present.has(vmid)) continue;
      const config = await pveResources(api).qemu(node, vmid).config();
      for (const volid of diskVolids(config)) {
        baseDisks.set(volid, v.version);
        const storage = volid.split(':')[0]!;
        if (await thin.isThin(node, storage))
          thinCopies.set(`${node}/${storage}`, (thinCopies.get(`${node}/${storage}`) ?? new Set()).add(v.version));
      }
    }
  }
  const users = new Map<number, number[]>();
  for (const r of resources.filter(
    (x) =>
      x.type === 'qemu' &&
      Number(x.template) !== 1 &&
      ownedByClass({ vmid: x.vmid, tags: x.tags }, classId, assignments),
  )) {
    const config = await pveResources(api)
      .qemu(r.node, r.vmid)
      .config()
      .catch((error: unknown) => {
        if (error instanceof PveHttpError) return {};
        throw error;
      });
    for (const value of Object.values(config)) {
      if (typeof value !== 'string') continue;
      const volid = value.split(',')[0]!;
      for (const [base, version] of baseDisks) {
        if (volid.startsWith(`${base}/`)) users.set(version, [...(users.get(version) ?? []), r.vmid]);
      }
    }
    const onThin = diskVolids(config).flatMap((volid) => [
      ...(thinCopies.get(`${r.node}/${volid.split(':')[0]}`) ?? []),
    ]);
    if (onThin.length > 0) {
      const name = await thin.baseNameOf((config as { description?: unknown }).description);
      const version = versions.find((v) => v.name === name)?.version;
      if (version !== undefined && onThin.includes(version))
        users.set(version, [...(users.get(version) ?? []), r.vmid]);
    }
  }
  const newest = versions.at(-1)?.version;
  return versions.map((v) => {
    const record = records.get(v.version);
    return {
      ...v,
      users: [...new Set(users.get(v.version) ?? [])],
      note: record?.note ?? null,
      createdAt: record?.createdAt ?? null,
      createdBy: record?.createdBy ?? null,
      current: v.version === newest,
    };
  });
}

/**
 * A lab role's published versions' note, date and author, from the audit log's `class.publish`
 * entries (the class's version list holds the unnamed role's only): the newest entry per name.
 */
async function rolePublishRecords(
  store: Store,
  classId: string,
  versions: readonly BaseVersionCopies[],
): Promise<Map<number, { note: string | null; createdAt: number; createdBy: string }>> {
  const byName = new Map(versions.map((v) => [v.name, v.version]));
  const out = new Map<number, { note: string | null; createdAt: number; createdBy: string }>();
  if (versions.length === 0) return out;
  for (const entry of await store.audit.list({ action: 'class.publish', targets: [classId] })) {
    const name = typeof entry.details.name === 'string' ? entry.details.name : undefined;
    const version = name === undefined ? undefined : byName.get(name);
    if (version === undefined || out.has(version) || entry.outcome === 'failed') continue;
    out.set(version, {
      note: typeof entry.details.note === 'string' ? entry.details.note : null,
      createdAt: entry.at,
      createdBy: entry.actor,
    });
  }
  return out;
}

import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { backoffDelay } from '../client/backoff.js';
import { pvePath } from '../client/pve-path.js';
import { findBootDisk } from '../cloning/boot-disk.js';
import { CloneMissingDiskError } from '../cloning/clone-errors.js';
import { cloneVm, waitForCloneLock } from '../cloning/clone-vm.js';
import { LabError } from '../errors/lab-error.js';
import { PveConnectionError, PveHttpError, PveTimeoutError } from '../errors/pve-errors.js';
import { inventoryRowFromConfig } from '../inventory/inventory-row.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { ClusterApis } from '../ports/cluster-apis.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import type { PveApi } from '../ports/pve-api.js';
import type { DeploymentItemRecord, DeploymentRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { waitForTask } from '../tasks/wait-for-task.js';
import type { TemplateCatalog } from '../templates/template-catalog.js';
import { replicateTemplate } from '../templates/replicate-template.js';
import { listVmResources, tagsOf, type VmResource } from '../templates/template-inventory.js';
import { baseVmName, classTags, InvalidDeploymentError, type ClassSpecInput } from './class-spec.js';
import { EventChannel, type DeploymentEvent } from './deployment-events.js';
import { DefaultDeploymentLimits, DeploymentThrottle, type DeploymentLimits } from './deployment-limits.js';
import { planClass, type ClassPlan, type PlannedVm } from './plan-class.js';


/** What the engine needs. */
export interface DeploymentEngineDeps {
  store: Store;
  clusters: ClusterApis;
  catalog: TemplateCatalog;
  clock?: Clock;
  logger?: Logger;
  limits?: Partial<DeploymentLimits>;
  /** Poll interval for tasks and locks. @defaultValue 1000 */
  pollIntervalMs?: number;
  /** Deadline of one clone. @defaultValue 30 min */
  cloneTimeoutMs?: number;
}

/** A running deployment: its id, its events, and its end. */
export interface DeploymentHandle {
  id: string;
  events: AsyncIterable<DeploymentEvent>;
  done: Promise<DeploymentSummary>;
}

/** How a deployment ended. */
export interface DeploymentSummary {
  deploymentId: string;
  classId: string;
  status: 'done' | 'failed';
  created: number;
  kept: number;
  deleted: number;
  failed: Array<{ name: string; error: string }>;
  durationMs: number;
}

interface StoredSpec {
  spec: ClassSpecInput;
  plan: ClassPlan;
}

type Item = DeploymentItemRecord & { role: PlannedVm['role'] | 'replica'; action: PlannedVm['action'] | 'replicate' };

const RETRYABLE = (error: unknown): boolean =>
  error instanceof PveConnectionError || error instanceof PveTimeoutError || (error instanceof PveHttpError && error.status >= 500);

/**
 * Class deployment: `plan` (what would change), `apply` (record the deployment and its items in the
 * store first, then clone under concurrency limits, registering every VM as it lands), `resume`
 * (finish deployments a crashed process left, reconciling with the cluster by tags and names), and
 * `destroyClass` / `destroyVm`. Every step is idempotent, so re-applying creates only what is missing.
 */
export class DeploymentEngine {
  readonly #deps: DeploymentEngineDeps;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #limits: DeploymentLimits;

  constructor(deps: DeploymentEngineDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
    this.#logger = deps.logger ?? silentLogger;
    this.#limits = { ...DefaultDeploymentLimits, ...deps.limits };
  }

  /** What applying `spec` would create, keep and delete. */
  plan(spec: ClassSpecInput): Promise<ClassPlan> {
    return planClass(this.#deps, spec);
  }

  /** Records `plan` as a deployment, then runs it. Resolves once it is recorded; `done` resolves at the end. */
  async apply(plan: ClassPlan, options: { onEvent?: (e: DeploymentEvent) => void } = {}): Promise<DeploymentHandle> {
    const id = randomUUID();
    const now = this.#clock.now();
    const items: DeploymentItemRecord[] = [];
    const item = (vm: PlannedVm, kind: DeploymentItemRecord['kind']): DeploymentItemRecord => ({
      deploymentId: id, name: vm.name, kind, personId: vm.personId, node: vm.node, vmid: vm.vmid, status: 'pending', attempt: 0, error: null, updatedAt: now,
    });
    items.push(item(plan.base, 'base'));
    for (const node of plan.replicateBaseTo) items.push({ ...item({ ...plan.base, node, vmid: null }, 'replica'), name: `${plan.base.name}@${node}` });
    for (const vm of plan.vms) items.push(item(vm, vm.action === 'delete' ? 'delete' : vm.role));
    const record: DeploymentRecord = {
      id, classId: plan.spec.classId, clusterId: plan.clusterId, spec: { spec: plan.spec, plan } satisfies StoredSpec, status: 'planned',
      createdBy: plan.spec.requestedBy, createdAt: now, updatedAt: now, finishedAt: null, error: null,
    };
    await this.#deps.store.deployments.create(record, items);
    await this.#deps.store.audit.record({ at: now, actor: plan.spec.requestedBy, action: 'class.deploy', target: plan.spec.classId, outcome: 'ok', details: { deploymentId: id, ...plan.counts } });
    return this.#start(id, options.onEvent);
  }

  /** Plans and applies `spec`, waiting for the end. */
  async deploy(spec: ClassSpecInput, options: { onEvent?: (e: DeploymentEvent) => void } = {}): Promise<DeploymentSummary> {
    return (await this.apply(await this.plan(spec), options)).done;
  }

  /** Finishes every deployment still planned or running in the store (after a crash or restart). */
  async resume(options: { onEvent?: (e: DeploymentEvent) => void } = {}): Promise<DeploymentSummary[]> {
    const unfinished = await this.#deps.store.deployments.unfinished();
    const out: DeploymentSummary[] = [];
    for (const d of unfinished) {
      this.#logger.info('resuming deployment', { deploymentId: d.id, classId: d.classId });
      out.push(await this.#start(d.id, options.onEvent).done);
    }
    return out;
  }

  /** A deployment and its items, for polling. */
  async getDeployment(id: string): Promise<{ deployment: DeploymentRecord; items: DeploymentItemRecord[] } | undefined> {
    const deployment = await this.#deps.store.deployments.get(id);
    return deployment && { deployment, items: await this.#deps.store.deployments.items(id) };
  }

  #start(id: string, onEvent?: (e: DeploymentEvent) => void): DeploymentHandle {
    const channel = new EventChannel<DeploymentEvent>();
    const emit = (e: DeploymentEvent): void => {
      channel.push(e);
      try {
        onEvent?.(e);
      } catch (error) {
        this.#logger.warn('deployment event handler threw', { error });
      }
    };
    const done = this.#run(id, emit).finally(() => channel.end());
    return { id, events: channel, done };
  }

  async #run(id: string, emit: (e: DeploymentEvent) => void): Promise<DeploymentSummary> {
    const started = this.#clock.now();
    const store = this.#deps.store;
    const deployment = await store.deployments.get(id);
    if (!deployment) throw new InvalidDeploymentError(`no deployment '${id}'`);
    const { plan } = deployment.spec as StoredSpec;
    const api = this.#deps.clusters.get(plan.clusterId);
    const items = (await store.deployments.items(id)) as Item[];
    for (const i of items) {
      i.role = i.kind === 'base' ? 'base' : i.kind === 'replica' ? 'replica' : i.kind === 'teacher' ? 'teacher' : 'student';
      const planned = [plan.base, ...plan.vms].find((v) => v.name === i.name);
      i.action = i.kind === 'delete' ? 'delete' : i.kind === 'replica' ? 'replicate' : (planned?.action ?? 'create');
    }
    await store.deployments.update(id, { status: 'running' }, this.#clock.now());
    emit({ type: 'planned', deploymentId: id, classId: plan.spec.classId, ...plan.counts });
    const failures: Array<{ name: string; error: string }> = [];
    let resources = await listVmResources(api);
    const guard = async (item: Item, work: () => Promise<void>): Promise<void> => {
      if (item.status === 'done' || item.status === 'deleted') return;
      for (let attempt = 1; ; attempt++) {
        try {
          await store.deployments.updateItem(id, item.name, { attempt: item.attempt + attempt, updatedAt: this.#clock.now() });
          await work();
          return;
        } catch (error) {
          if (attempt < 3 && RETRYABLE(error)) {
            await this.#clock.sleep(backoffDelay(attempt, { baseDelayMs: 500, maxDelayMs: 5000 }));
            resources = await listVmResources(api).catch(() => resources);
            continue;
          }
          const message = error instanceof Error ? error.message : String(error);
          failures.push({ name: item.name, error: message });
          await store.deployments.updateItem(id, item.name, { status: 'failed', error: message.slice(0, 1000), updatedAt: this.#clock.now() });
          emit({ type: 'failed', deploymentId: id, name: item.name, reason: message, ...(error instanceof LabError ? { code: error.code } : {}) });
          this.#logger.error('deployment item failed', { deploymentId: id, name: item.name, error });
          return;
        }
      }
    };
    const find = (item: Item): VmResource | undefined => resources.find((r) => r.name === item.name && r.type === 'qemu');
    const byRole = (role: Item['role']) => items.filter((i) => i.role === role);

    // The teacher VM (a full clone) runs beside the chain base → replicas → students, which only
    // needs the base template.
    // Every clone, whatever its role, takes a slot under the global / node / storage limits.
    const throttle = new DeploymentThrottle(this.#limits);
    const storageKey = (node: string): string => (plan.storage.shared ? plan.storage.id : `${node}/${plan.storage.id}`);
    const teacherWork = Promise.all(byRole('teacher').map((t) => throttle.run(t.node!, storageKey(t.node!), () => guard(t, () => this.#ensureVm(api, plan, id, t, find(t), emit)))));
    const studentChain = async (): Promise<void> => {
      // 1. The class base template.
      const [baseItem] = byRole('base');
      if (baseItem) await throttle.run(baseItem.node!, storageKey(baseItem.node!), () => guard(baseItem, () => this.#ensureVm(api, plan, id, baseItem, find(baseItem), emit)));
      const baseState = (await store.deployments.items(id)).find((i) => i.kind === 'base');
      const baseVmid = baseState?.vmid ?? plan.base.vmid;
      const baseReady = baseItem === undefined || baseState?.status === 'done';

      // 2. Replicas of the base where students must land on other nodes with local storage.
      if (baseReady && baseVmid !== null) {
        for (const r of byRole('replica')) {
          await guard(r, async () => {
            const baseTemplate = await this.#deps.catalog.get(baseVmName(plan.spec.classId));
            const [result] = await replicateTemplate(this.#deps, baseTemplate, [r.node!], { clusterId: plan.clusterId, pollIntervalMs: this.#deps.pollIntervalMs ?? 1000 });
            await store.deployments.updateItem(id, r.name, { status: 'done', vmid: result!.vmid, updatedAt: this.#clock.now() });
          });
        }
      }

      // 3. Students.
      const baseMappings = baseReady ? await this.#deps.catalog.get(baseVmName(plan.spec.classId)).catch(() => undefined) : undefined;
      await Promise.all(
        byRole('student')
          .filter((s) => s.action !== 'delete')
          .map((s) =>
            throttle.run(s.node!, storageKey(s.node!), () =>
              guard(s, async () => {
                const existing = find(s);
                if (!existing && s.vmid === null && !baseMappings) throw new InvalidDeploymentError(`the base template of ${plan.spec.classId} is not ready, so ${s.name} cannot be cloned`);
                const sourceNode = plan.storage.shared ? plan.base.node : s.node!;
                const source = { node: sourceNode, vmid: baseMappings?.vmidOn(sourceNode, plan.clusterId) ?? baseVmid! };
                await this.#ensureVm(api, plan, id, s, existing, emit, source);
              }),
            ),
          ),
      );
    };
    await Promise.all([teacherWork, studentChain()]);

    // 4. Students no longer wanted (scale down).
    for (const d of items.filter((i) => i.action === 'delete')) {
      await guard(d, async () => {
        if (d.vmid !== null) await this.#destroyGuest(api, plan.clusterId, d.node!, d.vmid);
        await store.deployments.updateItem(id, d.name, { status: 'deleted', updatedAt: this.#clock.now() });
        emit({ type: 'deleted', deploymentId: id, name: d.name, vmid: d.vmid ?? 0 });
      });
    }

    const finalItems = await store.deployments.items(id);
    const status = failures.length ? 'failed' : 'done';
    const finishedAt = this.#clock.now();
    await store.deployments.update(id, { status, finishedAt, error: failures.length ? failures.map((f) => `${f.name}: ${f.error}`).join('; ').slice(0, 2000) : null }, finishedAt);
    const summary: DeploymentSummary = {
      deploymentId: id,
      classId: plan.spec.classId,
      status,
      created: finalItems.filter((i) => i.status === 'done' && i.kind !== 'delete' && [plan.base, ...plan.vms].find((v) => v.name === i.name)?.action === 'create').length + finalItems.filter((i) => i.kind === 'replica' && i.status === 'done').length,
      kept: plan.counts.keep,
      deleted: finalItems.filter((i) => i.status === 'deleted').length,
      failed: failures,
      durationMs: finishedAt - started,
    };
    emit({ type: 'done', deploymentId: id, status, created: summary.created, kept: summary.kept, deleted: summary.deleted, failed: failures.length, durationMs: summary.durationMs });
    return summary;
  }

  /** Makes sure one VM exists, is verified, tagged and registered: adopts what is there, clones what is not. */
  async #ensureVm(api: PveApi, plan: ClassPlan, deploymentId: string, item: Item, found: VmResource | undefined, emit: (e: DeploymentEvent) => void, studentSource?: { node: string; vmid: number }): Promise<void> {
    const store = this.#deps.store;
    const poll = this.#deps.pollIntervalMs ?? 1000;
    const role = item.role === 'replica' ? 'base' : item.role;
    let node = found?.node ?? item.node!;
    let vmid = found?.vmid ?? null;
    let adopted = vmid !== null;
    // A VMID recorded before a crash: adopt it if it is ours (our name, or a clone still in progress).
    if (vmid === null && item.vmid !== null) {
      const owned = await this.#ownedVm(api, item.vmid, item.name);
      if (owned) {
        vmid = item.vmid;
        node = owned.node;
        adopted = true;
      }
    }
    if (vmid === null) {
      const source = role === 'student' ? studentSource! : plan.source;
      emit({ type: 'cloning', deploymentId, name: item.name, node });
      const result = await cloneVm(api, {
        source,
        name: item.name,
        mode: role === 'teacher' ? 'full' : 'auto',
        ...(node !== source.node ? { target: node } : {}),
        pollIntervalMs: poll,
        timeoutMs: this.#deps.cloneTimeoutMs ?? 30 * 60_000,
        clock: this.#clock,
        logger: this.#logger,
        onAllocated: (id) => store.deployments.updateItem(deploymentId, item.name, { status: 'cloning', vmid: id, updatedAt: this.#clock.now() }),
        onProgress: (p) => {
          if (p.phase === 'cloning' && p.percent !== undefined) emit({ type: 'cloning', deploymentId, name: item.name, node, ...(p.vmid ? { vmid: p.vmid } : {}), percent: p.percent });
        },
      });
      vmid = result.vmid;
      node = result.node;
    }
    emit({ type: 'verifying', deploymentId, name: item.name, vmid });
    await store.deployments.updateItem(deploymentId, item.name, { status: 'verifying', vmid, node, updatedAt: this.#clock.now() });
    let config = await waitForCloneLock(api, node, vmid, this.#clock.now() + (this.#deps.cloneTimeoutMs ?? 30 * 60_000), poll, this.#clock, async () => new InvalidDeploymentError(`${item.name} (${vmid}) stayed locked`));
    const disk = findBootDisk(config);
    if (!disk) throw new CloneMissingDiskError({ clusterId: plan.clusterId, node, vmid, sourceVmid: plan.source.vmid, config });
    const tags = classTags(plan.spec.classId, role);
    if (config.tags !== tags) await api.put(pvePath`/nodes/${node}/qemu/${vmid}/config`, { tags }, { idempotent: true });
    if (role === 'base' && config.template !== 1) {
      await waitForTask(api, await api.post<string>(pvePath`/nodes/${node}/qemu/${vmid}/template`), { clock: this.#clock, pollIntervalMs: Math.min(250, poll), maxPollIntervalMs: poll });
      config = await waitForCloneLock(api, node, vmid, this.#clock.now() + 120_000, poll, this.#clock, async () => new InvalidDeploymentError(`${item.name} stayed locked after conversion`));
    }
    config = { ...config, tags };
    const now = this.#clock.now();
    // Read outside the transaction: on SQLite the transaction holds the only connection.
    const sourceTemplate = role === 'base' ? await this.#deps.catalog.get(plan.templateName) : undefined;
    await store.transaction(async (tx) => {
      await tx.inventory.upsertMany([inventoryRowFromConfig({ clusterId: plan.clusterId, node, vmid: vmid!, now }, config, findBootDisk(config)?.key)]);
      await tx.classes.assignVm({ clusterId: plan.clusterId, vmid: vmid!, personId: item.personId, classId: plan.spec.classId, role }, now);
      if (role === 'base') {
        await tx.templateInventory.upsert({
          clusterId: plan.clusterId, node, vmid: vmid!, name: item.name, isReplica: false, sourceVmid: plan.source.vmid, sourceNode: plan.source.node,
          isClassTemplate: true, classId: plan.spec.classId, lastVerifiedAt: now, health: 'ok', vanishedAt: null,
        });
        const existing = await tx.templates.getByName(item.name);
        if (!existing) {
          const { memory, cores } = sourceTemplate!.record;
          await tx.templates.create({ name: item.name, description: `class base template of ${plan.spec.classId}`, memory, cores, isActive: false }, [{ clusterId: plan.clusterId, node, vmid: vmid! }], now);
        } else if (!(await tx.templates.mappings(existing.id)).some((m) => m.clusterId === plan.clusterId && m.node === node)) {
          await tx.templates.addMapping({ templateId: existing.id, clusterId: plan.clusterId, node, vmid: vmid! });
        }
      }
      await tx.deployments.updateItem(deploymentId, item.name, { status: 'done', vmid, node, error: null, updatedAt: now });
    });
    emit({ type: 'registered', deploymentId, name: item.name, vmid, node, adopted });
  }

  /** Where VMID `vmid` is, if it is ours: named `name`, or a clone whose temporary config has no name yet. */
  async #ownedVm(api: PveApi, vmid: number, name: string): Promise<{ node: string } | undefined> {
    const vm = (await listVmResources(api)).find((r) => r.vmid === vmid);
    if (!vm) return undefined;
    if (vm.name === name || (vm.lock === 'clone' && (vm.name === undefined || vm.name === `VM ${vmid}`))) return { node: vm.node };
    return undefined;
  }

  /** Stops (if running) and purges one VM, and takes it out of the store. */
  async #destroyGuest(api: PveApi, clusterId: string, node: string, vmid: number): Promise<void> {
    const status = await api.get(pvePath`/nodes/${node}/qemu/${vmid}/status/current`, undefined, { schema: z.object({ status: z.string() }).loose() }).catch((error: unknown) => {
      if (error instanceof PveHttpError && /does not exist/.test(error.pveMessage)) return undefined;
      throw error;
    });
    if (status) {
      if (status.status === 'running') await waitForTask(api, await api.post<string>(pvePath`/nodes/${node}/qemu/${vmid}/status/stop`), { clock: this.#clock, pollIntervalMs: 200, maxPollIntervalMs: this.#deps.pollIntervalMs ?? 1000 });
      await waitForTask(api, await api.delete<string>(pvePath`/nodes/${node}/qemu/${vmid}`, { purge: true, 'destroy-unreferenced-disks': true }), { clock: this.#clock, pollIntervalMs: 200, maxPollIntervalMs: this.#deps.pollIntervalMs ?? 1000 });
    }
    await this.#deps.store.transaction(async (tx) => {
      await tx.classes.unassignVm(clusterId, vmid);
      await tx.inventory.update(clusterId, vmid, { goneAt: this.#clock.now() });
    });
  }

  /** Stops and purges one VM and forgets it. */
  async destroyVm(clusterId: string, vmid: number, actor = 'system'): Promise<void> {
    const api = this.#deps.clusters.get(clusterId);
    const vm = (await listVmResources(api)).find((r) => r.vmid === vmid);
    await this.#destroyGuest(api, clusterId, vm?.node ?? '', vmid);
    await this.#deps.store.audit.record({ at: this.#clock.now(), actor, action: 'vm.destroy', target: `${clusterId}/${vmid}`, outcome: 'ok', details: {} });
  }

  /**
   * Stops and purges every VM of a class (found by tags, names and assignments), then its base
   * template and replicas, and takes them out of the store. Safe to run again after an interruption.
   */
  async destroyClass(classId: string, options: { clusterId?: string; actor?: string; onEvent?: (e: DeploymentEvent) => void } = {}): Promise<{ destroyed: number[] }> {
    const clusterIds = options.clusterId ? [options.clusterId] : this.#deps.clusters.ids();
    const destroyed: number[] = [];
    for (const clusterId of clusterIds) {
      const api = this.#deps.clusters.get(clusterId);
      const assigned = new Set((await this.#deps.store.classes.assignmentsOfClass(classId)).filter((a) => a.clusterId === clusterId).map((a) => a.vmid));
      const vms = (await listVmResources(api)).filter((r) => r.type === 'qemu' && (tagsOf(r).includes(`class-${classId}`) || assigned.has(r.vmid) || r.name === baseVmName(classId)));
      // Linked clones first: a base template cannot go while clones use it.
      const ordered = [...vms.filter((v) => Number(v.template) !== 1), ...vms.filter((v) => Number(v.template) === 1)];
      for (const vm of ordered) {
        await this.#destroyGuest(api, clusterId, vm.node, vm.vmid);
        destroyed.push(vm.vmid);
        options.onEvent?.({ type: 'deleted', deploymentId: '', name: vm.name ?? String(vm.vmid), vmid: vm.vmid });
      }
      await this.#deps.store.templateInventory.markVanished(clusterId, (await this.#deps.store.templateInventory.list({ clusterId })).filter((t) => t.classId !== classId).map((t) => ({ node: t.node, vmid: t.vmid })), this.#clock.now());
    }
    const base = await this.#deps.store.templates.getByName(baseVmName(classId));
    if (base) await this.#deps.store.templates.delete(base.id);
    await this.#deps.store.audit.record({ at: this.#clock.now(), actor: options.actor ?? 'system', action: 'class.destroy', target: classId, outcome: 'ok', details: { destroyed } });
    return { destroyed };
  }
}

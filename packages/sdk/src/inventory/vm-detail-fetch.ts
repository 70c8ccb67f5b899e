import type { PortProbe } from '../ports/port-probe.js';
import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import type { VmInventoryRecord } from '../store/records.js';
import { mapWithConcurrency } from '../util/map-with-concurrency.js';
import { pickGuestIp } from './guest-agent-ip.js';
import type { StoredVm } from './inventory-diff.js';
import { categoryOf } from './inventory-row.js';

const NO_AGENT = 'guest agent: not configured';
/**
 * A VM up for less than this whose SSH and RDP were both closed at its last probe is probed again
 * at every sync, quick ones too: its services are still starting, and the student waits for the
 * "ready" message.
 */
const STARTING_WINDOW_S = 15 * 60;
/** A running VM with an address, up less than 15 min, that answered neither SSH nor RDP: every sync probes it. */
export const isStartingUnreached = (
  r: Pick<VmInventoryRecord, 'status' | 'sshAvailable' | 'rdpAvailable' | 'uptime' | 'ip'>,
): boolean =>
  r.status === 'running' && !r.sshAvailable && !r.rdpAvailable && r.uptime < STARTING_WINDOW_S && r.ip !== null;
const key = (clusterId: string, vmid: number): string => `${clusterId}/${vmid}`;
const truncate = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** How detail fetching reaches guests and how hard it may push. */
export interface VmDetailFetchOptions {
  probe: PortProbe;
  /** Guest-agent and config requests in flight per cluster. */
  detailConcurrency: number;
  /** TCP probes in flight. */
  probeConcurrency: number;
  probeTimeoutMs: number;
  /** Re-ask the guest agent for a running VM's IP after this long. */
  ipMaxAgeMs: number;
}

/** The requests one fetch sent, added to the sync's report. */
export interface DetailCounts {
  configRequests: number;
  agentRequests: number;
  probes: number;
}

/**
 * The per-VM details `/cluster/resources` does not carry — config (OS category, name, hardware),
 * the guest agent's IP and SSH/RDP probes — read only where they are due: remembers which VMs
 * need their config or agent read at the next full sync, and which must be probed whatever the
 * probe's age.
 */
export class VmDetailFetcher {
  readonly #o: VmDetailFetchOptions;
  /** VMs that are new or whose hardware, name or node changed: the next full sync reads their config. */
  readonly #pendingConfig = new Set<string>();
  /** VMs that started, moved or are new: the next full sync asks their guest agent for the IP. */
  readonly #pendingAgent = new Set<string>();
  /** VMs whose ports are probed at their next agent read, whatever the probe's age (`refreshVm`). */
  readonly #pendingProbe = new Set<string>();

  constructor(options: VmDetailFetchOptions) {
    this.#o = options;
  }

  /** Reads the VM's config and/or asks its guest agent at the next full sync. */
  mark(clusterId: string, vmid: number, due: { config: boolean; agent: boolean }): void {
    if (due.config) this.#pendingConfig.add(key(clusterId, vmid));
    if (due.agent) this.#pendingAgent.add(key(clusterId, vmid));
  }

  /** Whether a detail of the VM is to be read at the next full sync (`mark`, `refresh`). */
  isDue(clusterId: string, vmid: number): boolean {
    if (this.#pendingConfig.size + this.#pendingAgent.size + this.#pendingProbe.size === 0) return false;
    const k = key(clusterId, vmid);
    return this.#pendingConfig.has(k) || this.#pendingAgent.has(k) || this.#pendingProbe.has(k);
  }

  /** Reads everything of the VM at the next full sync, its ports whatever the probe's age. */
  refresh(clusterId: string, vmid: number): void {
    const k = key(clusterId, vmid);
    this.#pendingConfig.add(k);
    this.#pendingAgent.add(k);
    this.#pendingProbe.add(k);
  }

  /**
   * Probes again the running VMs still starting (up less than 15 min) that answered neither SSH nor
   * RDP last time, except those in `skip` (probed this round already): TCP to the guest only, no
   * PVE request, so a quick sync sees a VM become reachable within one interval.
   */
  async probeStarting(rows: VmInventoryRecord[], report: DetailCounts, skip: ReadonlySet<number>): Promise<void> {
    await this.#probe(
      rows.filter((r) => isStartingUnreached(r) && !skip.has(r.vmid)),
      report,
    );
  }

  async #probe(rows: VmInventoryRecord[], report: DetailCounts): Promise<void> {
    await mapWithConcurrency(
      rows.filter((r) => r.ip !== null),
      this.#o.probeConcurrency,
      async (row) => {
        report.probes += 2;
        const [ssh, rdp] = await Promise.all([
          this.#o.probe.isOpen(row.ip!, 22, this.#o.probeTimeoutMs),
          this.#o.probe.isOpen(row.ip!, 3389, this.#o.probeTimeoutMs),
        ]);
        row.sshAvailable = ssh;
        row.rdpAvailable = rdp;
      },
    );
  }

  /** Config for new/changed VMs, guest-agent IPs for running VMs that need one, TCP probes where the address is new or the probe old. */
  async fetch(
    api: PveApi,
    clusterId: string,
    rows: VmInventoryRecord[],
    existing: ReadonlyMap<number, StoredVm>,
    now: number,
    report: DetailCounts,
  ): Promise<Set<number>> {
    const needsConfig = rows.filter((r) => this.#pendingConfig.has(key(clusterId, r.vmid)));
    const agentEnabled = new Map<number, boolean>();
    await mapWithConcurrency(needsConfig, this.#o.detailConcurrency, async (row) => {
      const guest =
        row.type === 'lxc' ? pveResources(api).lxc(row.node, row.vmid) : pveResources(api).qemu(row.node, row.vmid);
      report.configRequests++;
      try {
        const config = await guest.config();
        row.category = categoryOf(config.ostype);
        // The config is the truth for a guest the cluster's resources showed without name or template yet.
        const name = config.name ?? config.hostname;
        if (typeof name === 'string') row.name = name;
        if (config.template !== undefined) row.isTemplate = Number(config.template) === 1;
        const memory = Number.parseInt(String(config.memory ?? ''), 10);
        if (row.memory === null && Number.isFinite(memory)) row.memory = memory;
        const cores =
          Number.parseInt(String(config.cores ?? ''), 10) * Number.parseInt(String(config.sockets ?? '1'), 10);
        if (row.cores === null && Number.isFinite(cores)) row.cores = cores;
        agentEnabled.set(row.vmid, /^(1|enabled=1)/.test(String(config.agent ?? '')));
        row.syncError = null;
      } catch (error) {
        row.syncError = truncate(`config: ${error instanceof Error ? error.message : String(error)}`, 200);
      }
    });
    const needsAgent = rows.filter((row) => {
      if (row.type !== 'qemu' || row.isTemplate || row.status !== 'running') return false;
      if (agentEnabled.get(row.vmid) === false) {
        row.syncError = NO_AGENT;
        return false;
      }
      const prev = existing.get(row.vmid);
      const pending = this.#pendingAgent.has(key(clusterId, row.vmid));
      if (!pending && prev !== undefined && 'syncError' in prev && prev.syncError === NO_AGENT) return false;
      return (
        pending || row.ip === null || row.lastStatusCheck === null || now - row.lastStatusCheck > this.#o.ipMaxAgeMs
      );
    });
    const reprobe: VmInventoryRecord[] = [];
    await mapWithConcurrency(needsAgent, this.#o.detailConcurrency, async (row) => {
      report.agentRequests++;
      try {
        const answer = await pveResources(api).qemu(row.node, row.vmid).agentNetworkInterfaces();
        const ip = pickGuestIp(answer) ?? null;
        if (
          ip !== row.ip ||
          row.lastStatusCheck === null ||
          now - row.lastStatusCheck > this.#o.ipMaxAgeMs ||
          this.#pendingProbe.delete(key(clusterId, row.vmid))
        )
          reprobe.push(row);
        row.ip = ip;
        row.syncError = ip ? null : 'guest agent: no IPv4 address reported yet';
      } catch (error) {
        const text =
          error instanceof Error ? ((error as { pveMessage?: string }).pveMessage ?? error.message) : String(error);
        row.syncError = /No QEMU guest agent configured/.test(text) ? NO_AGENT : truncate(`guest agent: ${text}`, 200);
      }
      row.lastStatusCheck = now;
    });
    await this.#probe(reprobe, report);
    for (const row of rows) {
      this.#pendingConfig.delete(key(clusterId, row.vmid));
      this.#pendingAgent.delete(key(clusterId, row.vmid));
    }
    return new Set(reprobe.map((r) => r.vmid));
  }
}

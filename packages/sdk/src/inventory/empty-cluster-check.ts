import type { Logger } from '../ports/logger.js';
import type { PveApi } from '../ports/pve-api.js';
import { pveResources } from '../pve/pve-resources.js';
import { mapWithConcurrency } from '../util/map-with-concurrency.js';
import { UnconfirmedEmptyClusterError } from './inventory-errors.js';

/**
 * An empty `cluster.vms()` answer while the store knows VMs is believed only when every
 * node is online and lists no guests itself; otherwise `UnconfirmedEmptyClusterError`, and the
 * known VMs stay as they were.
 */
export async function confirmEmptyCluster(
  api: PveApi,
  cluster: { clusterId: string; known: number },
  options: { logger: Logger; concurrency: number },
): Promise<void> {
  const { clusterId, known } = cluster;
  options.logger.warn('cluster answered no VMs although the inventory knows some; asking every node', {
    clusterId,
    known,
  });
  const nodes = await pveResources(api).nodes.list();
  const reasons: string[] = nodes.length === 0 ? ['GET /nodes lists no nodes'] : [];
  await mapWithConcurrency(nodes, options.concurrency, async ({ node, status }) => {
    if (status !== 'online') {
      reasons.push(`node ${node} is ${status ?? 'in an unknown state'}`);
      return;
    }
    const [qemu, lxc] = await Promise.all([pveResources(api).nodes.qemu(node), pveResources(api).nodes.lxc(node)]);
    if (qemu.length + lxc.length > 0) reasons.push(`node ${node} lists ${qemu.length + lxc.length} guests`);
  });
  if (reasons.length > 0) throw new UnconfirmedEmptyClusterError({ clusterId, known, reasons: reasons.sort() });
  options.logger.warn('every node confirms the cluster has no VMs; marking the known ones gone', { clusterId, known });
}

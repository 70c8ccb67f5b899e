import { pveVersionAtLeast } from '../pve-version.js';
import { paramText } from '../param-text.js';
import { NODE_BRIDGES, type ClusterState } from './cluster-state.js';
import type { SimTask } from './types.js';

/**
 * The worker of `PUT /cluster/sdn` (pve-network `src/PVE/API2/Network/SDN.pm` `reload`): a
 * `reloadnetworkall` task (no id) on the node that answered, which runs
 * `pvesh set /nodes/<node>/network --regenerate-frr 0` for every cluster node in turn. pvesh runs
 * the call on that node (over SSH for another node, pve-manager `PVE/CLI/pvesh.pm`
 * `proxy_handler`) as a CLI, so each node's `srvreload` task (`networking`, by root@pam,
 * pve-manager `PVE/API2/Network.pm` `reload_network_config`) runs to its end before the next node:
 * when `reloadnetworkall` ends, every reachable node has the running config's VNet bridges. A node
 * that cannot be reached is only a `warn` line (a plain Perl warn: the task still ends OK).
 */
export function reloadNetworkAll(state: ClusterState, user: string, localNode: string): SimTask {
  const seconds = state.timings.sdnReloadSeconds;
  // `--regenerate-frr` since pve-network 1.x (PVE 9).
  const frrArg = pveVersionAtLeast(state.pveVersion, 9, 0) ? ' --regenerate-frr 0' : '';
  return state.tasks.start(localNode, 'reloadnetworkall', '', user, async (log) => {
    for (const name of [...state.nodes.keys()].sort()) {
      const node = state.nodes.get(name)!;
      log(`${name}: reloading network config`);
      if (!node.online) {
        log(`ssh: connect to host ${node.ip} port 22: No route to host`);
        log(`command 'pvesh set /nodes/${name}/network${frrArg}' failed: exit code 255`);
        continue;
      }
      let finished!: () => void;
      const done = new Promise<void>((resolve) => (finished = resolve));
      state.tasks.start(name, 'srvreload', 'networking', 'root@pam', async (nodeLog) => {
        try {
          await state.time.sleep(seconds * 1000);
          const version = state.sdn.running?.version;
          state.sdn.nodes.set(name, {
            vnets: vnetsForNode(state, name, nodeLog),
            ...(version === undefined ? {} : { version }),
          });
        } finally {
          finished();
        }
      });
      await done;
    }
  });
}

/**
 * The VNets a node's network reload creates from the running config (pve-network
 * `src/PVE/Network/SDN/Zones.pm` `generate_etc_network_config`): VNets by id; a zone limited to
 * other `nodes` is skipped; a plugin's error is a `warn` (`log`) and that VNet is not created — a
 * VLAN zone's bridge the node lacks (`Zones/VlanPlugin.pm` `generate_sdn_config` →
 * `Zones/Plugin.pm` `find_bridge`).
 */
export function vnetsForNode(state: ClusterState, name: string, log: (line: string) => void): Set<string> {
  const running = state.sdn.running;
  const vnets = new Set<string>();
  for (const id of [...(running?.vnets.keys() ?? [])].sort()) {
    const v = running!.vnets.get(id)!;
    const zoneId = paramText(v.zone);
    const zone = running?.zones.get(zoneId);
    if (!zone) {
      log(`can't generate vnet '${id}': zone ${zoneId} don't exist`);
      continue;
    }
    const nodes = typeof zone.nodes === 'string' ? zone.nodes.split(/[,;\s]+/).filter(Boolean) : undefined;
    if (nodes && !nodes.includes(name)) continue;
    if (zone.type === 'vlan' && !NODE_BRIDGES.includes(paramText(zone.bridge))) {
      const line = pveVersionAtLeast(state.pveVersion, 9, 0) ? 334 : 333;
      log(
        `zone ${zoneId} : vnet ${id} : can't find bridge ${paramText(zone.bridge)} at /usr/share/perl5/PVE/Network/SDN/Zones/Plugin.pm line ${line}.`,
      );
      continue;
    }
    vnets.add(id);
  }
  return vnets;
}

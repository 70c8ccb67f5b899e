// @lab/proxmox-sdk/network: class networks on PVE SDN (issue 30) — the service that builds, applies
// and removes a class's VNets (`ClassNetworks`), its settings and spec, and the helpers that put a
// VM on its network. The SDN resource itself is in /pve, the errors in /errors.
// Every name here is listed in test/public-surface.test.ts.
export {
  ClassNetworks,
  classNetworkSubnetId,
  sdnLeaseName,
  TEACHERS_NETWORK,
  type ClassNetwork,
  type ClassNetworkPlan,
  type ClassNetworkSpec,
  type ClassNetworkState,
  type ClassNetworkTeardown,
  type ClassNetworksOptions,
} from './class-networks.js';
export { resolveSdnSettings, vnetIdFor, type ResolvedSdnSettings, type SdnSettings } from './sdn-settings.js';
export { net0Bridge, net0WithBridge, vmNetworkOf } from './vm-network.js';
export { networkStep } from '../deploy/network-step.js';
// What `DeploymentEngine.ensureLabNetworks` / `destroyClass` do with the `networks` option.
export {
  describeLabNetworks,
  seatsOfPlans,
  type ClassNetworksOf,
  type LabNetworks,
  type LabSeats,
} from '../deploy/lab-networks.js';
export type { SdnObjectRecord, SdnObjectState } from '../store/sdn-repository.js';

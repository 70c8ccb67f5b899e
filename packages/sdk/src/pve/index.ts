// @lab/proxmox-sdk/pve: the Proxmox VE wire layer under the domain engine — the generated API types,
// the response schemas, the typed resource classes and the low-level helpers (paths, UPIDs, tasks,
// TLS pinning, privileges). Reach for it to talk to PVE directly; the root entry covers the lab.
// Every name here is listed in test/public-surface.test.ts.
export type * from './generated/pve-api-types.js';
export type * from '../ports/pve-api.js';
export {
  clusterResourceSchema,
  guestConfigSchema,
  type AgentInterfaces,
  type ClusterResourceEntry,
  type GuestConfig,
  type GuestEntry,
  type NodeEntry,
  type PermissionMap,
  type QemuStatus,
  type StorageEntry,
  type TaskListEntry,
  type TaskLogLine,
  type TaskStatus,
  type VncProxyTicket,
} from './pve-schemas.js';

// The typed resource layer.
export { pveResources, type PveResources } from './pve-resources.js';
export { PveCluster, CLUSTER_RESOURCES_PATH } from './cluster-resource.js';
export { PveNodes } from './nodes-resource.js';
export { PveQemu } from './qemu-resource.js';
export { PveLxc } from './lxc-resource.js';
export { PveTasks } from './tasks-resource.js';
export { PveStorage } from './storage-resource.js';
export { PveAccess } from './access-resource.js';
export {
  PveSdn,
  isSdnObjectId,
  sdnSubnetId,
  type SdnPendingChanges,
  type SdnPendingState,
  type SdnSubnetEntry,
  type SdnVnetEntry,
  type SdnZoneEntry,
} from './sdn-resource.js';

// Paths, answers and failures.
export { pvePath } from './pve-path.js';
export { endpointPath, type PveEndpoint } from './pve-endpoint.js';
export { isOutcomeUnknown } from './outcome-unknown.js';
export { classifyPveFailure, type PveRefusalReason } from '../errors/pve-refusal.js';
export type { PveRequestFacts } from '../errors/pve-errors.js';

// The client's tuning, TLS pinning and retry budget.
export type { PveVersion } from '../client/proxmox-client.js';
export {
  DefaultClientOptions,
  MAX_RESPONSE_BYTES,
  type PveAuth,
  type PveRetryOptions,
  type PveTicketAuth,
  type PveTokenAuth,
} from '../client/client-options.js';
export { checkPeer as checkPveTlsPeer, normalizeFingerprint, type PveTlsOptions } from '../client/tls-connector.js';
export { RetryBudget, type RetryBudgetOptions } from '../ports/retry-budget.js';

// Tasks and one clone.
export { parseUpid, type Upid } from '../tasks/upid.js';
export { waitForTask, type TaskResult, type WaitForTaskOptions } from '../tasks/wait-for-task.js';
export {
  cloneVm,
  type CloneMode,
  type CloneProgress,
  type CloneResult,
  type CloneVmOptions,
} from '../cloning/clone-vm.js';

// The privileges a lab needs, by PVE version.
export { guestAgentPrivilege, labPrivilegeRequirements, type PrivilegeRequirement } from '../access/pve-privileges.js';
export { missingPrivileges, type PermissionAnswer } from '../access/privilege-grants.js';

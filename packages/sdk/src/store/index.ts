// @lab/proxmox-sdk/store: the contract a Store adapter implements (packages/store is one) — every
// record and repository, the transaction guard, the identity-platform rule — and the lease-backed
// primitives an adapter must carry across processes (class start lock, console slots), to test it with. The domain's own
// callers need only `Store` and the records from the root entry. Store errors live in ./errors.
// Every name here is listed in test/public-surface.test.ts.
export type * from './records.js';
export type * from './store.js';
export type * from './link-code-repository.js';
export type * from './class-term-repository.js';
export type * from './sdn-repository.js';
export type * from './lab-definition-repository.js';
export type * from './console-grant-repository.js';
export type * from './web-session-repository.js';
export { vmSyncKey, vmSyncFlags, VM_SYNC_FLAGS, type VmSyncKeyFields } from './vm-sync-key.js';
export { TransactionGuard } from './transaction-guard.js';
export { IDENTITY_PLATFORM_ID, assertIdentityPlatformId, isIdentityPlatformId } from './identity-platform.js';
export { DEFAULT_LEASE_TTL_MS } from './lease-heartbeat.js';
export { classStartLockName, withClassStartLock } from '../schedule/class-start-lock.js';
export { ConsoleSessionLimits, DefaultConsoleLimits, type HeldConsoleSlots } from '../console/console-limits.js';

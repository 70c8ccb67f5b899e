export { startPveSim, type PveSim, type PveSimOptions } from './pve-sim.js';
export {
  parseScenario,
  loadScenario,
  scenarioSchema,
  ScenarioError,
  type Scenario,
  type ScenarioInput,
} from './scenario.js';
export { presets } from './presets.js';
export { faultRuleSchema, FaultInjector, type FaultRule } from './http/fault-injector.js';
export { RequestStats } from './http/request-stats.js';
export { AllPrivileges, fullPermissions, type PermissionMap } from './handlers/access-routes.js';
export { SimAuth, type SimToken, type SimUser } from './http/auth.js';
export {
  loadSchemaIndex,
  SchemaIndex,
  type SchemaEndpoint,
  type SchemaMethod,
  type SchemaProperty,
} from './schema/schema-index.js';
export {
  validateParameters,
  checkReturnShape,
  type ParameterCheck,
  type RawParam,
} from './schema/validate-parameters.js';
export { ClusterState } from './model/cluster-state.js';
export { GuestOperations } from './model/guest-operations.js';
export { SdnState, type SdnObject, type SdnSection } from './model/sdn.js';
export {
  DefaultTimings,
  type SimTimings,
  type SimGuest,
  type SimNode,
  type SimStorageDef,
  type SimTask,
} from './model/types.js';
export { SimTime } from './sim-time.js';
export { generatedCloudinit } from './handlers/cloudinit-routes.js';
export { snapshotsOf, type SimSnapshot } from './model/snapshots.js';
export { passwordsSetIn, type SimGuestPassword } from './model/guest-passwords.js';
export { renderVmScreen, glyphOf, SCREEN_COLOURS, SCREEN_LAYOUT, type VmScreen } from './vnc/vm-screen.js';
export { VncProxies, VNC_ACCEPT_TIMEOUT_MS, VNC_PASSWORD_LIFETIME_MS, type SimVncProxy } from './model/vnc-proxies.js';

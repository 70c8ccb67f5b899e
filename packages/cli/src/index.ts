export { labConfigSchema, loadLabConfig, type LabConfig } from './lab-config.js';
export { openLabRuntime, type LabRuntime, type LabRuntimeOptions } from './lab-runtime.js';
export { createLabProgram, runLab, type GlobalOptions } from './program.js';
export { runDoctor, type DoctorCheck, type DoctorReport } from './doctor.js';
export { CertificateNotTrustedError, CliUsageError, ConfigExistsError, InsecureUrlError } from './cli-errors.js';
export {
  CLASS_SCHEDULER_LEASE,
  LabMetrics,
  PROCESS_LEASES,
  SYNC_LEADER_LEASE,
  type MetricsSources,
} from './ops/lab-metrics.js';
export {
  OPS_PATHS,
  checkReadiness,
  createOpsEndpoints,
  type Readiness,
  type ReadinessSources,
} from './ops/ops-endpoints.js';
export { configSecrets, createPinoLogger, logLevelFrom, type PinoLoggerOptions } from './ops/pino-logger.js';
export { createConsoleServer, type ConsoleServer, type ConsoleServerOptions } from './console/console-server.js';
export { ConsoleRelay, CONSOLE_CLOSE_CODES, type ConsoleRelayDeps } from './console/console-relay.js';
export { openPveWebSocket, type PveWebSocketRequest } from './console/pve-vnc-socket.js';
export { CONSOLE_CSP } from './console/console-http-headers.js';

export { labConfigSchema, loadLabConfig, type LabConfig } from './lab-config.js';
export { openLabRuntime, type LabRuntime } from './lab-runtime.js';

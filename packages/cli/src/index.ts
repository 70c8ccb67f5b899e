export { labConfigSchema, loadLabConfig, type LabConfig } from './lab-config.js';
export { openLabRuntime, type LabRuntime } from './lab-runtime.js';
export { createLabProgram, runLab, type GlobalOptions } from './program.js';
export { RequiredPrivileges, hasPrivilege, missingPrivileges, renderDoctorReport, runDoctor, type DoctorCheck, type DoctorReport, type PrivilegeRequirement } from './doctor.js';
export { CertificateNotTrustedError, CliUsageError, ConfigExistsError, InsecureUrlError } from './cli-errors.js';

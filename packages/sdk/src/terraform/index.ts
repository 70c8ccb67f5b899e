// @lab/proxmox-sdk/terraform: a class's VMs as a Terraform workspace (bpg/proxmox), kept out of the
// root entry so the lab's core does not write files. Its error, TerraformExportError, is in ./errors.
// Every name here is listed in test/public-surface.test.ts.
export {
  assertTerraformExportable,
  describeTerraformWorkspace,
  exportTerraform,
  writeTerraformWorkspace,
  type TerraformClassVm,
  type TerraformEndpoint,
  type TerraformExportRequest,
  type TerraformExportResult,
  type TerraformWorkspace,
  type TerraformWorkspaceRequest,
} from './export-terraform.js';

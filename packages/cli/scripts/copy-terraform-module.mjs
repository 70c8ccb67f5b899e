// Ships the proxmox-class Terraform module inside @lab/cli, so `lab class export-terraform` can copy
// it into a workspace wherever the package is installed.
import { cpSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';

const here = import.meta.dirname;
const target = resolve(here, '../terraform/modules/proxmox-class');
rmSync(target, { recursive: true, force: true });
cpSync(resolve(here, '../../../terraform/modules/proxmox-class'), target, { recursive: true });

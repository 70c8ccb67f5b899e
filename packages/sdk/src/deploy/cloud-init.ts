import type { Logger } from '../ports/logger.js';
import type { PveApi } from '../ports/pve-api.js';
import type { Store } from '../store/store.js';
import type { ConfigureStudentVm } from './vm-reset.js';
import { pveResources } from '../pve/pve-resources.js';
import { hasCloudInitDrive } from '../cloning/cloud-init-drive.js';

/**
 * PVE's `sshkeys` value: the keys, one per line, percent-encoded as `encodeURIComponent` does
 * (spaces as `%20`, never `+`). qemu-server checks the value against the `urlencoded` format
 * (pve-common JSONSchema `pve_verify_urlencoded`: only `-%a-zA-Z0-9_.!~*'()`), stores it
 * encoded in the VM config, and decodes it with `URI::Escape::uri_unescape` to validate and to
 * write the cloud-init user data (qemu-server `API2/Qemu.pm`). The HTTP client form-encodes the
 * parameter once more on the wire; PVE's HTTP server undoes that layer before the API sees it.
 */
export function encodeSshKeys(keys: readonly string[]): string {
  return encodeURIComponent(keys.join('\n'));
}

/** The keys of a PVE `sshkeys` value (see {@link encodeSshKeys}). */
export function decodeSshKeys(value: unknown): string[] {
  if (typeof value !== 'string' || value === '') return [];
  return decodeURIComponent(value)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** What cloud-init should set on one student VM. */
export interface StudentCloudInit {
  ciuser: string;
  sshkeys: string[];
  ipconfig0: string | null;
}

/**
 * The cloud-init settings of a student VM: login user from the class's login scheme (default: the
 * student's lab username), the student's SSH keys, and the class's `ipconfig0` if it sets one.
 * The hostname is the VM name: PVE has no hostname option for QEMU VMs; cloud-init uses the name.
 */
export async function studentCloudInit(
  store: Store,
  classId: string,
  personId: number | null,
): Promise<StudentCloudInit | undefined> {
  if (personId === null) return undefined;
  const person = await store.classes.getPerson(personId);
  if (!person) return undefined;
  const settings = await store.classLifecycle.settings(classId);
  const keys = await store.sshKeys.list(personId);
  return {
    ciuser: settings?.loginUser ?? person.username.replace(/[^a-z0-9_-]/gi, '_').toLowerCase(),
    sshkeys: keys.map((k) => k.key),
    ipconfig0: settings?.ipconfig0 ?? null,
  };
}

/**
 * The engine's per-student step (deploy, reset, rebuild): on a VM with a cloud-init drive, sets
 * `ciuser`, `sshkeys` and (when the class says so) `ipconfig0` where they differ, then regenerates
 * the cloud-init drive (`PUT …/cloudinit`, PVE 8+). Runs before the VM first boots; applying it
 * again changes nothing. A VM without a cloud-init drive is left alone.
 */
export function cloudInitStep(deps: { store: Store; logger?: Logger }): ConfigureStudentVm {
  return async (api: PveApi, input) => {
    const { config } = input;
    if (!hasCloudInitDrive(config)) return config;
    const wanted = await studentCloudInit(deps.store, input.classId, input.personId);
    if (!wanted) return config;
    const patch: Record<string, string> = {};
    if (config.ciuser !== wanted.ciuser) patch.ciuser = wanted.ciuser;
    if (wanted.sshkeys.length && decodeSshKeys(config.sshkeys).join('\n') !== wanted.sshkeys.join('\n'))
      patch.sshkeys = encodeSshKeys(wanted.sshkeys);
    if (wanted.ipconfig0 !== null && config.ipconfig0 !== wanted.ipconfig0) patch.ipconfig0 = wanted.ipconfig0;
    if (Object.keys(patch).length === 0) return config;
    await pveResources(api).qemu(input.node, input.vmid).updateConfig(patch);
    await pveResources(api).qemu(input.node, input.vmid).regenerateCloudInit();
    deps.logger?.info('cloud-init set', { vmid: input.vmid, keys: Object.keys(patch) });
    return { ...config, ...patch };
  };
}

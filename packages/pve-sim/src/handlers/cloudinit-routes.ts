import { die, paramError } from '../sim-error.js';
import { listDrives } from '../model/drives.js';
import type { SimGuest } from '../model/types.js';
import { route, type RouteTable } from './route-table.js';
import { paramText } from '../param-text.js';

/** Config keys that end up on the cloud-init drive (the VM name is the hostname). */
const CLOUDINIT_KEYS = /^(ciuser|cipassword|citype|ciupgrade|sshkeys|nameserver|searchdomain|ipconfig\d+|name)$/;
/** pve-common JSONSchema `pve_verify_urlencoded`. */
const URLENCODED = /^[-%a-zA-Z0-9_.!~*'()]*$/;
const SSH_KEY_LINE =
  /^(ssh-ed25519|ssh-rsa|ssh-dss|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)\s+[A-Za-z0-9+/]+={0,2}(\s+.*)?$/;

/** What each VM's cloud-init drive was last generated from (`PUT …/cloudinit`). */
const generated = new WeakMap<SimGuest, Record<string, string>>();

function cloudinitValues(guest: SimGuest): Record<string, string> {
  return Object.fromEntries(Object.entries(guest.config).filter(([k]) => CLOUDINIT_KEYS.test(k)));
}

/**
 * Checks `sshkeys` as qemu-server does on create and update: the value must match the
 * `urlencoded` format, then `URI::Escape::uri_unescape` decodes it and every non-empty line must
 * be a public key `ssh-keygen -l` accepts. PVE stores the value still encoded; so does the sim.
 */
function checkSshKeys(value: unknown): void {
  if (value === undefined) return;
  const text = paramText(value);
  if (!URLENCODED.test(text)) throw paramError({ sshkeys: `invalid format - invalid urlencoded string: ${text}` });
  let decoded: string;
  try {
    decoded = decodeURIComponent(text);
  } catch {
    throw die('SSH public key validation error');
  }
  for (const line of decoded.split('\n'))
    if (line.trim() && !SSH_KEY_LINE.test(line.trim())) throw die('SSH public key validation error');
}

/**
 * Cloud-init: `sshkeys` checks on `PUT`/`POST …/config` (wrapping the existing handlers), and
 * `GET`/`PUT /nodes/{node}/qemu/{vmid}/cloudinit` (pending values; regenerate the drive).
 * Register after the guest routes.
 */
export function registerCloudinitRoutes(table: RouteTable): void {
  for (const method of ['PUT', 'POST']) {
    const key = `${method} /nodes/{node}/qemu/{vmid}/config`;
    const inner = table.get(key);
    if (!inner) continue;
    table.set(key, (req, ctx) => {
      checkSshKeys(req.params.sshkeys);
      return inner(req, ctx);
    });
  }
  const postCreate = table.get('POST /nodes/{node}/qemu');
  if (postCreate) {
    table.set('POST /nodes/{node}/qemu', (req, ctx) => {
      checkSshKeys(req.params.sshkeys);
      return postCreate(req, ctx);
    });
  }

  route(table, 'GET', '/nodes/{node}/qemu/{vmid}/cloudinit', (req, ctx) => {
    const guest = ctx.state.requireGuest(req.params.node as string, req.params.vmid as number, 'qemu');
    const now = cloudinitValues(guest);
    const before = generated.get(guest) ?? {};
    const out: Array<Record<string, unknown>> = [];
    for (const k of new Set([...Object.keys(now), ...Object.keys(before)])) {
      const entry: Record<string, unknown> = { key: k };
      if (before[k] !== undefined) entry.value = before[k];
      if (now[k] === undefined) entry.delete = 1;
      else if (now[k] !== before[k]) entry.pending = now[k];
      out.push(entry);
    }
    return out;
  });

  route(table, 'PUT', '/nodes/{node}/qemu/{vmid}/cloudinit', (req, ctx) => {
    const guest = ctx.state.requireGuest(req.params.node as string, req.params.vmid as number, 'qemu');
    if (guest.config.lock) throw die(`VM is locked (${guest.config.lock})`);
    // Without a cloud-init drive there is nothing to regenerate; PVE answers OK as well.
    if (listDrives(guest.config).some((d) => d.isCloudinit)) generated.set(guest, cloudinitValues(guest));
    return null;
  });
}

/** What the VM's cloud-init drive was last generated from, for tests (undefined: never). */
export function generatedCloudinit(guest: SimGuest): Readonly<Record<string, string>> | undefined {
  return generated.get(guest);
}

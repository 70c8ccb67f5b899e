import type { AccessControl } from './access-control.js';
import type { SdnState } from './sdn.js';
import { paramText } from '../param-text.js';

/** `bridge`, `tag` and `trunks` of a `netX` value. */
export function parseNetBridge(value: string): { bridge?: string; tag?: string; trunks?: string } {
  const get = (key: string): string | undefined => new RegExp(`(?:^|,)${key}=([^,]+)`).exec(value)?.[1];
  const out: { bridge?: string; tag?: string; trunks?: string } = {};
  const bridge = get('bridge');
  const tag = get('tag');
  const trunks = get('trunks');
  if (bridge !== undefined) out.bridge = bridge;
  if (tag !== undefined) out.tag = tag;
  if (trunks !== undefined) out.trunks = trunks;
  return out;
}

/**
 * qemu-server `src/PVE/QemuServer.pm` `check_bridge_access` → pve-guest-common
 * `src/PVE/GuestHelpers.pm` `check_vnet_access`: for every `netX` (sorted) with a bridge,
 * `SDN.Use` on `/sdn/zones/<zone>/<bridge>` — the zone of the VNet in the (pending) SDN config,
 * `localnetwork` for a plain bridge — or on `…/<tag>` for a tagged NIC and on every trunk VLAN;
 * skipped for exactly `root@pam`.
 */
export function checkBridgeAccess(
  access: AccessControl | undefined,
  sdn: SdnState,
  user: string,
  conf: Record<string, unknown>,
): void {
  if (!access || user === 'root@pam') return;
  for (const key of Object.keys(conf).sort()) {
    if (!/^net\d+$/.test(key)) continue;
    const { bridge, tag, trunks } = parseNetBridge(paramText(conf[key]));
    if (bridge === undefined) continue;
    const zone = sdn.config.vnets.get(bridge)?.zone;
    const base = `/sdn/zones/${zone === undefined ? 'localnetwork' : paramText(zone)}/${bridge}`;
    if (tag) access.check(user, `${base}/${tag}`, ['SDN.Use']);
    if (trunks) {
      const tags = new Set<number>();
      for (const part of trunks.split(';')) {
        const m = /^(\d+)(?:-(\d+))?$/.exec(part);
        if (!m) continue;
        for (let t = Number(m[1]); t <= Number(m[2] ?? m[1]); t++) tags.add(t);
      }
      for (const t of [...tags].map(String).sort()) access.check(user, `${base}/${t}`, ['SDN.Use']);
    }
    if (!(tag || trunks)) access.check(user, base, ['SDN.Use']);
  }
}

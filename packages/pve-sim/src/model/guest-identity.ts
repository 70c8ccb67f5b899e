import type { SimGuest } from './types.js';

/** A MAC address in Proxmox's OUI (`BC:24:11`), as PVE gives a cloned NIC. */
export function randomMac(random: () => number): string {
  const bytes = [0xbc, 0x24, 0x11, ...Array.from({ length: 3 }, () => Math.floor(random() * 256))];
  return bytes.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(':');
}

/** A version-4 UUID (SMBIOS, vmgenid). */
export function randomUuid(random: () => number): string {
  const h = () =>
    Math.floor(random() * 0x10000)
      .toString(16)
      .padStart(4, '0');
  return `${h()}${h()}-${h()}-4${h().slice(1)}-a${h().slice(1)}-${h()}${h()}${h()}`;
}

/** Gives a clone's config its own identity, as PVE does: new NIC MACs, a new SMBIOS UUID and a new vmgenid. */
export function renewIdentity(config: Record<string, string>, random: () => number): void {
  for (const [key, value] of Object.entries(config)) {
    if (/^net\d+$/.test(key))
      config[key] = value.replace(/(virtio|e1000|rtl8139|vmxnet3)=[0-9A-F:]{17}/i, `$1=${randomMac(random)}`);
  }
  if (config.smbios1) config.smbios1 = config.smbios1.replace(/uuid=[0-9a-f-]+/i, `uuid=${randomUuid(random)}`);
  else config.smbios1 = `uuid=${randomUuid(random)}`;
  if (config.vmgenid) config.vmgenid = randomUuid(random);
}

/** A clone's name: the one asked for, else PVE's `Copy-of-VM-<source name or id>`. */
export function cloneName(source: SimGuest, name: string | undefined): string {
  return name ?? `Copy-of-VM-${source.config.name ?? source.vmid}`;
}

/** The guest agent's IPv4 address of a running VM: loopback, derived from its VMID so probes reach this host. */
export function guestIpAddress(vmid: number): string {
  return `127.10.${(vmid >> 8) & 255}.${vmid & 255}`;
}

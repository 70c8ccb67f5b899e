/**
 * Keys and JSON types of real PVE answers, taken from recordings in public client projects
 * (listed in the package README, "Sources"). Values are not copied; only which keys a real
 * answer has and what JSON type each carries.
 */
export const recordedShapes: Array<{ path: string; pick: (data: unknown) => unknown; keys: Record<string, string> }> = [
  {
    // community.proxmox tests/unit/plugins/inventory/test_proxmox.py (recorded PVE 6.2): GET /nodes
    path: '/nodes',
    pick: (d) => (d as unknown[])[0],
    keys: {
      type: 'string',
      cpu: 'number',
      maxdisk: 'number',
      mem: 'number',
      node: 'string',
      id: 'string',
      maxcpu: 'number',
      status: 'string',
      ssl_fingerprint: 'string',
      disk: 'number',
      maxmem: 'number',
      uptime: 'number',
      level: 'string',
    },
  },
  {
    // same source: GET /nodes/{node}/qemu entries
    path: '/nodes/pve1/qemu',
    pick: (d) => (d as Array<{ vmid: number }>).find((g) => g.vmid === 100),
    keys: {
      name: 'string',
      cpus: 'number',
      mem: 'number',
      diskread: 'number',
      cpu: 'number',
      maxmem: 'number',
      diskwrite: 'number',
      netout: 'number',
      netin: 'number',
      maxdisk: 'number',
      vmid: 'number',
      uptime: 'number',
      disk: 'number',
      status: 'string',
    },
  },
  {
    // same source: GET /nodes/{node}/lxc entries
    path: '/nodes/pve2/lxc',
    pick: (d) => (d as unknown[])[0],
    keys: {
      cpus: 'number',
      name: 'string',
      cpu: 'number',
      maxmem: 'number',
      mem: 'number',
      swap: 'number',
      type: 'string',
      maxswap: 'number',
      status: 'string',
      uptime: 'number',
      netin: 'number',
      netout: 'number',
    },
  },
  {
    // same source: GET /nodes/{node}/qemu/{vmid}/config (qemu)
    path: '/nodes/pve1/qemu/100/config',
    pick: (d) => d,
    keys: {
      cores: 'number',
      digest: 'string',
      sockets: 'number',
      name: 'string',
      ostype: 'string',
      scsi0: 'string',
      net0: 'string',
      agent: 'string',
      scsihw: 'string',
      smbios1: 'string',
      vmgenid: 'string',
    },
  },
  {
    // Telmate/terraform-provider-proxmox issue #437: task status body of a finished qmclone
    path: '/nodes/pve1/tasks',
    pick: (d) => (d as unknown[])[0],
    keys: {
      upid: 'string',
      node: 'string',
      pid: 'number',
      pstart: 'number',
      starttime: 'number',
      type: 'string',
      id: 'string',
      user: 'string',
    },
  },
];

/**
 * The one table of what Proxmox Lab's token must be allowed, by Proxmox VE version: the deployment
 * preflight and `lab doctor` both read it. The guest-agent privilege that reading a VM's addresses
 * needs (`agent/network-get-interfaces`) changed name in PVE 9: pve-access-control 9.0.2
 * (`src/PVE/AccessControl.pm` `$privgroups`, commits 922f710 and 0706945) dropped `VM.Monitor` for
 * `VM.GuestAgent.Audit` and its siblings, and qemu-server `src/PVE/API2/Qemu/Agent.pm` (b92a40ce)
 * checks `VM.GuestAgent.Audit` (or `.Unrestricted`) where PVE 8 checked `VM.Monitor`.
 */

/** A privilege set Proxmox Lab needs, where it needs it, and the built-in PVE role that grants it. */
export interface PrivilegeRequirement {
  path: string;
  privileges: readonly string[];
  role: string;
  why: string;
}

/** The major version of a PVE version string (`9.1.3` → 9); 0 when it is not one. */
export function pveMajorVersion(version: string): number {
  const major = Number.parseInt(version, 10);
  return Number.isFinite(major) ? major : 0;
}

/** The privilege that reading a VM's addresses from the QEMU guest agent needs on `version`. */
export function guestAgentPrivilege(version: string): 'VM.GuestAgent.Audit' | 'VM.Monitor' {
  return pveMajorVersion(version) >= 9 ? 'VM.GuestAgent.Audit' : 'VM.Monitor';
}

/**
 * What the cluster token must be allowed on Proxmox VE `version`. The roles are PVE's built-in
 * ones: PVEVMAdmin holds every VM.* privilege listed (VM.Monitor on 8, VM.GuestAgent.Audit on 9),
 * PVEDatastoreUser Datastore.AllocateSpace and Datastore.Audit, PVESDNUser SDN.Use, PVEAuditor
 * Sys.Audit. With `console`, also VM.Console for the browser console (`vncproxy`, `vncwebsocket`).
 * With `networks` (a class uses networks, issue 30), also SDN.Allocate, SDN.Audit and SDN.Use on
 * `/sdn`: pve-network checks SDN.Allocate on `/sdn/zones[/<zone>]` to create zones, VNets and
 * subnets and on `/sdn` for `PUT /cluster/sdn`, SDN.Audit on `/sdn` to read it, and qemu-server
 * SDN.Use on `/sdn/zones/<zone>/<vnet>` to attach a VM; PVESDNAdmin holds all three.
 */
export function labPrivilegeRequirements(
  version: string,
  options: { console?: boolean; networks?: boolean } = {},
): readonly PrivilegeRequirement[] {
  return [
    {
      path: '/vms',
      privileges: [
        'VM.Clone',
        'VM.Allocate',
        'VM.Config.Disk',
        'VM.Config.CPU',
        'VM.Config.Memory',
        'VM.Config.Network',
        'VM.Config.Options',
        'VM.Config.Cloudinit',
        'VM.PowerMgmt',
        'VM.Audit',
      ],
      role: 'PVEVMAdmin',
      why: 'to clone, configure, start and stop class VMs',
    },
    {
      path: '/vms',
      privileges: [guestAgentPrivilege(version)],
      role: 'PVEVMAdmin',
      why: "to read the VMs' addresses from the QEMU guest agent",
    },
    {
      path: '/storage',
      privileges: ['Datastore.AllocateSpace', 'Datastore.Audit'],
      role: 'PVEDatastoreUser',
      why: 'to allocate the clones’ disks',
    },
    {
      path: '/sdn/zones/localnetwork',
      privileges: ['SDN.Use'],
      role: 'PVESDNUser',
      why: 'to attach VMs to the node bridges (PVE 8 and later)',
    },
    { path: '/nodes', privileges: ['Sys.Audit'], role: 'PVEAuditor', why: 'to read node load for placement' },
    ...(options.console
      ? [
          {
            path: '/vms',
            privileges: ['VM.Console'],
            role: 'PVEVMUser',
            why: 'to open the VNC console of /myvm console links',
          },
        ]
      : []),
    ...(options.networks
      ? [
          {
            path: '/sdn',
            privileges: ['SDN.Allocate', 'SDN.Audit', 'SDN.Use'],
            role: 'PVESDNAdmin',
            why: 'to build, apply and remove class networks (SDN zones, VNets, subnets) and attach VMs to them',
          },
        ]
      : []),
  ];
}

import type { ScenarioInput } from './scenario.js';

const templates = (firstNode: string, secondNode: string): NonNullable<ScenarioInput['guests']> => [
  {
    vmid: 9000,
    node: firstNode,
    name: 'ubuntu-2404-cloud',
    template: true,
    memory: 2048,
    cores: 2,
    ostype: 'l26',
    disks: { scsi0: { storage: 'local-lvm', sizeGiB: 32 } },
    cloudinit: 'local-lvm',
    tags: 'template;linux',
  },
  {
    vmid: 9001,
    node: firstNode,
    name: 'win11-lab',
    template: true,
    memory: 4096,
    cores: 2,
    ostype: 'win11',
    disks: { scsi0: { storage: 'local-lvm', sizeGiB: 64 } },
    tags: 'template;windows',
    config: { efidisk0: 'local-lvm:base-9001-disk-1,efitype=4m,size=4M', bios: 'ovmf' },
  },
  {
    vmid: 9002,
    node: firstNode,
    name: 'debian-12-shared',
    template: true,
    memory: 1024,
    cores: 1,
    ostype: 'l26',
    disks: { scsi0: { storage: 'nfs-shared', sizeGiB: 16 } },
    tags: 'template;linux',
  },
  {
    vmid: 9100,
    node: secondNode,
    name: 'ubuntu-2404-cloud',
    template: true,
    memory: 2048,
    cores: 2,
    ostype: 'l26',
    disks: { scsi0: { storage: 'local-lvm', sizeGiB: 32 } },
    cloudinit: 'local-lvm',
    tags: 'template;linux;replica',
  },
];

const storages: NonNullable<ScenarioInput['storages']> = [
  { id: 'local-lvm', type: 'lvmthin', shared: false, sizeGiB: 3500, throughputMBps: 400 },
  {
    id: 'local',
    type: 'dir',
    shared: false,
    sizeGiB: 100,
    throughputMBps: 300,
    content: 'iso,vztmpl,backup,images',
    format: 'qcow2',
  },
  {
    id: 'nfs-shared',
    type: 'nfs',
    shared: true,
    sizeGiB: 8000,
    throughputMBps: 250,
    content: 'images,iso',
    format: 'qcow2',
  },
];

/**
 * The first day of term: 10 nodes of 64 threads and 256 GiB, no student VM yet, the Ubuntu cloud
 * template on the first two nodes (the image on `pve1`, a copy on `pve2`, as a school keeps one spare)
 * and a Windows template on `pve1`. With `storage` local lvm-thin on every node (PVE clones a
 * local-storage template only on its own node, so students elsewhere need a copy of the base first)
 * or one Ceph RBD pool every node shares (linked clones anywhere, one cluster-wide allocation lock).
 */
function firstDay(cluster: string, storage: 'local-lvm' | 'ceph'): ScenarioInput {
  const ubuntu = (vmid: number, node: string, tags: string) => ({
    vmid,
    node,
    name: 'ubuntu-2404-cloud',
    template: true,
    memory: 2048,
    cores: 2,
    ostype: 'l26',
    disks: { scsi0: { storage, sizeGiB: 32 } },
    cloudinit: storage,
    tags,
  });
  return {
    cluster,
    nodes: Array.from({ length: 10 }, (_, i) => ({ name: `pve${i + 1}`, cpus: 64, memoryGiB: 256 })),
    storages:
      storage === 'ceph'
        ? [
            { id: 'ceph', type: 'rbd', shared: true, sizeGiB: 40_000, throughputMBps: 600, content: 'images,rootdir' },
            storages[1]!,
          ]
        : [{ ...storages[0]!, sizeGiB: 4000 }, storages[1]!],
    guests: [
      ubuntu(9000, 'pve1', 'template;linux'),
      ...(storage === 'ceph' ? [] : [ubuntu(9100, 'pve2', 'template;linux;replica')]),
      {
        vmid: 9001,
        node: 'pve1',
        name: 'win11-lab',
        template: true,
        memory: 4096,
        cores: 2,
        ostype: 'win11',
        disks: { scsi0: { storage, sizeGiB: 64 } },
        tags: 'template;windows',
      },
      {
        vmid: 100,
        node: 'pve1',
        name: 'dns',
        status: 'running',
        memory: 1024,
        cores: 1,
        disks: { scsi0: { storage, sizeGiB: 16 } },
        tags: 'infra',
      },
    ],
    users: [{ userid: 'root@pam', password: 'pve-sim' }],
  };
}

/**
 * The shipped scenarios: `small` (3 nodes), `school` (5 nodes, ~300 VMs), `ceph` (`school` on one
 * Ceph RBD pool every node shares), `large` (10,000 VMs), `firstday` (10 empty nodes on local
 * lvm-thin, the first day of term) and `firstday-ceph` (the same on one Ceph RBD pool).
 */
export const presets: Record<string, ScenarioInput> = {
  small: {
    cluster: 'lab-small',
    nodes: [{ name: 'pve1' }, { name: 'pve2' }, { name: 'pve3', memoryGiB: 64, cpus: 16 }],
    storages: [
      ...storages,
      { id: 'thick-lvm', type: 'lvm', shared: false, nodes: ['pve3'], sizeGiB: 1000, throughputMBps: 300 },
    ],
    guests: [
      ...templates('pve1', 'pve2'),
      {
        vmid: 9003,
        node: 'pve3',
        name: 'legacy-thick',
        template: true,
        memory: 1024,
        cores: 1,
        disks: { scsi0: { storage: 'thick-lvm', sizeGiB: 16 } },
        tags: 'template;linux',
      },
      {
        vmid: 100,
        node: 'pve1',
        name: 'dns',
        status: 'running',
        memory: 1024,
        cores: 1,
        disks: { scsi0: { storage: 'local-lvm', sizeGiB: 16 } },
        tags: 'infra',
      },
      {
        vmid: 101,
        node: 'pve2',
        name: 'gitlab',
        status: 'running',
        memory: 8192,
        cores: 4,
        disks: { scsi0: { storage: 'local-lvm', sizeGiB: 64 } },
        tags: 'infra',
      },
      {
        vmid: 102,
        node: 'pve3',
        name: 'backup',
        status: 'stopped',
        memory: 2048,
        cores: 2,
        disks: { scsi0: { storage: 'local-lvm', sizeGiB: 32 } },
      },
      {
        vmid: 200,
        type: 'lxc',
        node: 'pve2',
        name: 'monitoring',
        status: 'running',
        memory: 512,
        cores: 1,
        ostype: 'debian',
        agent: false,
        disks: { rootfs: { storage: 'local-lvm', sizeGiB: 8 } },
      },
    ],
    users: [{ userid: 'root@pam', password: 'pve-sim' }],
  },
  school: {
    cluster: 'lab-school',
    nodes: [
      { name: 'pve1' },
      { name: 'pve2' },
      { name: 'pve3' },
      { name: 'pve4', cpus: 48, memoryGiB: 256 },
      { name: 'pve5', cpus: 16, memoryGiB: 64 },
    ],
    storages,
    guests: templates('pve1', 'pve2'),
    generate: { count: 300, vmidStart: 1000, storage: 'local-lvm', runningFraction: 0.4, namePrefix: 'student' },
    users: [{ userid: 'root@pam', password: 'pve-sim' }],
  },
  ceph: {
    cluster: 'lab-ceph',
    nodes: [
      { name: 'pve1' },
      { name: 'pve2' },
      { name: 'pve3' },
      { name: 'pve4', cpus: 48, memoryGiB: 256 },
      { name: 'pve5', cpus: 16, memoryGiB: 64 },
    ],
    storages: [
      { id: 'ceph', type: 'rbd', shared: true, sizeGiB: 20_000, throughputMBps: 600, content: 'images,rootdir' },
      {
        id: 'local',
        type: 'dir',
        shared: false,
        sizeGiB: 100,
        throughputMBps: 300,
        content: 'iso,vztmpl,backup,images',
        format: 'qcow2',
      },
    ],
    guests: [
      {
        vmid: 9000,
        node: 'pve1',
        name: 'ubuntu-2404-cloud',
        template: true,
        memory: 2048,
        cores: 2,
        ostype: 'l26',
        disks: { scsi0: { storage: 'ceph', sizeGiB: 32 } },
        cloudinit: 'ceph',
        tags: 'template;linux',
      },
    ],
    generate: { count: 300, vmidStart: 1000, storage: 'ceph', runningFraction: 0.4, namePrefix: 'student' },
    users: [{ userid: 'root@pam', password: 'pve-sim' }],
  },
  large: {
    cluster: 'lab-large',
    nodes: Array.from({ length: 8 }, (_, i) => ({ name: `pve${i + 1}`, cpus: 64, memoryGiB: 512 })),
    storages: storages.map((s) => (s.id === 'local-lvm' ? { ...s, sizeGiB: 20_000 } : s)),
    guests: templates('pve1', 'pve2'),
    generate: {
      count: 10_000,
      vmidStart: 10_000,
      storage: 'local-lvm',
      runningFraction: 0.5,
      namePrefix: 'vm',
      lxcFraction: 0.1,
    },
    users: [{ userid: 'root@pam', password: 'pve-sim' }],
  },
  firstday: firstDay('lab-firstday', 'local-lvm'),
  'firstday-ceph': firstDay('lab-firstday-ceph', 'ceph'),
};

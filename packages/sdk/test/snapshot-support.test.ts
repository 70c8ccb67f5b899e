import { describe, expect, it } from 'vitest';
import { newestOnlyStorage, snapshotBlocker } from '../src/inventory/snapshot-support.js';

// What pve-storage's volume_has_feature('snapshot') answers per plugin, as the SDK decides it before asking PVE.
const storages = [
  { storage: 'local-lvm', type: 'lvmthin' },
  { storage: 'tank', type: 'zfspool' },
  { storage: 'ceph', type: 'rbd' },
  { storage: 'local', type: 'dir' },
  { storage: 'nas', type: 'nfs' },
  { storage: 'thick', type: 'lvm' },
];

describe('which VMs Proxmox can snapshot', () => {
  it('allows lvm-thin (linked clones too), ZFS, RBD and qcow2 images, and skips CD-ROMs and the cloud-init drive', () => {
    for (const scsi0 of [
      'local-lvm:vm-105-disk-0,size=32G',
      'tank:base-104-disk-0/vm-105-disk-0,size=32G',
      'ceph:vm-105-disk-0',
      'local:105/vm-105-disk-0.qcow2,size=32G',
      'nas:105/vm-105-disk-0.qcow2',
      'thick:vm-105-disk-0.qcow2',
    ])
      expect(
        snapshotBlocker(
          { scsi0, ide2: 'local-lvm:vm-105-cloudinit,media=cdrom', ide0: 'local:iso/x.iso,media=cdrom' },
          storages,
        ),
        scsi0,
      ).toBeUndefined();
  });

  it('refuses raw images on directory storages and thick LVM, naming the disk and storage, and templates', () => {
    expect(snapshotBlocker({ scsi0: 'local-lvm:vm-1-disk-0', virtio1: 'local:105/vm-105-disk-1.raw' }, storages)).toBe(
      'its disk virtio1 is on storage local (dir, raw), where Proxmox cannot take snapshots; a VM on lvm-thin, ZFS, Ceph RBD or a qcow2 image can',
    );
    expect(snapshotBlocker({ scsi0: 'thick:vm-105-disk-0' }, storages)).toMatch(/storage thick \(lvm, raw\)/);
    expect(snapshotBlocker({ scsi0: 'gone:vm-105-disk-0' }, storages)).toMatch(/storage gone \(unknown type, raw\)/);
    expect(snapshotBlocker({ template: 1, scsi0: 'local-lvm:base-9000-disk-0' }, storages)).toBe('it is a template');
  });

  it('knows which storages go back only to the newest snapshot', () => {
    expect(newestOnlyStorage({ scsi0: 'local-lvm:vm-1-disk-0', scsi1: 'tank:vm-1-disk-1' }, storages)).toBe('tank');
    expect(newestOnlyStorage({ scsi0: 'local-lvm:vm-1-disk-0', scsi1: 'ceph:vm-1-disk-1' }, storages)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { findBootDisk } from '../src/cloning/boot-disk.js';
import { nodeTemplateVmid } from '../src/templates/node-template-vmid.js';

describe('finding the boot disk', () => {
  it('prefers the first real disk of boot: order=', () => {
    expect(
      findBootDisk({
        boot: 'order=ide2;virtio1;scsi0',
        ide2: 'local:iso/x.iso,media=cdrom',
        virtio1: 'local-lvm:vm-1-disk-1,size=8G',
        scsi0: 'local-lvm:vm-1-disk-0',
      }),
    ).toEqual({
      key: 'virtio1',
      volid: 'local-lvm:vm-1-disk-1',
      storage: 'local-lvm',
    });
  });

  it('falls back to the legacy bootdisk key, then to the first disk by bus', () => {
    expect(findBootDisk({ bootdisk: 'sata0', sata0: 'ceph:vm-1-disk-0,size=8G', scsi0: 'x:y' })?.key).toBe('sata0');
    expect(findBootDisk({ virtio2: 'a:vm-1-disk-2', scsi10: 'a:vm-1-disk-10', scsi2: 'a:vm-1-disk-1' })?.key).toBe(
      'scsi2',
    );
  });

  it('never counts CD-ROMs, cloud-init drives, EFI/TPM disks or unused volumes', () => {
    const config = {
      ide0: 'none,media=cdrom',
      ide2: 'local-lvm:vm-9000-cloudinit,media=cdrom',
      sata1: 'local:iso/debian.iso,media=cdrom',
      efidisk0: 'local-lvm:vm-9000-disk-1,size=4M',
      tpmstate0: 'local-lvm:vm-9000-disk-2,size=4M',
      unused0: 'local-lvm:vm-9000-disk-0',
      boot: 'order=ide2;ide0',
    };
    expect(findBootDisk(config)).toBeUndefined();
  });
});

describe('node-specific template VMIDs', () => {
  it('are 9000 + 100·node + base, within range', () => {
    expect(nodeTemplateVmid(1, 0)).toBe(9100);
    expect(nodeTemplateVmid(3, 5)).toBe(9305);
    expect(nodeTemplateVmid(9, 99)).toBe(9999);
  });

  it('refuse indexes out of range', () => {
    expect(() => nodeTemplateVmid(0, 1)).toThrow('nodeIndex must be a whole number from 1 to 9, got 0');
    expect(() => nodeTemplateVmid(10, 1)).toThrow(/nodeIndex/);
    expect(() => nodeTemplateVmid(1, 100)).toThrow('baseId must be a whole number from 0 to 99, got 100');
    expect(() => nodeTemplateVmid(1.5, 1)).toThrow(/nodeIndex/);
  });
});

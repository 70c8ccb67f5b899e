const DRIVE_KEY = /^(ide|sata|scsi|virtio)\d+$/;

/** Whether a VM config has a cloud-init drive (`ide2: local-lvm:vm-101-cloudinit,media=cdrom`). */
export function hasCloudInitDrive(config: Record<string, unknown>): boolean {
  return Object.entries(config).some(
    ([key, value]) =>
      DRIVE_KEY.test(key) &&
      typeof value === 'string' &&
      /(^|[:/])(vm-\d+-cloudinit|base-\d+-cloudinit)|cloudinit/.test(value.split(',')[0]!),
  );
}

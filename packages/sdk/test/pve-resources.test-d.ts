import { describe, expectTypeOf, it } from 'vitest';
import type { ProxmoxClient } from '../src/index.js';
import {
  pveResources,
  type ClusterResourceEntry,
  type ClusterResourcesResponse,
  type GuestConfig,
  type PveEndpoints,
  type QemuCloneParams,
  type TaskStatus,
} from '../src/pve/index.js';

declare const client: ProxmoxClient;
const pve = pveResources(client);

describe('the resource layer checks PVE parameters at compile time', () => {
  it('accepts the parameters the PVE schema defines, with their types', () => {
    expectTypeOf(pve.qemu('pve1', 9000).clone).parameter(0).toEqualTypeOf<QemuCloneParams>();
    expectTypeOf<QemuCloneParams['newid']>().toEqualTypeOf<number>();
    expectTypeOf<QemuCloneParams['full']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf(pve.qemu('pve1', 9000).config()).resolves.toEqualTypeOf<GuestConfig>();
    expectTypeOf(pve.tasks('pve1').status('UPID:…')).resolves.toEqualTypeOf<TaskStatus>();
    expectTypeOf(pve.cluster.resources)
      .parameter(0)
      .toEqualTypeOf<{ type?: 'vm' | 'storage' | 'node' | 'sdn' } | undefined>();
  });

  it('rejects a wrong parameter name', () => {
    // @ts-expect-error `newId` is not a clone parameter (PVE calls it `newid`)
    void pve.qemu('pve1', 9000).clone({ newId: 300 });
    // @ts-expect-error `timeout_s` is not a shutdown parameter
    void pve.qemu('pve1', 9000).shutdown({ timeout_s: 60 });
    // @ts-expect-error `target` is required by migrate
    void pve.qemu('pve1', 9000).migrate({ online: true });
  });

  it('rejects a wrong parameter type or value', () => {
    // @ts-expect-error newid is an integer, not a string
    void pve.qemu('pve1', 9000).clone({ newid: '300' });
    // @ts-expect-error `format` is one of raw, qcow2, vmdk
    void pve.qemu('pve1', 9000).clone({ newid: 300, format: 'vdi' });
    // @ts-expect-error `type` of /cluster/resources is vm, storage, node or sdn
    void pve.cluster.resources({ type: 'qemu' });
    // @ts-expect-error a task-log `limit` is a number
    void pve.tasks('pve1').log('UPID:…', { limit: 'all' });
    // @ts-expect-error a VMID is a number
    void pve.qemu('pve1', '9000');
  });

  it('reads every field of /cluster/resources from one schema, maxmem included, without a cast', () => {
    expectTypeOf<ClusterResourceEntry['maxmem']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<ClusterResourceEntry['vmid']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<ClusterResourcesResponse[number]['maxmem']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<PveEndpoints['GET /cluster/resources']['response']>().toEqualTypeOf<ClusterResourcesResponse>();
  });
});

import { die, paramError } from '../sim-error.js';
import { guestCores, guestMemoryBytes } from '../model/cluster-state.js';
import { parseSize, volumeParent } from '../model/storage-naming.js';
import { retainedBytes } from '../model/thin-pool.js';
import type { SimGuest } from '../model/types.js';
import { route, type RouteTable, type SimContext } from './route-table.js';

const BOOT_DISK_KEYS = ['rootfs', 'scsi0', 'virtio0', 'sata0', 'ide0'];

/** `maxdisk` of a guest: the size of its first disk (rootfs for containers). Hot path of /cluster/resources. */
export function guestMaxDisk(guest: SimGuest): number {
  for (const key of BOOT_DISK_KEYS) {
    const line = guest.config[key];
    if (line === undefined || line.includes('media=cdrom')) continue;
    const size = /(?:^|,)size=([^,]+)/.exec(line)?.[1];
    return size ? parseSize(size) : 0;
  }
  return 0;
}

/** Seconds a guest has been running at simulated time `now`. */
export function guestUptime(ctx: SimContext, guest: SimGuest, now = ctx.state.time.now()): number {
  return guest.status === 'running' && guest.startedAt !== undefined ? Math.floor((now - guest.startedAt) / 1000) : 0;
}

/** The usage fields PVE reports for a guest in lists and resources (always the same keys, in order). */
export function guestUsage(ctx: SimContext, guest: SimGuest, now = ctx.state.time.now()) {
  const running = guest.status === 'running';
  const uptime = guestUptime(ctx, guest, now);
  const maxmem = guestMemoryBytes(guest);
  return {
    cpu: running ? guest.cpuLoad : 0,
    maxcpu: guestCores(guest),
    mem: running ? Math.round(maxmem * 0.45) : 0,
    maxmem,
    disk: 0,
    maxdisk: guestMaxDisk(guest),
    uptime,
    netin: running ? uptime * 1200 : 0,
    netout: running ? uptime * 800 : 0,
    diskread: running ? uptime * 40_000 : 0,
    diskwrite: running ? uptime * 25_000 : 0,
  };
}

/**
 * One guest's `/cluster/resources` entry. Every entry has the same keys in the same order (absent
 * ones `undefined`, which JSON leaves out) so that V8 sees one object shape: at 10,000 guests this
 * is the simulator's hot path.
 */
function guestResource(ctx: SimContext, guest: SimGuest, now: number): Record<string, unknown> {
  const nodeOnline = ctx.state.nodes.get(guest.node)?.online ?? false;
  const config = guest.config;
  if (ctx.state.isFresh(guest, now)) {
    // pvestatd has not reported it yet: only what the cluster filesystem knows (pve-manager
    // `PVE/API2Tools.pm` extract_vm_stats with no rrd entry, plus lock, tags and pool).
    return {
      id: `${guest.type}/${guest.vmid}`,
      vmid: guest.vmid,
      node: guest.node,
      type: guest.type,
      status: 'unknown',
      tags: config.tags || undefined,
      lock: config.lock || undefined,
      pool: guest.pool,
    };
  }
  return {
    id: `${guest.type}/${guest.vmid}`,
    type: guest.type,
    vmid: guest.vmid,
    name: config.name ?? config.hostname ?? `VM ${guest.vmid}`,
    node: guest.node,
    status: nodeOnline ? guest.status : 'unknown',
    template: config.template === '1' ? 1 : 0,
    ...guestUsage(ctx, guest, now),
    ...(guest.type === 'qemu'
      ? { memhost: guest.status === 'running' ? Math.round(guestMemoryBytes(guest) * 0.5) : 0 }
      : {}),
    tags: config.tags || undefined,
    lock: config.lock || undefined,
    pool: guest.pool,
    hastate: guest.hastate,
  };
}

function storageUsage(ctx: SimContext, node: string, storageId: string) {
  const instance = ctx.state.storageOn(node, storageId)!;
  let used = 0;
  for (const v of instance.volumes.values()) used += v.usedBytes;
  used += retainedBytes(instance);
  return { total: instance.def.totalBytes, used, avail: Math.max(0, instance.def.totalBytes - used) };
}

function nodeEntry(ctx: SimContext, name: string) {
  const node = ctx.state.nodes.get(name)!;
  const uptime = node.online ? Math.floor((ctx.state.time.now() - node.bootedAt) / 1000) : 0;
  return {
    node: name,
    status: node.online ? 'online' : 'offline',
    cpu: ctx.state.cpuUsage(name),
    maxcpu: node.maxcpu,
    mem: node.online ? ctx.state.usedMemory(name) : 0,
    maxmem: node.maxmem,
    disk: node.online ? Math.round(node.rootfsTotal * 0.2) : 0,
    maxdisk: node.rootfsTotal,
    uptime,
    level: '',
    id: `node/${name}`,
    type: 'node',
    ssl_fingerprint: '00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00',
  };
}

/** `/version`, `/cluster/*`, `/nodes`, node status and storage routes. */
export function registerClusterRoutes(table: RouteTable): void {
  // PVE 8/9 report a 16-hex-digit repoid (pve-manager `PVE/API2/Version.pm`).
  route(table, 'GET', '/version', (_req, ctx) => ({
    version: ctx.pveVersion,
    release: ctx.pveVersion.split('.').slice(0, 2).join('.'),
    repoid: '14a22df35955d97d',
  }));

  route(table, 'GET', '/cluster/status', (_req, ctx) => {
    const nodes = [...ctx.state.nodes.values()];
    return [
      {
        type: 'cluster',
        id: 'cluster',
        name: ctx.state.name,
        nodes: nodes.length,
        quorate: 1,
        version: nodes.length + 2,
      },
      ...nodes.map((n, i) => ({
        type: 'node',
        id: `node/${n.name}`,
        name: n.name,
        nodeid: i + 1,
        online: n.online ? 1 : 0,
        ip: n.ip,
        local: i === 0 ? 1 : 0,
        level: '',
      })),
    ];
  });

  route(table, 'GET', '/cluster/nextid', (req, ctx) => {
    const wanted = req.params.vmid as number | undefined;
    if (wanted !== undefined) {
      if (ctx.state.guests.has(wanted)) throw paramError({ vmid: `VM ${wanted} already exists` });
      return String(wanted);
    }
    return String(ctx.state.nextFreeVmid());
  });

  // Filters instead of refusing (pve-manager `PVE/API2/Cluster.pm` resources, 14a22df3): pools
  // need Pool.Audit, guests VM.Audit, storages Datastore.Audit; a node without Sys.Audit shows no
  // usage. Pool entries add up their guests' usage.
  route(table, 'GET', '/cluster/resources', (req, ctx) => {
    const type = req.params.type as string | undefined;
    const authid = req.principal.userid;
    const access = ctx.access;
    const out: Record<string, unknown>[] = [];
    const pools = new Map<string, Record<string, unknown>>();
    if (!type || type === 'pool') {
      for (const pool of [...ctx.state.pools].sort()) {
        if (!access.has(authid, `/pool/${pool}`, ['Pool.Audit'])) continue;
        const entry: Record<string, unknown> = { id: `/pool/${pool}`, pool, type: 'pool' };
        pools.set(pool, entry);
        out.push(entry);
      }
    }
    if (!type || type === 'vm') {
      const now = ctx.state.time.now();
      for (const guest of ctx.state.guests.values()) {
        const entry = guestResource(ctx, guest, now);
        const pe = guest.pool ? pools.get(guest.pool) : undefined;
        if (pe && typeof entry.uptime === 'number' && entry.uptime > 0) {
          const maxcpu = (pe.maxcpu as number | undefined) ?? 0;
          pe.uptime = Math.max((pe.uptime as number | undefined) ?? 0, entry.uptime);
          pe.mem = ((pe.mem as number | undefined) ?? 0) + (entry.mem as number);
          pe.maxmem = ((pe.maxmem as number | undefined) ?? 0) + (entry.maxmem as number);
          pe.cpu =
            (((pe.cpu as number | undefined) ?? 0) * maxcpu + (entry.cpu as number) * (entry.maxcpu as number)) /
            (maxcpu + (entry.maxcpu as number));
          pe.maxcpu = maxcpu + (entry.maxcpu as number);
        }
        if (!access.has(authid, `/vms/${guest.vmid}`, ['VM.Audit'])) continue;
        if (guest.pool && !access.has(authid, `/pool/${guest.pool}`, ['Pool.Audit'])) entry.pool = undefined;
        out.push(entry);
      }
    }
    if (!type || type === 'node') {
      for (const name of ctx.state.nodes.keys()) {
        const { ssl_fingerprint: _fp, ...entry } = nodeEntry(ctx, name);
        if (access.has(authid, `/nodes/${name}`, ['Sys.Audit'])) out.push({ ...entry, 'cgroup-mode': 2 });
        else
          out.push({
            id: entry.id,
            node: entry.node,
            type: 'node',
            status: entry.status,
            level: entry.level,
            'cgroup-mode': 2,
          });
      }
    }
    if (!type || type === 'storage') {
      for (const def of ctx.state.storageDefs.values()) {
        if (!access.has(authid, `/storage/${def.id}`, ['Datastore.Audit'])) continue;
        for (const node of def.nodes) {
          const usage = storageUsage(ctx, node, def.id);
          out.push({
            id: `storage/${node}/${def.id}`,
            type: 'storage',
            storage: def.id,
            node,
            status: ctx.state.nodes.get(node)?.online ? 'available' : 'unknown',
            disk: usage.used,
            maxdisk: usage.total,
            content: def.content,
            plugintype: def.type,
            shared: def.shared ? 1 : 0,
          });
        }
      }
    }
    return out;
  });

  route(table, 'GET', '/nodes', (_req, ctx) => [...ctx.state.nodes.keys()].map((name) => nodeEntry(ctx, name)));

  route(table, 'GET', '/nodes/{node}/status', (req, ctx) => {
    const name = req.params.node as string;
    const node = ctx.state.requireNode(name);
    const used = ctx.state.usedMemory(name);
    const cpu = ctx.state.cpuUsage(name);
    return {
      cpu,
      cpuinfo: {
        cpus: node.maxcpu,
        cores: node.maxcpu / 2,
        sockets: 1,
        model: 'pve-sim virtual CPU',
        mhz: '2400.000',
        hvm: '1',
        flags: '',
        user_hz: 100,
      },
      memory: { total: node.maxmem, used, free: node.maxmem - used, available: node.maxmem - used },
      swap: { total: 0, used: 0, free: 0 },
      rootfs: {
        total: node.rootfsTotal,
        used: Math.round(node.rootfsTotal * 0.2),
        free: Math.round(node.rootfsTotal * 0.8),
        avail: Math.round(node.rootfsTotal * 0.8),
      },
      uptime: Math.floor((ctx.state.time.now() - node.bootedAt) / 1000),
      loadavg: [(cpu * node.maxcpu).toFixed(2), (cpu * node.maxcpu).toFixed(2), (cpu * node.maxcpu).toFixed(2)],
      idle: 0,
      wait: 0,
      kversion: 'Linux 6.14.8-2-pve #1 SMP PREEMPT_DYNAMIC',
      pveversion: 'pve-manager/9.1.3/e5010dce',
      'boot-info': { mode: 'efi', secureboot: 0 },
      'current-kernel': {
        sysname: 'Linux',
        release: '6.14.8-2-pve',
        version: '#1 SMP PREEMPT_DYNAMIC',
        machine: 'x86_64',
      },
      ksm: { shared: 0 },
    };
  });

  route(table, 'GET', '/nodes/{node}/storage', (req, ctx) => {
    const node = req.params.node as string;
    ctx.state.requireNode(node);
    const wanted = req.params.storage as string | undefined;
    const content = req.params.content as string | undefined;
    const out: Record<string, unknown>[] = [];
    for (const def of ctx.state.storageDefs.values()) {
      if (!def.nodes.includes(node)) continue;
      if (wanted && def.id !== wanted) continue;
      if (content && !def.content.split(',').includes(content)) continue;
      const usage = storageUsage(ctx, node, def.id);
      out.push({
        storage: def.id,
        type: def.type,
        content: def.content,
        active: 1,
        enabled: 1,
        shared: def.shared ? 1 : 0,
        total: usage.total,
        used: usage.used,
        avail: usage.avail,
        used_fraction: usage.total ? usage.used / usage.total : 0,
      });
    }
    return out;
  });

  // pve-storage `src/PVE/API2/Storage/Content.pm` index → `Storage.pm` `volume_list` (sorted by
  // volid, case-insensitive) → each plugin's `list_images` (BEHAVIOURS.md §T1a): lvm-thin answers
  // volid, format, size, vmid, ctime; zfspool and rbd add `name` and `parent` (`<base>@__base__`)
  // and leave out `used` and `ctime`; dir/nfs answer `used` and the qcow2 backing file as `parent`.
  // `content` is `rootdir` for a container's volume (`Plugin.pm` `list_volumes`).
  route(table, 'GET', '/nodes/{node}/storage/{storage}/content', (req, ctx) => {
    const node = req.params.node as string;
    const instance = ctx.state.storageOn(node, req.params.storage as string);
    if (!instance) throw die(`storage '${String(req.params.storage)}' does not exist`);
    const def = instance.def;
    const fileBased = def.type === 'dir' || def.type === 'nfs';
    const ctime = Math.floor(ctx.state.time.now() / 1000);
    return [...instance.volumes.values()]
      .map((v) => {
        const parent = volumeParent(def, v.volname);
        const format = fileBased ? (/\.(\w+)$/.exec(v.volname)?.[1] ?? def.format) : 'raw';
        return {
          volid: `${def.id}:${v.volname}`,
          format,
          size: v.sizeBytes,
          vmid: v.vmid,
          content: ctx.state.guests.get(v.vmid)?.type === 'lxc' ? 'rootdir' : 'images',
          ...(def.type === 'zfspool' || def.type === 'rbd' ? { name: v.volname.split('/').at(-1)! } : {}),
          ...(fileBased ? { used: v.usedBytes } : {}),
          ...(parent === undefined ? {} : { parent }),
          ...(def.type === 'zfspool' || def.type === 'rbd' ? {} : { ctime }),
        };
      })
      .sort((a, b) =>
        a.volid.toLowerCase() < b.volid.toLowerCase() ? -1 : a.volid.toLowerCase() > b.volid.toLowerCase() ? 1 : 0,
      );
  });

  // pve-access-control `src/PVE/API2/Pool.pm`: only pools with Pool.Audit are listed; a pool's
  // members are its guests (with their resource fields) and storages.
  const poolMembers = (ctx: SimContext, poolid: string, authid: string): Record<string, unknown>[] => {
    const now = ctx.state.time.now();
    return [...ctx.state.guests.values()]
      .filter((g) => g.pool === poolid && ctx.access.has(authid, `/vms/${g.vmid}`, ['VM.Audit']))
      .map((g) => guestResource(ctx, g, now));
  };
  route(table, 'GET', '/pools', (req, ctx) => {
    const wanted = req.params.poolid as string | undefined;
    return [...ctx.state.pools]
      .filter(
        (poolid) =>
          (wanted === undefined || poolid === wanted) &&
          ctx.access.has(req.principal.userid, `/pool/${poolid}`, ['Pool.Audit']),
      )
      .sort()
      .map((poolid) => ({
        poolid,
        ...(wanted !== undefined ? { members: poolMembers(ctx, poolid, req.principal.userid) } : {}),
      }));
  });
  route(table, 'GET', '/pools/{poolid}', (req, ctx) => {
    const poolid = req.params.poolid as string;
    if (!ctx.state.pools.has(poolid)) throw die(`pool '${poolid}' does not exist`);
    return { members: poolMembers(ctx, poolid, req.principal.userid) };
  });
}

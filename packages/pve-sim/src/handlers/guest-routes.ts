import { die } from '../sim-error.js';
import { guestIpAddress } from '../model/guest-identity.js';
import type { SimGuest } from '../model/types.js';
import { guestUsage } from './cluster-routes.js';
import { route, type RouteTable, type SimContext } from './route-table.js';
import { runningQemuStatus } from './qemu-running-status.js';
import { typedConfig } from './typed-config.js';

function guestListEntry(ctx: SimContext, guest: SimGuest): Record<string, unknown> {
  const usage = guestUsage(ctx, guest);
  const entry: Record<string, unknown> = {
    vmid: guest.vmid,
    name: guest.config.name ?? guest.config.hostname ?? `VM ${guest.vmid}`,
    status: guest.status,
    cpus: usage.maxcpu,
    ...usage,
  };
  delete entry.maxcpu;
  if (guest.type === 'lxc') {
    entry.type = 'lxc';
    entry.maxswap = 512 * 1024 * 1024;
    entry.swap = 0;
  }
  if (guest.config.template === '1') entry.template = 1;
  if (guest.config.tags) entry.tags = guest.config.tags;
  if (guest.config.lock) entry.lock = guest.config.lock;
  if (guest.status === 'running') entry.pid = 10_000 + guest.vmid;
  return entry;
}

/**
 * `GET …/status/current` (qemu-server `src/PVE/API2/Qemu.pm` `vm_status` → `vmstatus($vmid, 1)`):
 * the list entry, `balloon_min` and `shares` for a VM with a `balloon` minimum, `memhost` (PVE 9),
 * and for a running VM the QMP answers (`runningQemuStatus`) and cgroup pressures (PVE 9).
 */
function currentStatus(ctx: SimContext, guest: SimGuest): Record<string, unknown> {
  const entry = guestListEntry(ctx, guest);
  if (guest.type === 'qemu') {
    const nine = Number.parseInt(ctx.pveVersion, 10) >= 9;
    const balloonMiB = Number(guest.config.balloon ?? 0);
    if (balloonMiB > 0) {
      entry.balloon_min = balloonMiB * 1024 * 1024;
      entry.shares = Number(guest.config.shares ?? 1000);
    }
    if (nine) entry.memhost = entry.mem;
    if (guest.status === 'running') {
      const usage = guestUsage(ctx, guest);
      Object.assign(
        entry,
        runningQemuStatus(
          guest,
          { ...usage, startedAtSeconds: Math.floor((guest.startedAt ?? 0) / 1000) },
          ctx.pveVersion,
        ),
      );
      const machine = /q35/.test(guest.config.machine ?? '') ? 'q35' : 'i440fx';
      entry['running-machine'] = nine ? `pc-${machine}-10.0+pve0` : `pc-${machine}-9.2+pve1`;
      if (nine)
        Object.assign(entry, {
          pressurecpufull: 0,
          pressurecpusome: 0.12,
          pressureiofull: 0,
          pressureiosome: 0.03,
          pressurememoryfull: 0,
          pressurememorysome: 0,
        });
    }
    entry.qmpstatus = guest.status;
  }
  entry.ha = { managed: 0 };
  if (guest.type === 'qemu' && /^(1|enabled=1)/.test(guest.config.agent ?? '')) entry.agent = 1;
  return entry;
}

/** The guest of an agent command, with qemu-server's `assert_agent_available` checks in its order. */
function agentGuest(node: string, vmid: number, ctx: SimContext): SimGuest {
  const guest = ctx.state.requireGuest(node, vmid, 'qemu');
  if (!/^(1|enabled=1)/.test(guest.config.agent ?? '')) throw die('No QEMU guest agent configured');
  if (guest.status !== 'running') throw die(`VM ${guest.vmid} is not running`);
  if (guest.agentReadyAt === undefined || ctx.state.time.now() < guest.agentReadyAt)
    throw die('QEMU guest agent is not running');
  return guest;
}

/** QEMU and LXC guest routes: list, create, config, status, power, clone, template, delete, agent. */
export function registerGuestRoutes(table: RouteTable): void {
  for (const type of ['qemu', 'lxc'] as const) {
    const base = `/nodes/{node}/${type}`;
    route(table, 'GET', base, (req, ctx) => {
      const node = req.params.node as string;
      ctx.state.requireNode(node);
      // Only guests with VM.Audit; `qmpstatus` only with `full=1` (qemu-server `vmstatus` full).
      return [...ctx.state.guests.values()]
        .filter(
          (g) =>
            g.node === node && g.type === type && ctx.access.has(req.principal.userid, `/vms/${g.vmid}`, ['VM.Audit']),
        )
        .map((g) => {
          const entry = guestListEntry(ctx, g);
          if (type === 'qemu' && req.params.full === 1) entry.qmpstatus = g.status;
          return entry;
        });
    });
    route(
      table,
      'POST',
      base,
      (req, ctx) =>
        ctx.ops.create(req.params.node as string, req.params.vmid as number, type, req.params, req.principal.userid)
          .upid,
    );
    route(table, 'GET', `${base}/{vmid}/config`, (req, ctx) => {
      const guest = ctx.state.requireGuest(req.params.node as string, req.params.vmid as number, type);
      return typedConfig(ctx.schema, `${base}/{vmid}/config`, guest.config);
    });
    route(table, 'PUT', `${base}/{vmid}/config`, (req, ctx) => {
      ctx.ops.updateConfig(
        req.params.node as string,
        req.params.vmid as number,
        type,
        req.params,
        req.principal.userid,
      );
      return null;
    });
    route(table, 'GET', `${base}/{vmid}/status/current`, (req, ctx) =>
      currentStatus(ctx, ctx.state.requireGuest(req.params.node as string, req.params.vmid as number, type)),
    );
    for (const action of ['start', 'stop', 'shutdown', 'reboot', ...(type === 'qemu' ? ['reset'] : [])]) {
      route(
        table,
        'POST',
        `${base}/{vmid}/status/${action}`,
        (req, ctx) =>
          ctx.ops.power(req.params.node as string, req.params.vmid as number, type, action, req.principal.userid, {
            skiplock: req.params.skiplock === 1,
            forceStop: req.params.forceStop === 1,
            ...(typeof req.params.timeout === 'number' ? { timeout: req.params.timeout } : {}),
          }).upid,
      );
    }
    route(
      table,
      'DELETE',
      `${base}/{vmid}`,
      (req, ctx) =>
        ctx.ops.destroy(req.params.node as string, req.params.vmid as number, type, req.principal.userid, {
          skiplock: req.params.skiplock === 1,
        }).upid,
    );
  }

  route(table, 'POST', '/nodes/{node}/qemu/{vmid}/config', (req, ctx) => {
    ctx.ops.updateConfig(
      req.params.node as string,
      req.params.vmid as number,
      'qemu',
      req.params,
      req.principal.userid,
    );
    return null;
  });

  route(table, 'POST', '/nodes/{node}/qemu/{vmid}/clone', (req, ctx) => {
    const p = req.params;
    return ctx.ops.clone(
      p.node as string,
      p.vmid as number,
      {
        newid: p.newid as number,
        ...(p.name !== undefined ? { name: p.name as string } : {}),
        ...(p.full !== undefined ? { full: p.full === 1 } : {}),
        ...(p.target !== undefined ? { target: p.target as string } : {}),
        ...(p.storage !== undefined ? { storage: p.storage as string } : {}),
        ...(p.format !== undefined ? { format: p.format as string } : {}),
        ...(p.pool !== undefined ? { pool: p.pool as string } : {}),
        ...(p.description !== undefined ? { description: p.description as string } : {}),
      },
      req.principal.userid,
    ).upid;
  });

  route(
    table,
    'POST',
    '/nodes/{node}/qemu/{vmid}/migrate',
    (req, ctx) =>
      ctx.ops.migrate(
        req.params.node as string,
        req.params.vmid as number,
        {
          target: req.params.target as string,
          online: req.params.online === 1,
          ...(typeof req.params.targetstorage === 'string' ? { targetstorage: req.params.targetstorage } : {}),
          withLocalDisks: req.params['with-local-disks'] === 1,
        },
        req.principal.userid,
      ).upid,
  );

  route(
    table,
    'POST',
    '/nodes/{node}/qemu/{vmid}/template',
    (req, ctx) =>
      ctx.ops.convertToTemplate(req.params.node as string, req.params.vmid as number, req.principal.userid).upid,
  );

  // qemu-server Agent.pm: every agent command checks `assert_agent_available` first, then answers
  // `{ result => <the agent's answer> }`; guest-get-users gives user, login-time (seconds, fractional), domain.
  route(table, 'GET', '/nodes/{node}/qemu/{vmid}/agent/get-users', (req, ctx) => {
    const guest = agentGuest(req.params.node as string, req.params.vmid as number, ctx);
    return {
      result: (guest.loggedIn ?? []).map((u) => ({
        user: u.user,
        'login-time': u.loginAt / 1000,
        ...(u.domain ? { domain: u.domain } : {}),
      })),
    };
  });

  route(table, 'GET', '/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces', (req, ctx) => {
    const guest = agentGuest(req.params.node as string, req.params.vmid as number, ctx);
    const mac = /=([0-9A-F:]{17})/i.exec(guest.config.net0 ?? '')?.[1]?.toLowerCase() ?? 'bc:24:11:00:00:01';
    return {
      result: [
        {
          name: 'lo',
          'hardware-address': '00:00:00:00:00:00',
          'ip-addresses': [
            { 'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4', prefix: 8 },
            { 'ip-address': '::1', 'ip-address-type': 'ipv6', prefix: 128 },
          ],
          statistics: {
            'rx-bytes': 0,
            'rx-packets': 0,
            'tx-bytes': 0,
            'tx-packets': 0,
            'rx-errs': 0,
            'tx-errs': 0,
            'rx-dropped': 0,
            'tx-dropped': 0,
          },
        },
        {
          name: 'eth0',
          'hardware-address': mac,
          'ip-addresses': [{ 'ip-address': guestIpAddress(guest.vmid), 'ip-address-type': 'ipv4', prefix: 16 }],
          statistics: {
            'rx-bytes': 1_000_000,
            'rx-packets': 900,
            'tx-bytes': 400_000,
            'tx-packets': 700,
            'rx-errs': 0,
            'tx-errs': 0,
            'rx-dropped': 0,
            'tx-dropped': 0,
          },
        },
      ],
    };
  });
}

import { die } from '../sim-error.js';
import { passwordsSetIn } from '../model/guest-passwords.js';
import { route, type RouteTable } from './route-table.js';

/**
 * `POST /nodes/{node}/qemu/{vmid}/agent/set-user-password`, as qemu-server `API2/Qemu/Agent.pm`
 * answers it: synchronous (no task), `{ result: {} }`; before the agent command
 * `QemuServer/Agent.pm` `assert_agent_available` dies with `No QEMU guest agent configured`,
 * `VM <vmid> is not running` or `QEMU guest agent is not running` (still booting). The simulator
 * keeps what was set (`passwordsSetIn(guest)`) for tests.
 */
export function registerAgentPasswordRoutes(table: RouteTable): void {
  route(table, 'POST', '/nodes/{node}/qemu/{vmid}/agent/set-user-password', (req, ctx) => {
    const guest = ctx.state.requireGuest(req.params.node as string, req.params.vmid as number, 'qemu');
    if (!/^(1|enabled=1)/.test(guest.config.agent ?? '')) throw die('No QEMU guest agent configured');
    if (guest.status !== 'running') throw die(`VM ${guest.vmid} is not running`);
    if (guest.agentReadyAt === undefined || ctx.state.time.now() < guest.agentReadyAt)
      throw die('QEMU guest agent is not running');
    const username = req.params.username as string;
    passwordsSetIn(guest).push({
      username,
      password: req.params.password as string,
      crypted: req.params.crypted === 1,
      at: ctx.state.time.now(),
    });
    return { result: {} };
  });
}

import { BulkActions } from '../model/bulk-actions.js';
import { pveVersionAtLeast } from '../pve-version.js';
import { PveSimError } from '../sim-error.js';
import { route, type RouteTable } from './route-table.js';

/** The release that brought the cluster-wide bulk actions (pve-manager f97a61ac, 9.0.13). */
const BULK_ACTIONS_SINCE = [9, 0, 13] as const;

/**
 * `POST /cluster/bulk-action/guest/start` and `…/shutdown` (pve-manager
 * `PVE/API2/Cluster/BulkAction/Guest.pm`). An older PVE has no such path and answers as pveproxy
 * does for any unknown one: `501 Method '…' not implemented`.
 */
export function registerBulkActionRoutes(table: RouteTable): void {
  for (const action of ['start', 'shutdown'] as const) {
    const path = `/cluster/bulk-action/guest/${action}`;
    route(table, 'POST', path, (req, ctx) => {
      if (!pveVersionAtLeast(ctx.pveVersion, ...BULK_ACTIONS_SINCE))
        throw new PveSimError(501, `Method 'POST /api2/json${path}' not implemented`);
      return new BulkActions(ctx.state, ctx.ops, ctx.access).run(action, req.params, req.principal.userid).upid;
    });
  }
}

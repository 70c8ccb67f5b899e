import type { z } from 'zod';
import { agentInterfacesSchema } from '../pve/pve-schemas.js';

export { agentInterfacesSchema };

/**
 * The VM's address as users connect to it: the first IPv4 of an interface that is not the loopback
 * interface `lo` (nor a container bridge), skipping link-local 169.254/16. Undefined when the agent
 * reported none (an interface may lack addresses right after boot).
 */
export function pickGuestIp(answer: z.output<typeof agentInterfacesSchema>): string | undefined {
  if (!Array.isArray(answer.result)) return undefined;
  for (const iface of answer.result) {
    if (iface.name === 'lo' || /^(docker|br-|veth|virbr|cni|flannel)/.test(iface.name)) continue;
    for (const address of iface['ip-addresses'] ?? []) {
      if (address['ip-address-type'] === 'ipv4' && !address['ip-address'].startsWith('169.254.'))
        return address['ip-address'];
    }
  }
  return undefined;
}

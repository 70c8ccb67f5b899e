import { z } from 'zod';

/** The guest agent's `network-get-interfaces` answer, as much of it as the SDK relies on. */
export const agentInterfacesSchema = z
  .object({
    result: z.union([
      z.array(
        z
          .object({
            name: z.string(),
            'ip-addresses': z.array(z.object({ 'ip-address': z.string(), 'ip-address-type': z.string() }).loose()).optional(),
          })
          .loose(),
      ),
      z.object({ error: z.object({ class: z.string().optional(), desc: z.string().optional() }).loose() }).loose(),
    ]),
  })
  .loose();

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
      if (address['ip-address-type'] === 'ipv4' && !address['ip-address'].startsWith('169.254.')) return address['ip-address'];
    }
  }
  return undefined;
}

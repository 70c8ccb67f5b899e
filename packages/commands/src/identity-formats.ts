import { builtinIdentityFormats, type IdentityFormat } from '@lab/proxmox-sdk';
import type { LabServices } from './command-plugin.js';

/** The identity formats commands accept: the registered front ends', else Slack's and Discord's. */
export function identityFormatsOf(services: LabServices): readonly IdentityFormat[] {
  return services.identityFormats ?? builtinIdentityFormats();
}

/** The identity format of `platform` among those commands accept. */
export function identityFormatOf(services: LabServices, platform: string): IdentityFormat | undefined {
  return identityFormatsOf(services).find((f) => f.platform === platform);
}

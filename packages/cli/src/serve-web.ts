import { readFileSync } from 'node:fs';
import { ConfigError } from '@lab/proxmox-sdk';
import type { StartedFrontEnd } from '@lab/commands';
import type { LabRuntime } from './lab-runtime.js';

/**
 * The web portal as `lab serve web` runs it, after checking `web` in lab.config.json and reading
 * the OpenID client secret from `web.oidc.clientSecretFile`. It never starts a development provider.
 */
export async function startWebFrontEnd(runtime: LabRuntime): Promise<StartedFrontEnd> {
  const { config, router, logger } = runtime;
  const web = config.web;
  if (!web)
    throw new ConfigError(
      "config key 'web': set publicUrl and oidc (issuer, clientId, clientSecretFile) to serve the web portal",
      { key: 'web' },
    );
  let clientSecret: string;
  try {
    clientSecret = readFileSync(web.oidc.clientSecretFile, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(
      `config key 'web.oidc.clientSecretFile': cannot read ${web.oidc.clientSecretFile} (${(error as NodeJS.ErrnoException).code}); put the client secret the provider gave you in that file`,
      { key: 'web.oidc.clientSecretFile' },
    );
  }
  if (!clientSecret)
    throw new ConfigError(`config key 'web.oidc.clientSecretFile': ${web.oidc.clientSecretFile} is empty`, {
      key: 'web.oidc.clientSecretFile',
    });
  const { startWebPortal } = await import('@lab/web');
  return startWebPortal({
    router,
    store: runtime.services.store,
    logger,
    clock: runtime.services.clock,
    config: web,
    clientSecret,
    ...(config.console?.publicUrl ? { consoleUrl: config.console.publicUrl } : {}),
  });
}

import { readFileSync } from 'node:fs';
import { ConfigError } from '@lab/proxmox-sdk/errors';
import type { IdentityFormat } from '@lab/proxmox-sdk';
import { defineFrontEnd, renderProgress } from '@lab/commands';
import { webConfigSchema, type WebConfig } from './web-config.js';

/** The portal's package name: `lab` bundles this file and must load the installed portal, not a copy. */
const PORTAL_PACKAGE: string = '@lab/web';

/** The portal itself (Fastify, openid-client), loaded only when it is served (a variable specifier, so no build bundles it here). */
function loadPortal(): Promise<typeof import('./index.js')> {
  return import(PORTAL_PACKAGE) as Promise<typeof import('./index.js')>;
}

/** A web identity as the store keeps it: the provider's issuer, `#`, and its `sub` for the person. */
const WEB_ID = /^https?:\/\/[^\s#]+#\S{1,255}$/;

/**
 * How the web portal writes its callers: `<issuer>#<sub>` of the OpenID identity that signed in.
 * Such accounts are proven by the school's sign-in, so nobody links them by hand.
 */
export const webIdentity: IdentityFormat = {
  platform: 'web',
  label: 'the web portal',
  example: 'https://sso.school.example/realms/school#f1b2c3d4-0000-4000-8000-000000000001',
  shape: "the provider's issuer, '#', and the person's subject there",
  isUserId: (id) => WEB_ID.test(id),
  parse: (text) => (WEB_ID.test(text.trim()) ? text.trim() : undefined),
  display: (id) => id,
  linkable: false,
};

/**
 * The web portal as a front end (`lab serve web`): its `web` section, its port (3002) and the portal
 * itself, loaded only when it starts. It sends no direct messages and finishes no progress message:
 * a browser is not reachable between visits.
 */
export const webFrontEnd = defineFrontEnd<WebConfig>({
  id: 'web',
  label: 'the web portal',
  identity: webIdentity,
  configSchema: webConfigSchema,
  renderProgress,
  serve: {
    defaultPort: 3002,
    address: (config) => ({
      ...(config?.port !== undefined ? { port: config.port } : {}),
      ...(config?.host ? { host: config.host } : {}),
    }),
    async start({ config, router, services, logger, labConfig }) {
      if (!config)
        throw new ConfigError(
          "config key 'web': set publicUrl and oidc (issuer, clientId, clientSecretFile) to serve the web portal",
          { key: 'web' },
        );
      const clientSecret = readClientSecret(config.oidc.clientSecretFile);
      const consoleUrl = (labConfig.console as { publicUrl?: string } | undefined)?.publicUrl;
      // The package's main entry (kept external by `lab`'s bundle), so Fastify and openid-client load only here.
      const { startWebPortal } = await loadPortal();
      return startWebPortal({
        router,
        store: services.store,
        logger,
        clock: services.clock,
        config,
        clientSecret,
        ...(consoleUrl ? { consoleUrl } : {}),
        ...(services.directory ? { directory: services.directory } : {}),
      });
    },
  },
});

/** The client secret from its file (a relative path is relative to the working directory); a `ConfigError` naming the key otherwise. */
function readClientSecret(file: string): string {
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(
      `config key 'web.oidc.clientSecretFile': cannot read ${file} (${(error as NodeJS.ErrnoException).code}); put the client secret the provider gave you in that file`,
      { key: 'web.oidc.clientSecretFile' },
    );
  }
  if (!secret)
    throw new ConfigError(`config key 'web.oidc.clientSecretFile': ${file} is empty`, {
      key: 'web.oidc.clientSecretFile',
    });
  return secret;
}

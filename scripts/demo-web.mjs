// The web part of `npm run demo -- --web`: a development OpenID provider and `lab serve web` beside the
// demo's simulator, all on loopback, until Ctrl-C.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { startDevOidcProvider } from '@lab/web/dev-provider';

const lab = resolve(import.meta.dirname, '../packages/cli/bin/lab.mjs');

async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** Starts the provider and the portal over the demo's store and simulator; resolves when Ctrl-C stopped them. */
export async function serveDemoPortal(sim, { store, clusterId, student }) {
  const provider = await startDevOidcProvider();
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  writeFileSync('.lab/oidc-client-secret', `${provider.clientSecret}\n`, { mode: 0o600 });
  writeFileSync(
    '.lab/demo.config.json',
    JSON.stringify(
      {
        store,
        clusters: [
          {
            id: clusterId,
            url: sim.url,
            tokenId: sim.tokenId,
            tokenSecret: sim.tokenSecret,
            fingerprint: sim.fingerprint,
          },
        ],
        console: { publicUrl },
        web: {
          publicUrl,
          oidc: {
            issuer: provider.issuer,
            clientId: provider.clientId,
            clientSecretFile: resolve('.lab/oidc-client-secret'),
          },
        },
      },
      null,
      2,
    ),
  );
  const child = spawn(
    process.execPath,
    [lab, '--config', '.lab/demo.config.json', 'serve', 'web', '--port', String(port)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, LAB_LOG_LEVEL: process.env.LAB_LOG_LEVEL ?? 'warn' },
    },
  );
  const served = await new Promise((done, fail) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      if (out.includes('\n')) done(JSON.parse(out.slice(0, out.indexOf('\n'))));
    });
    child.on('exit', (code) => fail(new Error(`lab serve web exited ${code}`)));
  });
  console.log(`\nWeb portal: ${served.url} (configuration .lab/demo.config.json)`);
  console.log(`Development sign-in (no password, loopback only): ${provider.issuer}`);
  console.log(`Open ${publicUrl}/login?login_hint=${student} to sign in as ${student}; Ctrl-C stops everything.`);
  await new Promise((r) => {
    process.once('SIGINT', r);
    process.once('SIGTERM', r);
  });
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await provider.close();
  await sim.close();
}

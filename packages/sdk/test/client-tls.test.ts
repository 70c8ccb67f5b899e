import { describe, expect, it } from 'vitest';
import type { PveSim } from '@lab/pve-sim';
import { PveTlsError } from '../src/errors/index.js';
import { ProxmoxClient, type LogRecord } from '../src/index.js';
import { normalizeFingerprint } from '../src/pve/index.js';
import { clientFor, closeAfterEach, fastSim } from './helpers.js';

let sim: PveSim;
let client: ProxmoxClient;
const { track } = closeAfterEach();

const WRONG = 'AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99';

describe('TLS trust', () => {
  it('accepts the pinned fingerprint, in any case and with or without colons', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim, { tls: { fingerprint: sim.fingerprint.replace(/:/g, '').toLowerCase() } }));
    expect((await client.version()).version).toBe('9.1.3');
  });

  it('refuses a certificate that does not match the pin, naming expected and presented', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim, { tls: { fingerprint: WRONG } }));
    const error = await client.get('/version').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PveTlsError);
    expect((error as Error).message).toContain(`expected ${WRONG}, presented ${sim.fingerprint}`);
    expect(sim.requests.total).toBe(0);
  });

  it('trusts a custom CA', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim, { tls: { ca: sim.ca } }));
    expect((await client.version()).version).toBe('9.1.3');
  });

  it('refuses an untrusted certificate by default and says how to trust it', async () => {
    sim = track(await fastSim());
    client = track(clientFor(sim, { tls: {} }));
    const error = await client.get('/version').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PveTlsError);
    expect((error as Error).message).toMatch(/is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
    expect((error as Error).message).toContain(`tls.fingerprint = '${sim.fingerprint}'`);
    expect(sim.requests.total).toBe(0);
  });

  it('with insecure: true connects but warns', async () => {
    sim = track(await fastSim());
    const logs: LogRecord[] = [];
    client = track(clientFor(sim, { tls: { insecure: true } }, logs));
    await client.version();
    expect(logs.some((l) => l.level === 'warn' && l.msg.includes('TLS verification is off'))).toBe(true);
  });

  it('rejects a fingerprint that is not SHA-256', () => {
    expect(() => normalizeFingerprint('AA:BB')).toThrow('tls.fingerprint must be a SHA-256 fingerprint');
    expect(normalizeFingerprint('a'.repeat(64))).toBe(Array(32).fill('AA').join(':'));
  });

  it('refuses a malformed pin when the client is created, before any request', () => {
    const auth = { type: 'token', tokenId: 'a@pve!b', secret: 's' } as const;
    expect(() => new ProxmoxClient({ baseUrl: 'https://127.0.0.1:8006', auth, tls: { fingerprint: 'AA:BB' } })).toThrow(
      'tls.fingerprint must be a SHA-256 fingerprint',
    );
  });
});

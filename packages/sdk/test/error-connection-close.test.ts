import { describe, expect, it } from 'vitest';
import type { PveSim } from '@lab/pve-sim';
import { PveAuthError, PveHttpError } from '../src/errors/index.js';
import { ProxmoxClient } from '../src/index.js';
import { clientFor, closeAfterEach, fastSim } from './helpers.js';

const { track } = closeAfterEach();

describe('pveproxy closes the connection after every error (pve-http-server AnyEvent.pm response)', () => {
  it('goes on over a fresh connection after errors, in sequence and in parallel', async () => {
    const sim: PveSim = track(await fastSim());
    const client: ProxmoxClient = track(clientFor(sim));
    for (let i = 0; i < 5; i++) {
      await expect(client.get('/nodes/pve1/qemu/4242/config')).rejects.toBeInstanceOf(PveHttpError);
      expect(await client.version()).toMatchObject({ version: '9.1.3' });
    }
    const mixed = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? client.get('/nodes') : client.get('/nodes/pve1/qemu/4242/config'))),
    );
    expect(mixed.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    expect(mixed.filter((r) => r.status === 'rejected' && r.reason instanceof PveHttpError)).toHaveLength(10);
  });

  it('reads a ticket refusal (a JSON 401) and a bare HTTP-layer 401 as PveAuthError', async () => {
    const sim: PveSim = track(await fastSim({ timeScale: 1000 }));
    const ticket = track(clientFor(sim, { auth: { type: 'ticket', username: 'root@pam', password: 'nope' } }));
    await expect(ticket.get('/nodes')).rejects.toBeInstanceOf(PveAuthError);
    const token = track(clientFor(sim, { auth: { type: 'token', tokenId: sim.tokenId, secret: 'nope' } }));
    await expect(token.get('/nodes')).rejects.toBeInstanceOf(PveAuthError);
    expect(await track(clientFor(sim)).get('/version')).toMatchObject({ release: '9.1' });
  });
});

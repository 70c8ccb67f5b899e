import { describe, expect, it } from 'vitest';
import type { PveSim } from '@lab/pve-sim';
import { Clusters, MAX_TIMER_MS, ProxmoxClient } from '../src/index.js';
import { ConfigError, PveTimeoutError } from '../src/errors/index.js';
import { clientFor, closeAfterEach, fastSim } from './helpers.js';

const { track } = closeAfterEach();
const auth = { type: 'token' as const, tokenId: 'lab@pve!bot', secret: 'token-secret-1234' };
const cluster = (overrides: Record<string, unknown>) => ({
  id: 'lab1',
  url: 'https://pve1.example.org:8006',
  tokenId: 'lab@pve!bot',
  tokenSecret: 'x1',
  ...overrides,
});

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('cluster URLs', () => {
  it('refuses http://, so the API token never travels in cleartext', () => {
    const fromConfig = thrown(() => new Clusters([cluster({ url: 'http://pve1.example.org:8006' })]));
    expect(fromConfig).toBeInstanceOf(ConfigError);
    expect(fromConfig.message).toBe(
      "config key 'clusters.0.url': must start with https:// (got http://); PVE's API is served over TLS only and the token must never travel in cleartext",
    );
    expect(() => new ProxmoxClient({ baseUrl: 'http://127.0.0.1:8006', auth })).toThrow(ConfigError);
  });

  it('refuses a URL carrying a user and password and never repeats the password', () => {
    for (const url of [
      'https://root:Hunter2-secret@pve1.example.org:8006',
      'https://root:Hunter2-secret@pve1.example.org:notaport',
      'https://root:Hunter2-secret@pve1.example.org:8006/api2/json',
    ]) {
      const fromConfig = thrown(() => new Clusters([cluster({ url })]));
      expect(fromConfig).toBeInstanceOf(ConfigError);
      expect(fromConfig.message).toMatch(/^config key 'clusters\.0\.url': /);
      const direct = thrown(() => new ProxmoxClient({ clusterId: 'lab1', baseUrl: url, auth }));
      expect(direct).toBeInstanceOf(ConfigError);
      for (const error of [fromConfig, direct]) {
        expect(`${error.message} ${JSON.stringify(error)} ${String(error.stack)}`).not.toContain('Hunter2');
      }
    }
    expect(
      thrown(() => new Clusters([cluster({ url: 'https://root:Hunter2-secret@pve1.example.org:8006' })])).message,
    ).toBe(
      "config key 'clusters.0.url': must not carry a user name or password (https://…@pve1.example.org:8006); put credentials in tokenId/tokenSecret or username/password",
    );
  });
});

describe('millisecond settings', () => {
  it('refuses a timeoutMs a Node timer cannot hold instead of timing every request out after 1 ms', async () => {
    expect(thrown(() => new Clusters([cluster({ timeoutMs: 2 ** 31 })])).message).toBe(
      "config key 'clusters.0.timeoutMs': must be at most 2147483647 ms (about 24.8 days; Node timers overflow above that)",
    );
    expect(() => new ProxmoxClient({ baseUrl: 'https://127.0.0.1:8006', auth, timeoutMs: 2 ** 31 })).toThrow(
      ConfigError,
    );
    expect(
      () => new ProxmoxClient({ baseUrl: 'https://127.0.0.1:8006', auth, retry: { maxDelayMs: 2 ** 32 } }),
    ).toThrow(/retry\.maxDelayMs must be at most/);
    const sim: PveSim = track(await fastSim());
    const client = track(clientFor(sim, { timeoutMs: MAX_TIMER_MS }));
    expect(await client.get<unknown[]>('/nodes')).toHaveLength(3);
    const perCall = await client.get('/nodes', undefined, { timeoutMs: 2 ** 31 }).catch((e: unknown) => e);
    expect(perCall).not.toBeInstanceOf(PveTimeoutError);
    expect(perCall).toBeInstanceOf(ConfigError);
  });

  it('refuses a maxResponseBytes beyond 256 MiB', () => {
    expect(thrown(() => new Clusters([cluster({ maxResponseBytes: 2 ** 30 })])).message).toBe(
      "config key 'clusters.0.maxResponseBytes': must be at most 268435456 (256 MiB)",
    );
    expect(() => new ProxmoxClient({ baseUrl: 'https://127.0.0.1:8006', auth, maxResponseBytes: 0 })).toThrow(
      ConfigError,
    );
  });
});

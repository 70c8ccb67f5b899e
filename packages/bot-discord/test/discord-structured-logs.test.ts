import * as commands from '@lab/commands';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, type LogRecord } from '@lab/proxmox-sdk';
import { createMemoryStore } from '@lab/proxmox-sdk/testing';
import { startDiscordBot } from '../src/index.js';

const TOKEN = 'discord-structured-logs-bot-token';
let fake: Server | undefined;
afterAll(() => (fake ? new Promise((r) => fake!.close(r)) : undefined));

describe("discord.js's reports", () => {
  it('reach our structured logger: a rate limit Discord answers is one JSON warning without the token', async () => {
    const records: LogRecord[] = [];
    let limited = 0;
    fake = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const headers = { 'content-type': 'application/json', 'x-ratelimit-bucket': 'dm' };
        // The first DM channel request is rate-limited for a moment; every request after it succeeds.
        if (req.url?.endsWith('/users/@me/channels') && limited++ === 0)
          return res
            .writeHead(429, {
              ...headers,
              'x-ratelimit-limit': '1',
              'x-ratelimit-remaining': '0',
              'x-ratelimit-reset-after': '0.2',
              'retry-after': '0.2',
            })
            .end(JSON.stringify({ message: 'You are being rate limited.', retry_after: 0.2, global: false }));
        res
          .writeHead(200, { ...headers, 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '4' })
          .end(JSON.stringify({ id: '77' }));
      });
    });
    await new Promise<void>((r) => fake!.listen(0, '127.0.0.1', () => r()));
    const store = createMemoryStore();
    const person = await store.classes.createPerson({ username: 'alice', displayName: 'alice', role: 'student' }, 1);
    await store.classes.linkIdentity({ personId: person.id, platform: 'discord', externalId: '123456789012345678' });
    const services = commands.createLabServices({
      store,
      clusters: {
        get: () => {
          throw new Error('no cluster in this test');
        },
        ids: () => ['lab'],
      },
    });
    const frontEnd = await startDiscordBot({
      mode: 'interactions',
      router: new commands.CommandRouter(services, [...commands.builtinPlugins]),
      store,
      applicationId: '1',
      publicKey: '0'.repeat(64),
      token: TOKEN,
      apiUrl: `http://127.0.0.1:${(fake.address() as AddressInfo).port}/api`,
      logger: createLogger({ level: 'debug', sink: (r) => records.push(r), secrets: [TOKEN] }),
    });
    expect(await frontEnd.notifier!.notifyPerson({ personId: person.id, username: 'alice' }, 'hello')).toBe(true);
    await frontEnd.stop();
    expect(records.filter((r) => r.source === 'discord.js')).toEqual([
      expect.objectContaining({
        level: 'warn',
        source: 'discord.js',
        msg: 'Discord rate limit reached; requests wait',
      }),
    ]);
    expect(JSON.stringify(records)).not.toContain(TOKEN);
  });
});

import * as commands from '@lab/commands';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger, type LogRecord } from '@lab/proxmox-sdk';
import { createMemoryStore } from '@lab/proxmox-sdk/testing';
import { createSlackBot, signSlackRequest } from '../src/index.js';
import { boltLogger } from '../src/bolt-logger.js';

const SECRET = 'structured-logs-signing-secret';
const TOKEN = 'xoxb-structured-logs-bot-token';
const records: LogRecord[] = [];
let server: Server;
let url: string;

beforeAll(async () => {
  const services = commands.createLabServices({
    store: createMemoryStore(),
    clusters: {
      get: () => {
        throw new Error('no cluster: these requests never reach a command');
      },
      ids: () => ['lab'],
    },
  });
  const router = new commands.CommandRouter(services, [...commands.builtinPlugins]);
  const bot = createSlackBot({
    router,
    signingSecret: SECRET,
    botToken: TOKEN,
    logger: createLogger({ level: 'debug', sink: (r) => records.push(r), secrets: [SECRET, TOKEN] }),
  });
  server = createServer(bot.requestListener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
});
afterAll(() => new Promise((r) => server.close(r)));
afterEach(() => vi.restoreAllMocks());

function post(body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe("Bolt's log lines", () => {
  it('go through our structured logger, not the console: a bad signature is one JSON warning without the secret', async () => {
    const console_ = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation(() => undefined),
    );
    const body = new URLSearchParams({ command: '/lab', text: 'help', user_id: 'U1', token: 'legacy' }).toString();
    const headers = signSlackRequest('not-the-signing-secret', body);
    records.length = 0;
    expect(await post(body, headers)).toBe(401);
    for (const spy of console_) expect(spy).not.toHaveBeenCalled();
    const warning = records.find((r) => r.source === 'bolt');
    expect(warning).toMatchObject({ level: 'warn', frontEnd: 'slack', source: 'bolt' });
    expect(warning!.msg).toMatch(/signature/i);
    expect(JSON.stringify(records)).not.toContain(SECRET);
    expect(JSON.stringify(records)).not.toContain(TOKEN);
  });

  it("drop Bolt's debug lines, which carry whole request bodies, and keep an error as a field", () => {
    const seen: LogRecord[] = [];
    const bolt = boltLogger(createLogger({ level: 'debug', sink: (r) => seen.push(r) }));
    bolt.setLevel('debug' as never);
    bolt.debug(JSON.stringify({ token: 'legacy-verification-token', response_url: 'https://hooks.example/x' }));
    bolt.error('An unhandled error occurred', new Error('boom'));
    expect(seen).toEqual([
      expect.objectContaining({
        level: 'error',
        source: 'bolt',
        msg: 'An unhandled error occurred',
        error: expect.objectContaining({ message: 'boom' }),
      }),
    ]);
  });
});

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = resolve(import.meta.dirname, '../bin/lab.mjs');
const dir = mkdtempSync(join(tmpdir(), 'lab-discord-'));
let fake: Server;
const calls: Array<{ method: string; path: string; auth: string; body: unknown }> = [];

beforeAll(async () => {
  fake = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      calls.push({
        method: req.method ?? '',
        path: req.url ?? '',
        auth: String(req.headers.authorization),
        body: JSON.parse(raw || 'null'),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
    });
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
  writeFileSync(
    join(dir, 'lab.config.json'),
    JSON.stringify({
      store: `sqlite:${join(dir, 'lab.db')}`,
      clusters: [{ id: 'lab', url: 'https://127.0.0.1:8006', tokenId: 'lab@pve!bot', tokenSecret: 'unused' }],
      discord: {
        token: 'discord-bot-token',
        applicationId: '777',
        apiUrl: `http://127.0.0.1:${(fake.address() as AddressInfo).port}/api`,
      },
    }),
  );
});
afterAll(async () => {
  await new Promise((r) => fake.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('lab discord register', () => {
  it('puts the generated /lab and /myvm definitions into the guild', async () => {
    const { stdout } = await run(process.execPath, [
      cli,
      '--config',
      join(dir, 'lab.config.json'),
      'discord',
      'register',
      '--guild',
      '888',
    ]);
    expect(stdout).toBe('registered /lab, /myvm, /people, /class, /template and /directory in guild 888\n');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      method: 'PUT',
      path: '/api/v10/applications/777/guilds/888/commands',
      auth: 'Bot discord-bot-token',
    });
    expect((calls[0]!.body as Array<{ name: string }>).map((c) => c.name)).toEqual([
      'lab',
      'myvm',
      'people',
      'class',
      'template',
      'directory',
    ]);
  });
});

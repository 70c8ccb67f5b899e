import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DeploymentProgress, ProgressBroadcaster } from '../src/index.js';

let server: Server | undefined;
let broadcaster: ProgressBroadcaster | undefined;
afterEach(async () => {
  broadcaster?.close();
  if (server) await new Promise((r) => server!.close(r));
  server = broadcaster = undefined;
});

/** A loopback server whose `/events/<topic>` streams the broadcaster's topic, as the portal does. */
async function serve(b: ProgressBroadcaster): Promise<string> {
  server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    b.subscribe(decodeURIComponent(req.url!.slice('/events/'.length)), res);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Received {
  events: Array<{ event: string; id?: string; data: Record<string, unknown> }>;
  ended: Promise<void>;
  opened: Promise<void>;
}

/** An EventSource-like reader of one stream (parses `event:`, `id:` and `data:` lines). */
function open(url: string): Received {
  const events: Received['events'] = [];
  let opened!: () => void;
  const openedP = new Promise<void>((r) => (opened = r));
  const ended = new Promise<void>((resolve, reject) => {
    get(url, (res: IncomingMessage) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        opened();
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const fields = Object.fromEntries(
            block
              .split('\n')
              .filter((l) => !l.startsWith(':'))
              .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
          ) as Record<string, string>;
          if (fields.data !== undefined)
            events.push({
              event: fields.event ?? 'message',
              ...(fields.id ? { id: fields.id } : {}),
              data: JSON.parse(fields.data) as Record<string, unknown>,
            });
        }
      });
      res.on('end', resolve);
    }).on('error', reject);
  });
  return { events, ended, opened: openedP };
}

const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

describe('ProgressBroadcaster', () => {
  it("brings a deployment's typed events to 50 open streams, in order, then the summary, and closes them", async () => {
    const b = (broadcaster = new ProgressBroadcaster());
    const url = await serve(b);
    const clients = Array.from({ length: 50 }, () => open(`${url}/events/cs101`));
    await until(() => b.subscribers('cs101') === 50);
    const progress = new DeploymentProgress({ label: 'cs101', total: 2, progress: (u) => b.publish('cs101', u) });
    progress.start('planned');
    progress.onEvent({ type: 'cloning', deploymentId: 'd1', name: 'cs101-alice', node: 'pve1', percent: 40 });
    progress.onEvent({
      type: 'registered',
      deploymentId: 'd1',
      name: 'cs101-alice',
      vmid: 105,
      node: 'pve1',
      adopted: false,
    });
    progress.onEvent({ type: 'failed', deploymentId: 'd1', name: 'cs101-bob', reason: 'no space left on local-lvm' });
    b.finish('cs101', { text: 'cs101: 1 created, 0 kept, 0 deleted in 3.0 s.', error: true });
    await Promise.all(clients.map((c) => c.ended));
    for (const c of clients) {
      expect(c.events.map((e) => [e.event, e.data.done, e.data.event])).toEqual([
        ['progress', 0, undefined],
        ['progress', 0, 'cloning'],
        ['progress', 1, 'registered'],
        ['progress', 1, 'failed'],
        ['done', undefined, undefined],
      ]);
      expect(c.events[1]!.data.text).toBe('cs101 ░░░░░░░░░░░░░░░░ 0/2 — planned\ncloning cs101-alice 40%');
      expect(c.events[3]!.data.text).toMatch(/\nfailed cs101-bob: no space left on local-lvm$/);
      expect(c.events.at(-1)!.data).toEqual({ text: 'cs101: 1 created, 0 kept, 0 deleted in 3.0 s.', error: true });
      expect(c.events.map((e) => e.id)).toEqual(['1', '2', '3', '4', '5']);
    }
    expect(b.subscribers('cs101')).toBe(0);
  });

  it('gives a late subscriber the last frame at once, a finished topic its summary, and keeps topics apart', async () => {
    const b = (broadcaster = new ProgressBroadcaster());
    const url = await serve(b);
    b.publish('cs101', { label: 'cs101', done: 3, total: 5 });
    const late = open(`${url}/events/cs101`);
    const other = open(`${url}/events/cs202`);
    await late.opened;
    await until(() => late.events.length === 1 && b.subscribers('cs202') === 1);
    expect(late.events[0]!.data).toMatchObject({ done: 3, total: 5, text: 'cs101 ▓▓▓▓▓▓▓▓▓▓░░░░░░ 3/5' });
    b.finish('cs101', { text: 'cs101: 5 created, 0 kept, 0 deleted in 9.0 s.' });
    await late.ended;
    const afterwards = open(`${url}/events/cs101`);
    await afterwards.ended;
    expect(afterwards.events).toEqual([
      { event: 'done', id: '2', data: { text: 'cs101: 5 created, 0 kept, 0 deleted in 9.0 s.', error: false } },
    ]);
    expect(other.events).toEqual([]);
    expect(b.subscribers('cs202')).toBe(1);
  });

  it('forgets a stream the browser closed', async () => {
    const b = (broadcaster = new ProgressBroadcaster());
    const url = await serve(b);
    const req = get(`${url}/events/cs101`);
    await until(() => b.subscribers('cs101') === 1);
    req.destroy();
    await until(() => b.subscribers('cs101') === 0);
    b.publish('cs101', { label: 'cs101', done: 1, total: 2 });
  });
});

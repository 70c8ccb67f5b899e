import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedFrontEnd } from '@lab/commands';
import { silentLogger, type DeploymentRecord, type DeploymentSummary } from '@lab/proxmox-sdk';
import { finishTakenOverDeployment } from '../src/finish-taken-over-deployment.js';
import { labFrontEnds } from '../src/front-ends.js';
import type { LabConfig } from '../src/lab-config.js';

/** A loopback stand-in for Slack's response_url and Discord's webhook API, recording what arrives. */
let fake: Server;
let fakeUrl: string;
const received: Array<{ method: string; path: string; body: Record<string, unknown> }> = [];

beforeAll(async () => {
  fake = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const form = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
      const body = form ? Object.fromEntries(new URLSearchParams(raw)) : JSON.parse(raw || '{}');
      received.push({ method: req.method ?? '', path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"1","ok":true}');
    });
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => fake.close(r)));

const summary: DeploymentSummary = {
  deploymentId: 'd1',
  classId: 'cs101',
  status: 'done',
  created: 1,
  kept: 0,
  deleted: 0,
  failed: [],
  orphans: [],
  unregistered: [],
  duplicates: [],
  removed: [],
  unseated: [],
  durationMs: 4200,
};
const resetSpec = {
  kind: 'reset',
  classId: 'cs101',
  clusterId: 'lab',
  requestedBy: 'alice',
  base: { name: 'cs101-base', copies: { pve1: 104 } },
  vms: [{ name: 'cs101-alice', vmid: 105, personId: 3, owner: 'alice', node: 'pve1', start: false }],
};
const deployment = (notify: Record<string, unknown>): DeploymentRecord => ({
  id: 'd1',
  classId: 'cs101',
  clusterId: 'lab',
  spec: resetSpec,
  status: 'done',
  createdBy: 'alice',
  createdAt: 1,
  updatedAt: 2,
  finishedAt: 2,
  error: null,
  notify,
});
/** The front end this process serves; it cannot finish the other platform's messages. */
const served = (): StartedFrontEnd => ({
  requestListener: () => undefined,
  notifier: { platforms: [], notify: async () => false } as unknown as StartedFrontEnd['notifier'],
  finishDeployment: async () => false,
  stop: async () => undefined,
  idle: async () => undefined,
});

describe('finishing a deployment taken over from a process of the other platform', () => {
  it('answers a Slack-started reset through its response_url from a Discord process, in reset words', async () => {
    received.length = 0;
    const ok = await finishTakenOverDeployment(
      {
        served: new Map([['discord', served()]]),
        frontEnds: labFrontEnds,
        config: {} as LabConfig,
        logger: silentLogger,
      },
      deployment({ platform: 'slack', channel: 'C0CLASS', responseUrl: `${fakeUrl}/respond/1`, ts: '1.1' }),
      summary,
    );
    expect(ok).toBe(true);
    expect(received).toEqual([
      {
        method: 'POST',
        path: '/respond/1',
        body: { response_type: 'in_channel', text: 'cs101-alice (105) re-created from cs101-base.' },
      },
    ]);
  });

  it('edits a Slack-started message in place with chat.update from a Discord process that has the Slack bot token', async () => {
    received.length = 0;
    const ok = await finishTakenOverDeployment(
      {
        served: new Map([['discord', served()]]),
        frontEnds: labFrontEnds,
        config: { slack: { botToken: 'xoxb-test', apiUrl: `${fakeUrl}/slack/api/` } } as LabConfig,
        logger: silentLogger,
      },
      deployment({ platform: 'slack', channel: 'C0CLASS', responseUrl: `${fakeUrl}/respond/3`, ts: '1.1' }),
      summary,
    );
    expect(ok).toBe(true);
    expect(received).toEqual([
      {
        method: 'POST',
        path: '/slack/api/chat.update',
        body: { channel: 'C0CLASS', ts: '1.1', text: 'cs101-alice (105) re-created from cs101-base.' },
      },
    ]);
  });

  it('edits a Discord-started reset through the interaction webhook from a Slack process, with no bot token', async () => {
    received.length = 0;
    const ok = await finishTakenOverDeployment(
      {
        served: new Map([['slack', served()]]),
        frontEnds: labFrontEnds,
        config: { discord: { apiUrl: `${fakeUrl}/discord/api` } } as LabConfig,
        logger: silentLogger,
      },
      deployment({ platform: 'discord', applicationId: '123456789012345678', token: 'itok-1', channelId: '9' }),
      summary,
    );
    expect(ok).toBe(true);
    expect(received).toEqual([
      {
        method: 'PATCH',
        path: '/discord/api/v10/webhooks/123456789012345678/itok-1/messages/%40original',
        body: { content: 'cs101-alice (105) re-created from cs101-base.', components: [] },
      },
    ]);
  });

  it('leaves a message of its own platform to its front end', async () => {
    received.length = 0;
    const ok = await finishTakenOverDeployment(
      {
        served: new Map([['slack', served()]]),
        frontEnds: labFrontEnds,
        config: {} as LabConfig,
        logger: silentLogger,
      },
      deployment({ platform: 'slack', responseUrl: `${fakeUrl}/respond/2` }),
      summary,
    );
    expect(ok).toBe(false);
    expect(received).toEqual([]);
  });
});

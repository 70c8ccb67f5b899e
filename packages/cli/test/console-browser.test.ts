import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { renderVmScreen, type SimVncProxy } from '@lab/pve-sim';
import { consoleLab, type ConsoleLab } from './console-fixture.js';
import { decodePng } from './png.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** The browser globals the page functions below use (this package's types have no DOM). */
interface PageGlobals {
  document: { body: { dataset: Record<string, string | undefined> } };
  location: { href: string };
  fetch(url: string, init: { method: string }): Promise<{ json(): Promise<{ sessionId: string }> }>;
  WebSocket: new (
    url: string,
    protocols: string[],
  ) => { onopen: (() => void) | null; onclose: ((e: { code: number }) => void) | null };
}

/** The page's script has connected noVNC. Page functions (serialized, so self-contained), not source strings: the CSP forbids eval. */
const CONNECTED = () => (globalThis as unknown as PageGlobals).document.body.dataset.state === 'connected';
const DISCONNECTED = () => (globalThis as unknown as PageGlobals).document.body.dataset.state === 'disconnected';
const missing = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} is not installed (Debian's chromium package; .ci/run installs it)`;
if (missing) console.log(`[console browser test] skipped: ${missing}`);

/** Everything the browser received: every HTTP response body and every WebSocket frame, both ways. */
interface Seen {
  bodies: Buffer[];
  frames: Buffer[];
}

let lab: ConsoleLab;
let context: BrowserContext;
let profile: string;
const seen: Seen = { bodies: [], frames: [] };
const issued: SimVncProxy[] = [];
const pending: Promise<unknown>[] = [];
const consoleErrors: string[] = [];

async function watchedPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text()))
      consoleErrors.push(message.text());
  });
  page.on('response', (response) =>
    pending.push(
      response.body().then(
        (b) => seen.bodies.push(b),
        () => undefined,
      ),
    ),
  );
  page.on('websocket', (ws) => {
    ws.on('framereceived', (f) => seen.frames.push(Buffer.from(f.payload)));
    ws.on('framesent', (f) => seen.frames.push(Buffer.from(f.payload)));
  });
  return page;
}

/** The screenshot of the page's noVNC canvas, once it shows `expected` (polling: the first frame takes a moment). */
async function canvasShowing(
  page: Page,
  expected: ReturnType<typeof renderVmScreen>,
): Promise<{ matching: number; total: number }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const png = decodePng(await page.locator('#screen canvas').screenshot());
    let matching = 0;
    if (png.width === expected.width && png.height === expected.height) {
      for (let i = 0; i < png.width * png.height; i++) {
        const close = [0, 1, 2].every((c) => Math.abs(png.rgba[i * 4 + c]! - expected.rgb[i * 3 + c]!) <= 2);
        if (close) matching++;
      }
    }
    const total = expected.width * expected.height;
    if (matching === total || Date.now() > deadline) return { matching, total };
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(missing !== undefined)('the console in a real browser (headless Chromium)', () => {
  beforeAll(async () => {
    lab = await consoleLab({ watchIntervalMs: 200 });
    const open = lab.sim.vnc.open.bind(lab.sim.vnc);
    lab.sim.vnc.open = (facts) => {
      const proxy = open(facts);
      issued.push(proxy);
      return proxy;
    };
    profile = mkdtempSync(join(tmpdir(), 'lab-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 900, height: 600 },
      deviceScaleFactor: 1,
    });
  }, 120_000);
  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await lab?.close();
  });

  it("shows the VM's screen from a one-time link, and refuses the link the second time", async () => {
    const { url } = await lab.link('alice');
    const page = await watchedPage();
    await page.goto(url!);
    await page.waitForFunction(CONNECTED, undefined, { timeout: 30_000 });
    expect(await page.title()).toBe('Console: dns');
    const { matching, total } = await canvasShowing(page, renderVmScreen('dns', 100));
    expect(matching).toBe(total);
    if (process.env.LAB_CONSOLE_SCREENSHOT) await page.screenshot({ path: process.env.LAB_CONSOLE_SCREENSHOT });
    await page.close();

    const again = await watchedPage();
    const response = await again.goto(url!);
    expect(response?.status()).toBe(410);
    expect(await again.locator('#error').textContent()).toBe(
      'This console link was already opened; each link opens once, so ask for a new one with /myvm console.',
    );
    expect(await again.locator('#screen canvas').count()).toBe(0);
    await again.close();
  });

  it("opens another student's link on their own VM only", async () => {
    const { url } = await lab.link('bob');
    const page = await watchedPage();
    await page.goto(url!);
    await page.waitForFunction(CONNECTED, undefined, { timeout: 30_000 });
    expect(await page.title()).toBe('Console: gitlab');
    const { matching, total } = await canvasShowing(page, renderVmScreen('gitlab', 101));
    expect(matching).toBe(total);
    // A fresh session of bob's, used from his page for alice's VM 100, is refused.
    const { url: second } = await lab.link('bob');
    const token = second!.split('/').pop()!;
    const outcome = await page.evaluate(async (t) => {
      const inPage = globalThis as unknown as PageGlobals;
      const answer = await inPage.fetch(`${t}/session`, { method: 'POST' });
      const { sessionId } = await answer.json();
      const ws = new inPage.WebSocket(
        new URL(`ws/lab/100/${sessionId}`, inPage.location.href.replace(/^http/, 'ws').replace(/[^/]*$/, '')).href,
        ['binary'],
      );
      return new Promise<string>((resolve) => {
        ws.onopen = () => resolve('opened');
        ws.onclose = (e) => resolve(`closed ${e.code}`);
      });
    }, token);
    expect(outcome).toBe('closed 1006');
    await page.close();
  });

  it('tells the person why the session ended: the VM stopped', async () => {
    const { url } = await lab.link('alice');
    const page = await watchedPage();
    await page.goto(url!);
    await page.waitForFunction(CONNECTED, undefined, { timeout: 30_000 });
    const vm = lab.sim.state.guests.get(100)!;
    lab.sim.ops.power(vm.node, 100, 'qemu', 'stop', 'root@pam');
    await page.waitForFunction(DISCONNECTED, undefined, { timeout: 30_000 });
    expect(await page.locator('#status').textContent()).toBe(
      'The VM stopped, so its console closed; start it with /myvm start and ask for a new link.',
    );
    vm.status = 'running';
    await page.close();
  });

  it('runs under the CSP without a violation', () => {
    expect(consoleErrors).toEqual([]);
  });

  it('never lets the browser see a PVE credential', async () => {
    await Promise.all(pending);
    expect(issued.length).toBeGreaterThanOrEqual(2);
    expect(seen.bodies.length).toBeGreaterThan(5);
    expect(seen.frames.length).toBeGreaterThan(5);
    const everything = Buffer.concat([...seen.bodies, ...seen.frames]).toString('latin1');
    const credentials = [
      lab.sim.tokenSecret,
      `PVEAPIToken=${lab.sim.tokenId}`,
      'PVEVNC:',
      'PVEAuthCookie',
      'PVE:',
      ...issued.flatMap((p) => [p.ticket, p.password]),
    ];
    for (const credential of credentials)
      expect(everything.includes(credential), `the browser received ${credential.slice(0, 12)}…`).toBe(false);
  });
});

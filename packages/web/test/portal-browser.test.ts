import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import * as commands from '@lab/commands';
import { DirectoryService, GroupMapping } from '@lab/proxmox-sdk';
import { startTestLab } from '@lab/proxmox-sdk/testing';
import {
  startDevOidcProvider,
  startPortal,
  type DevOidcProvider,
  type Lab,
  type PortalUnderTest,
} from './web-test-lab.js';

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
const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (Debian's chromium package)`;
if (missing) console.log(`[portal browser test] skipped: ${missing}`);

/** axe-core from node_modules, run in the page through the DevTools protocol (not a page script, so the CSP stays strict). */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const STUDENTS = 30;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

let lab: Lab;
let provider: DevOidcProvider;
let web: PortalUnderTest;
let browser: Browser;
let shots: string;
const checked: string[] = [];
const cspErrors: string[] = [];

/** Serious or critical accessibility violations axe-core finds on the page (each page once). */
async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run()).violations;
  });
  checked.push(new URL(page.url()).pathname);
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

async function signedInPage(username: string, width = 1100): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) cspErrors.push(m.text());
  });
  await page.goto(`${web.url}/login?login_hint=${username}`);
  await page.waitForURL(`${web.url}/`);
  return page;
}

describe.skipIf(missing !== undefined)('the portal in a real browser (headless Chromium)', () => {
  beforeAll(async () => {
    lab = await startTestLab(commands);
    const { store } = lab.services;
    for (let i = 3; i <= STUDENTS; i++) {
      const username = `st${String(i).padStart(2, '0')}`;
      const person = await store.classes.createPerson({ username, displayName: `Student ${i}`, role: 'student' }, 1);
      await store.classes.addMember({ classId: 'cs101', personId: person.id, role: 'student' });
    }
    const summary = await lab.services.engine.deploy({ classId: 'cs101', count: STUDENTS, template: 'ubuntu' });
    if (summary.status !== 'done') throw new Error(`cs101 deploy ${summary.status}`);
    provider = await startDevOidcProvider({
      groups: { knuth: ['cs101-teachers', 'unmapped'], newbie: ['cs101-students'] },
    });
    const directory = new DirectoryService({
      store,
      clock: lab.services.clock,
      mapping: new GroupMapping({
        'cs101-teachers': { class: 'cs101', role: 'teacher' },
        'cs101-students': { class: 'cs101', role: 'student' },
      }),
    });
    web = await startPortal(
      lab,
      { issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret },
      { directory },
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    shots = mkdtempSync(join(tmpdir(), 'lab-portal-shots-'));
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await provider?.close();
    await lab?.close();
    if (shots && !process.env.LAB_KEEP_SCREENSHOTS) rmSync(shots, { recursive: true, force: true });
  });

  it('signs a student in at the development provider; they see only their own VM and start it', async () => {
    const page = await signedInPage('alice', 390);
    expect(await page.locator('h1').textContent()).toBe('My VMs');
    const vms = page.locator('li.vm h2');
    expect(await vms.count()).toBe(1);
    expect(await vms.first().textContent()).toMatch(/alice/);
    expect(await page.content()).not.toMatch(/cs101-bob|cs101-st\d\d/);
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: join(shots, 'student-my-vms.png'), fullPage: true });
    await page.getByRole('button', { name: 'Start' }).click();
    await page.waitForSelector('h1');
    expect(await page.locator('main p.notice').textContent()).toMatch(/is running/);
    expect(await page.locator('h1').textContent()).toBe('Done');
    expect(await page.locator('main p.notice').textContent()).toMatch(/is running\./);
    await page.goto(`${web.url}/link`);
    expect(await seriousViolations(page)).toEqual([]);
    await page.goto(`${web.url}/`);
    await page.getByRole('link', { name: 'Snapshots' }).first().click();
    await page.waitForSelector('h1');
    expect(await page.locator('h1').textContent()).toMatch(/^Snapshots of cs101-alice/);
    expect(await seriousViolations(page)).toEqual([]);
    await page.context().close();
  });

  it('shows the teacher the grid of a 30-student class and resets one student with the confirm step, by keyboard', async () => {
    const page = await signedInPage('lovelace');
    await page.goto(`${web.url}/class/cs101`);
    expect(await page.locator('tbody tr').count()).toBe(STUDENTS);
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: join(shots, 'teacher-grid.png'), fullPage: true });
    const reset = page.getByRole('button', { name: 'Reset… st17' });
    await reset.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${web.url}/class/cs101/reset`);
    expect(await page.locator('h1').textContent()).toBe('Please confirm');
    expect(await page.locator('[role=alert]').textContent()).toMatch(/Reset 1 VM\(s\) of cs101\?/);
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: join(shots, 'teacher-confirm.png') });
    await page.getByRole('button', { name: 'Reset 1 VM(s)' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${web.url}/class/cs101/reset/confirm`);
    expect(await page.locator('main p.notice').textContent()).toMatch(
      /st17: cs101-st17 \(\d+\) was re-created from cs101-base/,
    );
    expect(await seriousViolations(page)).toEqual([]);

    // A selection, by keyboard alone: tick two students (Space), then Reset… and its confirm step (Enter).
    await page.goto(`${web.url}/class/cs101`);
    for (const student of ['st05', 'st06']) {
      await page.getByLabel(`Select ${student}`).focus();
      await page.keyboard.press('Space');
    }
    await page.getByRole('button', { name: 'Reset…', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${web.url}/class/cs101/power`);
    expect(await page.locator('[role=alert]').textContent()).toMatch(/Reset 2 VM\(s\) of cs101\?/);
    const listed = (await page.locator('main').textContent()) ?? '';
    expect(listed).toMatch(/cs101-st05 \(\d+ on pve\d, st05's/);
    expect(listed).toMatch(/cs101-st06 \(\d+ on pve\d, st06's/);
    await page.screenshot({ path: join(shots, 'teacher-confirm-selection.png') });
    await page.getByRole('button', { name: 'Reset 2 VM(s)' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${web.url}/class/cs101/reset/confirm`);
    const outcome = (await page.locator('main p.notice').textContent()) ?? '';
    expect(outcome).toMatch(/st05: cs101-st05 \(\d+\) was re-created/);
    expect(outcome).toMatch(/st06: cs101-st06 \(\d+\) was re-created/);
    expect(await seriousViolations(page)).toEqual([]);
    for (const path of [
      '/classes',
      '/class/cs101/deploy',
      '/class/cs101/limits',
      '/class/cs101/schedule',
      '/class/cs101/audit',
    ]) {
      await page.goto(`${web.url}${path}`);
      expect(await seriousViolations(page), path).toEqual([]);
    }
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${web.url}/class/cs101`);
    await page.screenshot({ path: join(shots, 'teacher-grid-phone.png') });
    const overflow = await page.evaluate(() => {
      const d = (
        globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }
      ).document.documentElement;
      return d.scrollWidth - d.clientWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await page.context().close();
  });

  it('shows an admin the audit log, accessible too, and the pages broke no CSP rule', async () => {
    const page = await signedInPage('root');
    await page.goto(`${web.url}/admin/audit?class=cs101`);
    expect(await page.locator('tbody tr').count()).toBeGreaterThan(0);
    expect(await seriousViolations(page)).toEqual([]);
    await page.goto(`${web.url}/admin`);
    expect(await seriousViolations(page)).toEqual([]);
    await page.goto(`${web.url}/admin/doctor`);
    expect(await page.locator('h1').textContent()).toMatch(/Cluster checks/);
    expect(await seriousViolations(page)).toEqual([]);
    expect(cspErrors).toEqual([]);
    expect(checked.length).toBeGreaterThanOrEqual(10);
    await page.context().close();
  });

  it('enrols people by the groups claim the development provider gives them (directory.groups)', async () => {
    const { store } = lab.services;
    expect(await store.classes.getPersonByUsername('knuth')).toBeUndefined();
    const teacher = await signedInPage('knuth');
    const knuth = (await store.classes.getPersonByUsername('knuth'))!;
    expect(await store.classes.classesOf(knuth.id)).toEqual([
      { classId: 'cs101', personId: knuth.id, role: 'teacher' },
    ]);
    await teacher.goto(`${web.url}/class/cs101`);
    expect(await teacher.locator('tbody tr').count()).toBe(STUDENTS);
    await teacher.context().close();

    const student = await signedInPage('newbie');
    const newbie = (await store.classes.getPersonByUsername('newbie'))!;
    expect(newbie.role).toBe('student');
    expect(await store.classes.classesOf(newbie.id)).toEqual([
      { classId: 'cs101', personId: newbie.id, role: 'student' },
    ]);
    expect(await student.locator('main').textContent()).toMatch(/You have no VM yet/);
    await student.goto(`${web.url}/class/cs101`);
    expect(await student.locator('tbody tr').count()).toBe(0);
    await student.context().close();
  });
});

import nock from 'nock';
import * as commands from '@lab/commands';
import { createLogger, DirectoryService, GroupMapping } from '@lab/proxmox-sdk';
import { startTestLab } from '@lab/proxmox-sdk/testing';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createWebPortal, type WebPortal } from '../src/index.js';
import type { WebConfig } from '../src/web-config.js';
import { FakeIdp, newKey, type ProviderShape } from './fake-idp.js';
import { entraId, google, keycloak } from './provider-shapes.js';

type Lab = Awaited<ReturnType<typeof startTestLab<commands.CommandRouter, commands.LabServices>>>;
let lab: Lab;
const PUBLIC_URL = 'https://lab.school.example';
const CLIENT_ID = 'lab-portal-client';
const CLIENT_SECRET = 'client-secret-from-the-provider';

beforeAll(async () => {
  lab = await startTestLab(commands);
  await lab.services.store.classes.updatePerson((await lab.services.store.classes.getPersonByUsername('alice'))!.id, {
    email: 'alice@school.example',
  });
  const { publicKey } = await generateKeyPair('RSA-OAEP', { extractable: true });
  keycloak.otherKeys.push({ ...(await exportJWK(publicKey)), kid: 'enc-key', use: 'enc', alg: 'RSA-OAEP' });
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1/);
}, 60_000);

afterEach(() => {
  nock.cleanAll();
  vi.useRealTimers();
});

afterAll(async () => {
  nock.enableNetConnect();
  await lab?.close();
});

async function portalFor(
  shape: ProviderShape,
  oidc: Partial<WebConfig['oidc']>,
  directory?: DirectoryService,
): Promise<WebPortal> {
  return createWebPortal({
    ...(directory ? { directory } : {}),
    router: lab.router,
    store: lab.services.store,
    logger: createLogger({ level: 'error' }),
    clientSecret: CLIENT_SECRET,
    config: {
      publicUrl: PUBLIC_URL,
      oidc: {
        issuer: shape.issuer,
        clientId: CLIENT_ID,
        clientSecretFile: '/dev/null',
        usernameClaim: 'preferred_username',
        emailClaim: 'email',
        groupsClaim: 'groups',
        mapBy: 'username',
        ...oidc,
      },
      session: { idleMinutes: 60, absoluteHours: 12 },
    },
  });
}

async function mounted(shape: ProviderShape): Promise<FakeIdp> {
  const idp = new FakeIdp(shape, CLIENT_ID, CLIENT_SECRET);
  idp.keys = [await newKey(`${shape.name.replace(/\W/g, '')}-key-1`)];
  idp.mount();
  return idp;
}

/** `/login`, then the callback with a code the provider issued for that login (the browser's part in between). */
async function signIn(
  portal: WebPortal,
  idp: FakeIdp,
  who: string,
  tamper: {
    claims?: (claims: Record<string, unknown>) => Record<string, unknown>;
    signing?: Parameters<FakeIdp['issueCode']>[2];
    state?: string;
  } = {},
) {
  const login = await portal.app.inject({ method: 'GET', url: '/login' });
  expect(login.statusCode).toBe(303);
  const location = new URL(String(login.headers.location));
  expect(`${location.origin}${location.pathname}`).toBe(idp.shape.metadata.authorization_endpoint);
  expect(location.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/auth/callback`);
  expect(location.searchParams.get('code_challenge_method')).toBe('S256');
  const state = location.searchParams.get('state')!;
  const nonce = location.searchParams.get('nonce')!;
  const cookie = login.cookies.find((c) => c.name === '__Host-lab_login')!.value;
  const claims = idp.claimsFor(who, nonce);
  const code = idp.issueCode(
    location.searchParams.get('code_challenge')!,
    tamper.claims ? tamper.claims(claims) : claims,
    tamper.signing,
  );
  const query = new URLSearchParams({ code, state: tamper.state ?? state });
  if (idp.shape.sendsIss) query.set('iss', idp.shape.issuer);
  const callback = () =>
    portal.app.inject({
      method: 'GET',
      url: `/auth/callback?${query.toString()}`,
      cookies: { '__Host-lab_login': cookie },
    });
  return { response: await callback(), again: callback, code, query, cookie };
}

/** The newest sign-in entry by id (the key rotation test moves the clock forward, then back). */
const lastSignIn = async () =>
  (await lab.services.store.audit.list({ action: 'web.sign-in' })).sort((a, b) => b.id - a.id)[0]!;

describe.each([
  {
    shape: entraId,
    oidc: { usernameDomain: 'school.example' },
    how: 'the UPN in preferred_username, without the school domain',
  },
  { shape: google, oidc: { mapBy: 'email' as const }, how: 'the verified email' },
  { shape: keycloak, oidc: {}, how: 'preferred_username' },
])('signing in with $shape.name', ({ shape, oidc, how }) => {
  it(`maps to the lab person by ${how}, through the provider's real URLs`, async () => {
    const idp = await mounted(shape);
    const portal = await portalFor(shape, oidc);
    const { response } = await signIn(portal, idp, 'alice');
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/');
    const session = response.cookies.find((c) => c.name === '__Host-lab_session')!;
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/' });
    expect(idp.tokenRequests).toBe(1);
    expect(idp.jwksRequests).toBe(1);
    expect(await lastSignIn()).toMatchObject({ actor: 'alice', outcome: 'ok', target: shape.issuer });
    const home = await portal.app.inject({ method: 'GET', url: '/', cookies: { '__Host-lab_session': session.value } });
    expect(home.body).toContain('(alice)');
    await portal.close();
  });

  it('refuses a token signed with a key the provider does not publish (a wrong kid), audited', async () => {
    const idp = await mounted(shape);
    const portal = await portalFor(shape, oidc);
    const stranger = await newKey('not-published');
    const { response } = await signIn(portal, idp, 'alice', { signing: { key: stranger } });
    expect(response.statusCode).toBe(400);
    expect(response.cookies.find((c) => c.name === '__Host-lab_session')).toBeUndefined();
    expect(await lastSignIn()).toMatchObject({ outcome: 'denied', details: { reason: 'token-rejected' } });
    await portal.close();
  });
});

describe('key rotation', () => {
  it('accepts a token signed with a key published after the set was first read, once the set is read again', async () => {
    const idp = await mounted(keycloak);
    const portal = await portalFor(keycloak, {});
    expect((await signIn(portal, idp, 'alice')).response.statusCode).toBe(303);
    const next = await newKey('keycloak-key-2');
    idp.keys = [next];
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 61_000 });
    const rotated = await signIn(portal, idp, 'alice', { signing: { key: next } });
    expect(rotated.response.statusCode).toBe(303);
    expect(idp.jwksRequests).toBe(2);
    await portal.close();
  });

  it('refuses a token that names a published kid but was signed by another key', async () => {
    const idp = await mounted(google);
    const portal = await portalFor(google, { mapBy: 'email' });
    const forger = await newKey('forger');
    const { response } = await signIn(portal, idp, 'alice', { signing: { key: forger, kid: idp.keys[0]!.kid } });
    expect(response.statusCode).toBe(400);
    expect(await lastSignIn()).toMatchObject({ outcome: 'denied', details: { reason: 'token-rejected' } });
    await portal.close();
  });
});

describe('callbacks an attacker forges or replays', () => {
  let idp: FakeIdp;
  let portal: WebPortal;
  const setup = async () => {
    idp = await mounted(google);
    portal = await portalFor(google, { mapBy: 'email' });
  };
  afterEach(() => portal?.close());

  it('refuses a callback whose state is not the one this browser started, audited', async () => {
    await setup();
    const { response } = await signIn(portal, idp, 'alice', { state: 'an-attackers-state' });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('does not belong to the sign-in this browser started');
    expect(idp.tokenRequests).toBe(0);
    expect(await lastSignIn()).toMatchObject({ outcome: 'denied', details: { reason: 'wrong-state' } });
  });

  it('passes login_hint on to the provider, and drops one that is no name', async () => {
    await setup();
    const hinted = await portal.app.inject({ method: 'GET', url: '/login?login_hint=st01' });
    expect(new URL(String(hinted.headers.location)).searchParams.get('login_hint')).toBe('st01');
    const odd = await portal.app.inject({ method: 'GET', url: `/login?login_hint=${encodeURIComponent('<script>')}` });
    expect(new URL(String(odd.headers.location)).searchParams.has('login_hint')).toBe(false);
  });

  it('refuses a callback with no sign-in started in this browser', async () => {
    await setup();
    const response = await portal.app.inject({ method: 'GET', url: '/auth/callback?code=abc&state=def' });
    expect(response.statusCode).toBe(400);
    expect(await lastSignIn()).toMatchObject({ outcome: 'denied', details: { reason: 'no-login-started' } });
  });

  it('refuses the same callback replayed, and a code replayed into a new sign-in, audited', async () => {
    await setup();
    const first = await signIn(portal, idp, 'alice');
    expect(first.response.statusCode).toBe(303);
    const replayed = await first.again();
    expect(replayed.statusCode).toBe(400);
    expect(await lastSignIn()).toMatchObject({ outcome: 'denied', details: { reason: 'login-expired-or-used' } });
    const login = await portal.app.inject({ method: 'GET', url: '/login' });
    const state = new URL(String(login.headers.location)).searchParams.get('state')!;
    const cookie = login.cookies.find((c) => c.name === '__Host-lab_login')!.value;
    const reused = await portal.app.inject({
      method: 'GET',
      url: `/auth/callback?${new URLSearchParams({ code: first.code, state }).toString()}`,
      cookies: { '__Host-lab_login': cookie },
    });
    expect(reused.statusCode).toBe(400);
    expect(await lastSignIn()).toMatchObject({
      outcome: 'denied',
      details: { reason: 'provider-error', providerError: 'invalid_grant' },
    });
  });

  it.each([
    ['another audience', (c: Record<string, unknown>) => ({ ...c, aud: 'someone-elses-client' })],
    ['another issuer', (c: Record<string, unknown>) => ({ ...c, iss: 'https://accounts.evil.example' })],
    ['no nonce', ({ nonce: _nonce, ...c }: Record<string, unknown>) => c],
    ['the nonce of another sign-in', (c: Record<string, unknown>) => ({ ...c, nonce: 'nonce-of-another-login' })],
    ['an expiry in the past', (c: Record<string, unknown>) => ({ ...c, exp: Math.floor(Date.now() / 1000) - 600 })],
  ])('refuses an ID token with %s, audited, and opens no session', async (_what, claims) => {
    await setup();
    const { response } = await signIn(portal, idp, 'alice', { claims });
    expect(response.statusCode).toBe(400);
    expect(response.cookies.find((c) => c.name === '__Host-lab_session')).toBeUndefined();
    expect(await lastSignIn()).toMatchObject({ outcome: 'denied', details: { reason: 'token-rejected' } });
  });

  it('refuses an email the provider has not verified when mapping by email', async () => {
    await setup();
    const { response } = await signIn(portal, idp, 'alice', { claims: (c) => ({ ...c, email_verified: false }) });
    expect(response.statusCode).toBe(400);
    expect(await lastSignIn()).toMatchObject({ outcome: 'denied', details: { reason: 'email-not-verified' } });
  });

  it('tells a person the lab does not know to ask their teacher, audited with their identity', async () => {
    await setup();
    const { response } = await signIn(portal, idp, 'mallory');
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain('Ask your teacher to add you to the lab.');
    const entry = await lastSignIn();
    expect(entry).toMatchObject({
      outcome: 'denied',
      details: { code: 'LAB_WEB_UNKNOWN_PERSON', value: 'mallory@school.example' },
    });
    expect(entry.actor).toMatch(/^web:https:\/\/accounts\.google\.com#1094/);
  });
});

describe('the groups claim at sign-in (directory.groups)', () => {
  it('creates and enrols a person the mapping grants a class, and moves them when their groups change', async () => {
    const { store, clock } = lab.services;
    const directory = new DirectoryService({
      store,
      clock,
      mapping: new GroupMapping({
        'cs101-students': { class: 'cs101', role: 'student' },
        'cs202-students': { class: 'cs202', role: 'student' },
      }),
    });
    const idp = await mounted(keycloak);
    const portal = await portalFor(keycloak, {}, directory);
    expect(await store.classes.getPersonByUsername('newstudent')).toBeUndefined();
    const first = await signIn(portal, idp, 'newstudent', {
      claims: (claims) => ({ ...claims, groups: ['cs101-students', 'unmapped-group'] }),
    });
    expect(first.response.statusCode).toBe(303);
    const person = (await store.classes.getPersonByUsername('newstudent'))!;
    expect(person).toMatchObject({
      role: 'student',
      displayName: 'newstudent Student',
      email: 'newstudent@school.example',
    });
    expect(await store.classes.classesOf(person.id)).toEqual([
      { classId: 'cs101', personId: person.id, role: 'student' },
    ]);
    const moved = await signIn(portal, idp, 'newstudent', {
      claims: (claims) => ({ ...claims, groups: ['cs202-students'] }),
    });
    expect(moved.response.statusCode).toBe(303);
    expect(await store.classes.classesOf(person.id)).toEqual([
      { classId: 'cs202', personId: person.id, role: 'student' },
    ]);
    const audit = await store.audit.list({ actor: 'directory' });
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['directory.enrol', 'directory.unenrol']));
    await portal.close();
  });

  it('signs in nobody the mapping grants nothing and the lab does not know', async () => {
    const directory = new DirectoryService({
      store: lab.services.store,
      clock: lab.services.clock,
      mapping: new GroupMapping({ 'cs101-students': { class: 'cs101', role: 'student' } }),
    });
    const idp = await mounted(keycloak);
    const portal = await portalFor(keycloak, {}, directory);
    const { response } = await signIn(portal, idp, 'stranger', {
      claims: (claims) => ({ ...claims, groups: ['staff'] }),
    });
    expect(response.statusCode).toBe(403);
    expect(await lab.services.store.classes.getPersonByUsername('stranger')).toBeUndefined();
    await portal.close();
  });
});

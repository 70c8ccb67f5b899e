import { describe, expect, it } from 'vitest';
import type { Clock } from '@lab/proxmox-sdk';
import { createMemoryStore } from '@lab/proxmox-sdk/testing';
import { WebSessions, csrfTokenOf, hashSessionId } from '../src/web-sessions.js';

function manualClock(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, sleep: () => Promise.resolve(), advance: (ms) => (now += ms) };
}

async function setup() {
  const store = createMemoryStore();
  const clock = manualClock(1_000_000);
  const person = await store.classes.createPerson({ username: 'alice', displayName: 'A', role: 'student' }, 1);
  const sessions = new WebSessions({ store, clock, idleMs: 30 * 60_000, absoluteMs: 8 * 3_600_000 });
  return { store, clock, person, sessions };
}

describe('web sessions', () => {
  it('keep only the hash of the random id, and derive a CSRF token that differs per session', async () => {
    const { store, person, sessions } = await setup();
    const id = await sessions.open(person.id, 'https://idp', 'sub-1');
    const other = await sessions.open(person.id, 'https://idp', 'sub-1');
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(id).not.toBe(other);
    expect(await store.webSessions.get(id)).toBeUndefined();
    expect(await store.webSessions.get(hashSessionId(id))).toMatchObject({ personId: person.id, subject: 'sub-1' });
    expect(csrfTokenOf(id)).not.toBe(csrfTokenOf(other));
    const read = await sessions.read(id);
    expect('record' in read && read.csrfToken).toBe(csrfTokenOf(id));
  });

  it('end after the idle time without a request, and stay ended', async () => {
    const { clock, person, sessions } = await setup();
    const id = await sessions.open(person.id, 'https://idp', 'sub');
    clock.advance(29 * 60_000);
    expect(await sessions.read(id)).toHaveProperty('record');
    clock.advance(29 * 60_000);
    expect(await sessions.read(id)).toHaveProperty('record');
    clock.advance(30 * 60_000 + 1);
    expect(await sessions.read(id)).toEqual({ ended: 'idle' });
    clock.advance(-60 * 60_000);
    expect(await sessions.read(id)).toEqual({ ended: 'revoked' });
  });

  it('end at the absolute limit however active they are', async () => {
    const { clock, person, sessions } = await setup();
    const id = await sessions.open(person.id, 'https://idp', 'sub');
    for (let i = 0; i < 16; i++) {
      clock.advance(29 * 60_000);
      expect(await sessions.read(id)).toHaveProperty('record');
    }
    clock.advance(29 * 60_000);
    expect(await sessions.read(id)).toEqual({ ended: 'expired' });
  });

  it('end at sign-out, and refuse ids that are malformed or unknown', async () => {
    const { person, sessions } = await setup();
    const id = await sessions.open(person.id, 'https://idp', 'sub');
    expect(await sessions.close(id)).toBe(true);
    expect(await sessions.read(id)).toEqual({ ended: 'revoked' });
    expect(await sessions.close(id)).toBe(false);
    expect(await sessions.read('x'.repeat(43))).toEqual({ ended: 'unknown' });
    expect(await sessions.read("'; drop table web_sessions; --")).toEqual({ ended: 'unknown' });
  });
});

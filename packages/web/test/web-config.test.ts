import { describe, expect, it } from 'vitest';
import { webConfigSchema } from '../src/web-config.js';

const valid = {
  publicUrl: 'https://lab.school.example',
  oidc: {
    issuer: 'https://sso.school.example/realms/school',
    clientId: 'lab-portal',
    clientSecretFile: '/etc/proxmox-lab/oidc-secret',
  },
};

function firstIssue(input: unknown): { path: string; message: string } {
  const result = webConfigSchema.safeParse(input);
  if (result.success) throw new Error('expected the configuration to be refused');
  const issue = result.error.issues[0]!;
  return { path: issue.path.join('.'), message: issue.message };
}

describe('the web configuration', () => {
  it('fills in the claims, the mapping and the session limits', () => {
    expect(webConfigSchema.parse(valid)).toEqual({
      ...valid,
      oidc: {
        ...valid.oidc,
        usernameClaim: 'preferred_username',
        emailClaim: 'email',
        groupsClaim: 'groups',
        mapBy: 'username',
      },
      session: { idleMinutes: 60, absoluteHours: 12 },
    });
  });

  it('refuses an http:// issuer or portal address other than loopback, saying why', () => {
    expect(firstIssue({ ...valid, oidc: { ...valid.oidc, issuer: 'http://sso.school.example' } })).toEqual({
      path: 'oidc.issuer',
      message:
        "the OpenID provider's issuer must be https:// (http:// is allowed only on 127.0.0.1 or localhost, for trying it out)",
    });
    expect(firstIssue({ ...valid, publicUrl: 'http://lab.school.example' }).path).toBe('publicUrl');
    expect(
      webConfigSchema.safeParse({
        ...valid,
        publicUrl: 'http://127.0.0.1:3002',
        oidc: { ...valid.oidc, issuer: 'http://localhost:4000' },
      }).success,
    ).toBe(true);
  });

  it('names the key of a missing client, a mapping it does not know, an unknown key and limits out of range', () => {
    expect(firstIssue({ ...valid, oidc: { issuer: valid.oidc.issuer, clientSecretFile: 'x' } }).path).toBe(
      'oidc.clientId',
    );
    expect(firstIssue({ ...valid, oidc: { ...valid.oidc, mapBy: 'displayName' } }).path).toBe('oidc.mapBy');
    expect(firstIssue({ ...valid, oidc: { ...valid.oidc, clientSecret: 'inline' } }).message).toMatch(/clientSecret/);
    expect(firstIssue({ ...valid, session: { idleMinutes: 0 } }).path).toBe('session.idleMinutes');
    expect(firstIssue({ ...valid, session: { absoluteHours: 1000 } }).path).toBe('session.absoluteHours');
  });
});

import { describe, expect, it } from 'vitest';
import { IdentityPlatformError } from '@lab/proxmox-sdk/errors';
import { discordIdentity, slackIdentity, type IdentityFormat } from '@lab/proxmox-sdk';
import * as commands from '../src/index.js';
import { useLab } from './lab-fixture.js';

const { FrontEndRegistry, FrontEndRegistrationError, UnknownFrontEndError, defineFrontEnd } = commands;

const teamsIdentity: IdentityFormat = {
  ...slackIdentity,
  platform: 'teams',
  label: 'Teams',
};
const slack = defineFrontEnd({ id: 'slack', label: 'Slack', identity: slackIdentity });
const discord = defineFrontEnd({
  id: 'discord',
  label: 'Discord',
  identity: discordIdentity,
  serve: { defaultPort: 3001, start: () => Promise.reject(new Error('not started in this test')) },
});

describe('the front-end registry', () => {
  it('lists front ends in the order registered, the servable ones and their identity formats', () => {
    const registry = new FrontEndRegistry([slack, discord]);
    expect(registry.ids()).toEqual(['slack', 'discord']);
    expect(registry.servableIds()).toEqual(['discord']);
    expect(registry.identityFormats()).toEqual([slackIdentity, discordIdentity]);
    expect(registry.identityFormat('discord')).toBe(discordIdentity);
    expect(registry.identityFormat('teams')).toBeUndefined();
  });

  it('refuses a taken id, an id that is no platform id, and an identity format of another platform', () => {
    const registry = new FrontEndRegistry([slack]);
    expect(() => registry.register(slack)).toThrow(FrontEndRegistrationError);
    expect(() => registry.register(defineFrontEnd({ id: 'Teams', label: 'Teams', identity: teamsIdentity }))).toThrow(
      "Cannot register the front end 'Teams': an id is lower-case letters, digits or dashes, 2–32 long.",
    );
    expect(() => registry.register(defineFrontEnd({ id: 'teams', label: 'Teams', identity: slackIdentity }))).toThrow(
      "its identity format is the one of 'slack'",
    );
    expect(registry.ids()).toEqual(['slack']);
    registry.register(defineFrontEnd({ id: 'teams', label: 'Teams', identity: teamsIdentity }));
    expect(registry.ids()).toEqual(['slack', 'teams']);
  });

  it('names the registered front ends when asked for one it does not have', () => {
    const registry = new FrontEndRegistry([slack, discord]);
    expect(() => registry.require('mattermost')).toThrow(UnknownFrontEndError);
    expect(() => registry.require('mattermost')).toThrow(
      "There is no front end 'mattermost'; use one of slack, discord.",
    );
  });
});

describe('the router and platform ids', () => {
  const current = useLab(commands);

  it('refuses a command whose platform is no platform id (a front end’s bug, not a request’s text), and stores nothing', async () => {
    const { router, services } = current();
    const audited = (await services.store.audit.list({})).length;
    await expect(
      router.invoke({ platform: 'web:https://idp', userId: 'x', command: 'myvm', text: 'status' }),
    ).rejects.toThrow(IdentityPlatformError);
    expect(await services.store.audit.list({})).toHaveLength(audited);
  });
});

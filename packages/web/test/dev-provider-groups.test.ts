import { describe, expect, it } from 'vitest';
import { parseDevGroups } from '../src/dev-provider.js';

describe('the groups file of the development provider (lab sim --oidc-groups)', () => {
  it('reads groups per username', () => {
    expect(parseDevGroups('{"st01": ["cs101-students"], "lovelace": ["cs101-teachers", "staff"]}')).toEqual({
      st01: ['cs101-students'],
      lovelace: ['cs101-teachers', 'staff'],
    });
  });

  it.each([
    ['not JSON', '{st01:', /not JSON/],
    ['a list', '["cs101-students"]', /JSON object of usernames/],
    ['a name that is no lab username', '{"St 01": ["g"]}', /"St 01", which is not a lab username/],
    ['groups that are not a list of names', '{"st01": "cs101-students"}', /groups of st01/],
    ['an empty group name', '{"st01": [""]}', /groups of st01/],
  ])('refuses %s, saying what to fix', (_name, text, message) => {
    expect(() => parseDevGroups(text)).toThrow(message);
  });
});

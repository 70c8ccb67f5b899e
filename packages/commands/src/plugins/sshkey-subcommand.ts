import { z } from 'zod';
import { addSshKey, removeSshKey } from '@lab/proxmox-sdk';
import { subcommand } from '../command-plugin.js';
import { wordsOf } from './onboarding-options.js';

/**
 * `/myvm sshkey add <key>`, `/myvm sshkey list`, `/myvm sshkey remove <n|SHA256:…|comment>`: the
 * caller's SSH public keys, put on their VMs by cloud-init at the next deploy or reset.
 */
export const sshkeySubcommand = subcommand({
  description: 'Your SSH public keys for your VMs: add <key>, list, remove <number|fingerprint>',
  options: z.object({
    action: z.enum(['add', 'list', 'remove']).describe('add, list or remove'),
    key: wordsOf().optional().describe('the public key (one line of your .pub file), or which key to remove'),
  }),
  positional: ['action', 'key'],
  role: 'student',
  ephemeral: true,
  async run(ctx, o) {
    const { store, clock } = ctx.services;
    const personId = ctx.caller.person.id;
    const text = (o.key ?? []).join(' ').trim();
    if (o.action === 'list') {
      const keys = await store.sshKeys.list(personId);
      if (keys.length === 0)
        return {
          text: 'You have no SSH key yet. Add one with /myvm sshkey add ssh-ed25519 AAAA… you@laptop',
          data: [],
        };
      return {
        text: keys.map((k, i) => `${i + 1}. ${k.type} ${k.fingerprint}${k.comment ? ` ${k.comment}` : ''}`).join('\n'),
        data: keys.map(({ key, ...rest }) => ({ ...rest, key })),
      };
    }
    if (!text)
      return {
        text:
          o.action === 'add'
            ? 'Paste your public key: /myvm sshkey add ssh-ed25519 AAAA… you@laptop'
            : 'Say which key: /myvm sshkey remove 1 (see /myvm sshkey list)',
        error: true,
      };
    if (o.action === 'add') {
      const { key, added } = await addSshKey(store, personId, text, clock.now());
      return {
        text: added
          ? `Added ${key.type} ${key.fingerprint}. Your VMs get it when they are next deployed or reset (/myvm reset).`
          : `You have that key already (${key.fingerprint}).`,
        data: { fingerprint: key.fingerprint, added },
      };
    }
    const removed = await removeSshKey(store, personId, text);
    if (!removed) return { text: `No single key matches '${text}'; see /myvm sshkey list.`, error: true };
    return {
      text: `Removed ${removed.type} ${removed.fingerprint}. VMs made before keep it until they are reset.`,
      data: { fingerprint: removed.fingerprint },
    };
  },
});

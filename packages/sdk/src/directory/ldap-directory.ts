import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import type { Client, Entry } from 'ldapts';
import { isLabError } from '../errors/lab-error.js';
import { ConfigError } from '../errors/pve-errors.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import type { LdapConfig } from './directory-config.js';
import {
  DirectoryAuthError,
  DirectoryConnectionError,
  DirectoryQueryError,
  DirectoryTlsError,
} from './directory-errors.js';
import type { DirectoryPersonInput } from './directory-person.js';
import type { DirectoryRead, DirectorySource } from './directory-source.js';
import { firstRdnValue, looksLikeDn, normalizeDn } from './group-mapping.js';

/** Active Directory's `LDAP_MATCHING_RULE_IN_CHAIN`: membership through any depth of nesting. */
export const LDAP_MATCHING_RULE_IN_CHAIN = '1.2.840.113556.1.4.1941';
/** The root DSE capability an Active Directory domain controller announces. */
const AD_CAPABILITY = '1.2.840.113556.1.4.800';

/** Options of {@link LdapDirectory}. */
export interface LdapDirectoryOptions {
  config: LdapConfig;
  /** Where `LAB_DIRECTORY_PASSWORD` is read from. @defaultValue process.env */
  env?: Record<string, string | undefined>;
  logger?: Logger;
}

/** RFC 4515 escaping of a value inside a filter. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Reads people and groups from LDAP or Active Directory with `ldapts`: binds as the service account
 * over LDAPS or StartTLS (the certificate checked as the Proxmox connection checks its: a pinned
 * SHA-256 fingerprint, else the configured CA, else the system's; plain LDAP only on loopback), then
 * searches users by base and filter in pages and resolves nested groups — with Active Directory's
 * in-chain matching rule where the server has it, else by walking the groups' members.
 */
export class LdapDirectory implements DirectorySource {
  readonly #config: LdapConfig;
  readonly #env: Record<string, string | undefined>;
  readonly #logger: Logger;
  readonly description: string;

  constructor(options: LdapDirectoryOptions) {
    this.#config = options.config;
    this.#env = options.env ?? process.env;
    this.#logger = (options.logger ?? silentLogger).child({ component: 'directory' });
    this.description = new URL(options.config.url).origin.replace(/^null$/, options.config.url);
  }

  /** Reads everything in one connection; any failure is a coded error and nothing is returned. */
  async read(mappedGroups: readonly string[]): Promise<DirectoryRead> {
    const { Client } = await import('ldapts');
    const c = this.#config;
    const password = this.#password();
    const ca = c.ca ?? (c.caFile ? readConfigFile('directory.ldap.caFile', c.caFile) : undefined);
    const url = new URL(c.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const tlsOptions: tls.ConnectionOptions = {
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      ...(ca ? { ca } : {}),
      ...(isIp(host) ? {} : { servername: host }),
    };
    const client = new Client({
      url: c.url,
      timeout: c.timeoutMs,
      connectTimeout: c.timeoutMs,
      strictDN: false,
      // ldapts speaks TLS from the first byte whenever tlsOptions are given: only for ldaps://.
      ...(url.protocol === 'ldaps:' ? { tlsOptions } : {}),
      createSecureConnection: this.#checkedTlsConnect(),
    });
    try {
      if (url.protocol === 'ldap:' && c.startTls) await client.startTLS({ ...tlsOptions, host });
      await client.bind(c.bindDn, password);
      const nesting = c.nested === 'auto' ? await detectNesting(client) : c.nested;
      const { people, skipped, dns } = await this.#readUsers(client);
      const groupsOf =
        nesting === 'walk' ? await this.#walkGroups(client, dns) : await this.#inChainGroups(client, mappedGroups);
      for (const [i, person] of people.entries()) person.groups = [...(groupsOf.get(dns[i]!) ?? [])];
      this.#logger.info('directory read', { people: people.length, skipped: skipped.length, nesting });
      return { people, skipped, nesting };
    } catch (error) {
      throw this.#coded(error, c.userBase, c.userFilter);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  #password(): string {
    const c = this.#config;
    if (c.password) return c.password;
    if (c.passwordFile) return readConfigFile('directory.ldap.passwordFile', c.passwordFile).trim();
    const fromEnv = this.#env.LAB_DIRECTORY_PASSWORD;
    if (fromEnv) return fromEnv;
    throw new ConfigError(
      "config key 'directory.ldap.passwordFile': give the service account's password in a file (passwordFile) or in LAB_DIRECTORY_PASSWORD",
      { key: 'directory.ldap.passwordFile' },
    );
  }

  /** `tls.connect` that checks the peer before ldapts sees the connection, so no bind is sent to a wrong server. */
  #checkedTlsConnect(): typeof tls.connect {
    const c = this.#config;
    const pinned = c.fingerprint?.replace(/[:\s]/g, '').toUpperCase().match(/../g)!.join(':');
    const check = (socket: tls.TLSSocket): DirectoryTlsError | undefined => {
      const presented = socket.getPeerCertificate()?.fingerprint256 ?? '(none)';
      if (pinned !== undefined)
        return presented === pinned
          ? undefined
          : new DirectoryTlsError({ url: c.url, reason: `not the pinned certificate ${pinned}`, presented });
      if (socket.authorized) return undefined;
      return new DirectoryTlsError({
        url: c.url,
        reason: String(socket.authorizationError ?? 'unverified'),
        presented,
      });
    };
    return (...args: unknown[]) => {
      const socket = (tls.connect as (...a: unknown[]) => tls.TLSSocket)(...args);
      const emit = socket.emit.bind(socket) as (event: string | symbol, ...rest: unknown[]) => boolean;
      socket.emit = ((event: string | symbol, ...rest: unknown[]) => {
        if (event === 'secureConnect') {
          const failure = check(socket);
          if (failure) {
            socket.destroy(failure);
            return true;
          }
        }
        return emit(event, ...rest);
      }) as typeof socket.emit;
      return socket;
    };
  }

  async #readUsers(
    client: Client,
  ): Promise<{ people: DirectoryPersonInput[]; skipped: DirectoryRead['skipped']; dns: string[] }> {
    const c = this.#config;
    const a = c.attributes;
    const { searchEntries } = await client.search(c.userBase, {
      scope: 'sub',
      filter: c.userFilter,
      attributes: [a.username, a.displayName, a.email],
      paged: { pageSize: c.pageSize },
    });
    const people: DirectoryPersonInput[] = [];
    const dns: string[] = [];
    const skipped: DirectoryRead['skipped'] = [];
    for (const entry of searchEntries) {
      const username = firstValue(entry, a.username);
      if (!username) {
        skipped.push({ dn: entry.dn, reason: `no ${a.username} attribute` });
        continue;
      }
      people.push({
        username,
        displayName: firstValue(entry, a.displayName) ?? null,
        email: firstValue(entry, a.email) ?? null,
        groups: [],
      });
      dns.push(normalizeDn(entry.dn));
    }
    return { people, skipped, dns };
  }

  /** Every group under the group base, then each user's groups through any depth of nesting (cycles are harmless). */
  async #walkGroups(client: Client, userDns: readonly string[]): Promise<Map<string, Set<string>>> {
    const c = this.#config;
    const base = c.groupBase ?? namingContextOf(c.userBase);
    let entries: Entry[];
    try {
      ({ searchEntries: entries } = await client.search(base, {
        scope: 'sub',
        filter: c.groupFilter,
        attributes: ['cn', 'member', 'uniqueMember'],
        paged: { pageSize: c.pageSize },
      }));
    } catch (error) {
      throw this.#coded(error, base, c.groupFilter);
    }
    const names = new Map<string, string[]>();
    const parents = new Map<string, string[]>();
    for (const g of entries) {
      const dn = normalizeDn(g.dn);
      names.set(dn, [g.dn, firstValue(g, 'cn') ?? firstRdnValue(g.dn)]);
      for (const m of [...allValues(g, 'member'), ...allValues(g, 'uniqueMember')]) {
        const member = normalizeDn(m.replace(/#'?[01]+'?B$/, ''));
        parents.set(member, [...(parents.get(member) ?? []), dn]);
      }
    }
    const result = new Map<string, Set<string>>();
    for (const userDn of userDns) {
      const seen = new Set<string>();
      const queue = [...(parents.get(userDn) ?? [])];
      while (queue.length) {
        const g = queue.pop()!;
        if (seen.has(g)) continue;
        seen.add(g);
        queue.push(...(parents.get(g) ?? []));
      }
      const groups = new Set<string>();
      for (const g of seen) for (const n of names.get(g) ?? [g]) groups.add(n);
      result.set(userDn, groups);
    }
    return result;
  }

  /** For each mapped group: its DN, then the users in it at any depth, by Active Directory's in-chain rule. */
  async #inChainGroups(client: Client, mappedGroups: readonly string[]): Promise<Map<string, Set<string>>> {
    const c = this.#config;
    const base = c.groupBase ?? namingContextOf(c.userBase);
    const result = new Map<string, Set<string>>();
    for (const group of mappedGroups) {
      const dns = looksLikeDn(group)
        ? [group]
        : (
            await client.search(base, {
              scope: 'sub',
              filter: `(&${c.groupFilter}(cn=${escapeFilterValue(group)}))`,
              attributes: ['cn'],
            })
          ).searchEntries.map((e) => e.dn);
      for (const dn of dns) {
        const filter = `(&${c.userFilter}(memberOf:${LDAP_MATCHING_RULE_IN_CHAIN}:=${escapeFilterValue(dn)}))`;
        const { searchEntries } = await client.search(c.userBase, {
          scope: 'sub',
          filter,
          attributes: ['1.1'],
          paged: { pageSize: c.pageSize },
        });
        for (const e of searchEntries) {
          const key = normalizeDn(e.dn);
          const set = result.get(key) ?? new Set<string>();
          set.add(dn).add(firstRdnValue(dn));
          result.set(key, set);
        }
      }
    }
    return result;
  }

  #coded(error: unknown, base: string, filter: string): unknown {
    if (isLabError(error)) return error;
    const url = this.#config.url;
    const e = error as { code?: unknown; message?: string; name?: string };
    const message = String(e.message ?? error).split('\n')[0]!;
    if (typeof e.code === 'number') {
      if (e.code === 49) return new DirectoryAuthError(url, this.#config.bindDn);
      if (e.code === 51 || e.code === 52) return new DirectoryConnectionError(url, message);
      return new DirectoryQueryError({ url, base, filter, reason: message });
    }
    if (/filter/i.test(message) && !/socket|connection/i.test(message))
      return new DirectoryQueryError({ url, base, filter, reason: message });
    return new DirectoryConnectionError(url, typeof e.code === 'string' ? `${e.code}: ${message}` : message);
  }
}

async function detectNesting(client: Client): Promise<'in-chain' | 'walk'> {
  try {
    const { searchEntries } = await client.search('', {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ['supportedCapabilities'],
    });
    return allValues(searchEntries[0], 'supportedCapabilities').includes(AD_CAPABILITY) ? 'in-chain' : 'walk';
  } catch {
    return 'walk';
  }
}

/** `ou=people,dc=school,dc=example` → `dc=school,dc=example`. */
function namingContextOf(dn: string): string {
  const rdns = dn.split(',').map((r) => r.trim());
  const dc = rdns.filter((r) => /^dc=/i.test(r));
  return dc.length ? dc.join(',') : dn;
}

function allValues(entry: Entry | undefined, attribute: string): string[] {
  if (!entry) return [];
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  if (!key) return [];
  const value = entry[key];
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)));
}

function firstValue(entry: Entry, attribute: string): string | undefined {
  return allValues(entry, attribute)[0];
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

function readConfigFile(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `config key '${key}': cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      { key, path },
    );
  }
}

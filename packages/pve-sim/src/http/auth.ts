import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { splitTokenId, type AccessControl, type PermissionMap } from '../model/access-control.js';
import { PveSimError } from '../sim-error.js';
import type { SimTime } from '../sim-time.js';

/** A user who may log in with a password (ticket auth). */
export interface SimUser {
  userid: string;
  password?: string;
  /** Groups the user is a member of. */
  groups?: string[];
}

/** An API token (`USER@REALM!TOKENID`) and its secret. */
export interface SimToken {
  tokenId: string;
  secret: string;
  /**
   * Privilege separation: the token has only what ACLs grant the token itself (and its user has).
   * Without it the token has all its user's privileges. @defaultValue `false`
   */
  privsep?: boolean;
  /** Expiry, seconds since the epoch (`0`: none); PVE sets it only when asked. */
  expire?: number;
  comment?: string;
}

/** Who a request was authenticated as, and how. `userid` is the auth id: `user@realm` or `user@realm!token`. */
export interface Principal {
  userid: string;
  via: 'token' | 'ticket';
}

/** A refused authentication: pveproxy answers it before any handler, with an empty body. */
function refused(message: string): PveSimError {
  return new PveSimError(401, message, undefined, 'http');
}

const TICKET_LIFETIME_MS = 2 * 60 * 60 * 1000;

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * PVE's authentication: API tokens, tickets (2 h) and CSRF tokens on ticket writes. Failures are
 * 401s whose reason is PVE's (`invalid token value!`, `authentication failure`, …); pveproxy sends
 * them with an empty body after a 3 s delay (pve-http-server `src/PVE/APIServer/AnyEvent.pm`).
 */
export class SimAuth {
  readonly #key = randomBytes(32);
  readonly #users = new Map<string, SimUser>();
  readonly #tokens = new Map<string, SimToken>();
  /** Tickets issued before this simulated time are refused (tests expire them on demand). */
  #notBefore = 0;

  constructor(
    private readonly time: SimTime,
    /** The permission model (users, groups, tokens, ACLs) requests are checked against. */
    readonly access: AccessControl,
  ) {}

  addUser(user: SimUser): void {
    this.#users.set(user.userid, user);
    this.access.users.add(user.userid);
    for (const g of user.groups ?? []) {
      const members = this.access.groups.get(g) ?? new Set<string>();
      members.add(user.userid);
      this.access.groups.set(g, members);
    }
  }

  addToken(token: SimToken): void {
    this.#tokens.set(token.tokenId, token);
    this.access.tokens.set(token.tokenId, { privsep: token.privsep ?? false });
    const user = token.tokenId.split('!')[0]!;
    if (!this.#users.has(user)) this.access.users.add(user);
  }

  /** A user's tokens by name, as user.cfg holds them: `privsep` and `expire` always, `comment` if set. */
  tokensOf(userid: string): Record<string, { privsep: 0 | 1; expire: number; comment?: string }> | undefined {
    const out: Record<string, { privsep: 0 | 1; expire: number; comment?: string }> = {};
    for (const t of this.#tokens.values()) {
      const { user, token } = splitTokenId(t.tokenId);
      if (user !== userid || token === undefined) continue;
      out[token] = { privsep: t.privsep ? 1 : 0, expire: t.expire ?? 0, ...(t.comment ? { comment: t.comment } : {}) };
    }
    return Object.keys(out).length ? out : undefined;
  }

  /**
   * `POST /access/users/{userid}/token/{tokenid}` (pve-access-control `src/PVE/API2/User.pm`
   * `generate_token`): a UUID secret, shown once; `privsep` defaults to 1, `expire` and `comment`
   * only when given. A taken name is a 400 `{"tokenid": "Token already exists."}`.
   */
  generateToken(
    userid: string,
    tokenid: string,
    options: { privsep?: boolean; expire?: number; comment?: string },
  ): { info: Record<string, unknown>; value: string; 'full-tokenid': string } {
    this.access.userExists(userid);
    const full = `${userid}!${tokenid}`;
    if (this.#tokens.has(full))
      throw new PveSimError(400, 'Parameter verification failed.', { tokenid: 'Token already exists.' });
    const value = randomUUID();
    const privsep = options.privsep ?? true;
    this.addToken({
      tokenId: full,
      secret: value,
      privsep,
      expire: options.expire,
      comment: options.comment || undefined,
    });
    const info: Record<string, unknown> = { privsep: privsep ? 1 : 0 };
    if (options.expire !== undefined) info.expire = options.expire;
    if (options.comment) info.comment = options.comment;
    return { info, value, 'full-tokenid': full };
  }

  /**
   * Replaces the permission model by a recorded `GET /access/permissions` answer (path →
   * privilege → propagate) for every caller: that is what `GET /access/permissions` answers and
   * what requests are checked against. `undefined` restores the model (the default token is an
   * administrator).
   */
  setPermissions(permissions: PermissionMap | undefined): void {
    this.access.setRecorded(permissions);
  }

  /** The recorded permissions `setPermissions` gave, if any. */
  permissions(): PermissionMap | undefined {
    return this.access.recorded();
  }

  /** Makes every ticket issued so far invalid, as if they had expired. */
  expireTickets(): void {
    this.#notBefore = this.time.now() + 1;
  }

  #sign(text: string): string {
    return createHmac('sha256', this.#key).update(text).digest('base64url');
  }

  /** `POST /access/ticket`: checks the password (or a valid ticket as password) and issues a ticket + CSRF token. */
  login(
    username: string,
    password: string,
    realm?: string,
  ): { ticket: string; CSRFPreventionToken: string; username: string; clustername?: string } {
    const userid = realm && !username.includes('@') ? `${username}@${realm}` : username;
    const user = this.#users.get(userid);
    const ok =
      (user?.password !== undefined && safeEqual(user.password, password)) ||
      (password.startsWith('PVE:') && this.#checkTicket(password) === userid);
    if (!ok) throw new PveSimError(401, 'authentication failure');
    const stamp = Math.floor(this.time.now()).toString(16).toUpperCase();
    const plain = `PVE:${userid}:${stamp}`;
    return {
      ticket: `${plain}::${this.#sign(plain)}`,
      CSRFPreventionToken: `${stamp}:${this.#sign(`csrf:${userid}:${stamp}`)}`,
      username: userid,
    };
  }

  #checkTicket(ticket: string): string | undefined {
    const m = /^(PVE:([^:]+):([0-9A-F]+))::(.+)$/.exec(ticket);
    if (!m || !safeEqual(this.#sign(m[1]!), m[4]!)) return undefined;
    const issued = Number.parseInt(m[3]!, 16);
    const now = this.time.now();
    if (issued < this.#notBefore || now - issued > TICKET_LIFETIME_MS) return undefined;
    return m[2];
  }

  /** Authenticates a request from its headers, or throws PVE's 401. */
  authenticate(method: string, headers: Record<string, string | string[] | undefined>): Principal {
    const cookie = String(headers.cookie ?? '');
    const ticketMatch = /(?:^|;\s*)PVEAuthCookie=([^;]+)/.exec(cookie);
    if (ticketMatch) {
      const ticket = decodeURIComponent(ticketMatch[1]!);
      const userid = this.#checkTicket(ticket);
      if (!userid) throw refused('invalid PVE ticket');
      if (method !== 'GET') {
        const csrf = String(headers.csrfpreventiontoken ?? '');
        const stamp = /^([0-9A-F]+):(.+)$/.exec(csrf);
        if (!stamp || !safeEqual(this.#sign(`csrf:${userid}:${stamp[1]}`), stamp[2]!)) {
          throw refused('Permission denied - invalid csrf token');
        }
      }
      return { userid, via: 'ticket' };
    }
    const authorization = String(headers.authorization ?? '');
    const token = /^PVEAPIToken=([^=\s]+)=(.+)$/.exec(authorization);
    if (token) {
      const tokenId = token[1]!;
      const known = this.#tokens.get(tokenId);
      // pve-access-control `verify_token`: an unknown token is refused before its value is checked.
      if (!known) throw refused(`no such token '${tokenId.split('!')[1] ?? ''}' for user '${tokenId.split('!')[0]}'`);
      if (!safeEqual(known.secret, token[2]!.trim())) throw refused('invalid token value!');
      return { userid: tokenId, via: 'token' };
    }
    throw refused('No ticket');
  }
}

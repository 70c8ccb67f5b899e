import { ConfigError } from '../errors/pve-errors.js';

type Kind = 'string' | 'number' | 'boolean' | 'object' | 'function';

/** What each option of a public constructor must be: its `typeof`, with `?` when it may be left out. */
export type OptionKinds = Readonly<Record<string, Kind | `${Kind}?`>>;

function shown(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string '${value.slice(0, 40)}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}

/**
 * Checks the options a public constructor was given, for JavaScript callers and options built from
 * untyped configuration: an options object, every required option there and each one of its kind.
 * Otherwise a `ConfigError` (`LAB_CONFIG`) naming the option and what to give — never a `TypeError`
 * from deep inside.
 * @param owner how the caller wrote it, e.g. `new ProxmoxClient`
 * @param hints what to give for an option, e.g. `baseUrl: "the cluster's URL, e.g. https://pve1.example.org:8006"`
 */
export function checkOptions(
  owner: string,
  options: unknown,
  kinds: OptionKinds,
  hints: Readonly<Record<string, string>> = {},
): void {
  const required = Object.keys(kinds).filter((name) => !kinds[name]!.endsWith('?'));
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new ConfigError(
      `${owner}: give its options as an object with ${required.join(', ')}; got ${shown(options)}`,
      {
        key: 'options',
      },
    );
  const given = options as Record<string, unknown>;
  for (const [name, spec] of Object.entries(kinds)) {
    const kind = spec.replace('?', '') as Kind;
    const value = given[name];
    const hint = hints[name] ? `; give ${hints[name]}` : '';
    if (value === undefined) {
      if (spec.endsWith('?')) continue;
      throw new ConfigError(`${owner}: option '${name}' is missing${hint}`, { key: name });
    }
    if (typeof value !== kind || (kind === 'object' && (value === null || Array.isArray(value))))
      throw new ConfigError(
        `${owner}: option '${name}' must be a${kind === 'object' ? 'n' : ''} ${kind}, got ${shown(value)}${hint}`,
        {
          key: name,
        },
      );
  }
}

/** The ports every engine is built on: the store and the clusters' clients. */
export const STORE_AND_CLUSTERS: OptionKinds = {
  store: 'object',
  clusters: 'object',
  clock: 'object?',
  logger: 'object?',
};

/** What to give for the ports, in messages. */
export const PORT_HINTS: Readonly<Record<string, string>> = {
  store: "a Store, e.g. await openStore('sqlite:./lab.db') from @lab/proxmox-store",
  clusters: "the clusters' clients, e.g. new Clusters(config.clusters)",
  catalog: 'a TemplateCatalog over the same store and clusters',
};

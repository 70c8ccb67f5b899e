// The directions imports may take, checked by eslint-plugin-boundaries as part of `npm run lint`:
// the SDK's folders only import downward, and the packages only import the packages below them.
// ARCHITECTURE.md ("Packages and the direction of dependencies", "The SDK's layers") explains both.
import boundaries from 'eslint-plugin-boundaries';

/**
 * The folders of packages/sdk/src, top to bottom. A folder may import its own files and the folders
 * of the rows below it; folders in one row do not import each other.
 */
export const SDK_LAYERS = [
  ['schedule', 'console', 'directory', 'doctor', 'terraform'],
  ['deploy', 'people'],
  ['inventory'],
  ['templates', 'audit'],
  ['cloning', 'network'],
  ['tasks', 'access'],
  ['pve', 'client'],
  ['store'],
  ['ports'],
  ['util'],
  ['errors'],
];

/**
 * The workspace packages, and which of ours each one's sources may import. Tests may also import
 * the store and the simulator (the real things they run against); the CLI is the composition root.
 */
export const PACKAGE_DIRECTIONS = {
  sdk: ['pve-sim'],
  commands: ['sdk'],
  store: ['sdk'],
  'bot-slack': ['sdk', 'commands'],
  'bot-discord': ['sdk', 'commands'],
  web: ['sdk', 'commands'],
  cli: ['sdk', 'commands', 'store', 'bot-slack', 'bot-discord', 'web', 'pve-sim'],
  'pve-sim': [],
};
const TEST_FIXTURE_PACKAGES = ['store', 'pve-sim'];

/** The SDK's subpath entries (`@lab/proxmox-sdk/pve`, …): like `src/index.ts`, they may re-export any folder. */
export const SDK_ENTRIES = ['pve', 'errors', 'store', 'terraform', 'network'];

const sdkFolders = SDK_LAYERS.flat();
const sdkType = (folder) => `sdk/${folder}`;
const packageTypes = (name) =>
  name === 'sdk' ? ['sdk', 'sdk/index', 'sdk/entry', 'sdk/testing', ...sdkFolders.map(sdkType)] : [name];

const elements = [
  ...SDK_ENTRIES.map((entry) => ({
    type: 'sdk/entry',
    pattern: `packages/sdk/src/${entry}/index.ts`,
    // One file, not a folder: v7 matches element patterns as folders otherwise (it warns that
    // `mode` is deprecated, and has no other way to name a single file yet).
    mode: 'full',
  })),
  ...sdkFolders.map((folder) => ({
    type: sdkType(folder),
    pattern: `packages/sdk/src/${folder}/**`,
    partialMatch: false,
  })),
  { type: 'sdk/testing', pattern: 'packages/sdk/src/testing/**', partialMatch: false },
  { type: 'sdk/index', pattern: 'packages/sdk/src', partialMatch: false },
  ...Object.keys(PACKAGE_DIRECTIONS).flatMap((name) => [
    { type: `${name}/test`, pattern: `packages/${name}/test/**`, partialMatch: false },
    { type: name, pattern: `packages/${name}/**`, partialMatch: false },
  ]),
];

const allow = (from, to) => ({
  from: { element: { types: { anyOf: from } } },
  allow: { to: { element: { types: { anyOf: to } } } },
});

const policies = [
  // Everything outside our packages (node:, zod, undici…) is not this rule's business.
  { allow: { to: { module: { origin: 'external' } } } },
  { allow: { to: { module: { origin: 'core' } } } },
  ...SDK_LAYERS.flatMap((row, index) =>
    row.map((folder) => allow([sdkType(folder)], [folder, ...SDK_LAYERS.slice(index + 1).flat()].map(sdkType))),
  ),
  allow(['sdk/index'], [...sdkFolders.map(sdkType), 'sdk/index', 'sdk/entry']),
  allow(['sdk/entry'], [...sdkFolders.map(sdkType), 'sdk/index', 'sdk/entry']),
  allow(['sdk/testing'], [...sdkFolders.map(sdkType), 'sdk/index', 'sdk/testing', ...packageTypes('pve-sim')]),
  ...Object.entries(PACKAGE_DIRECTIONS).flatMap(([name, below]) => [
    allow([name], [...packageTypes(name), ...below.flatMap(packageTypes)]),
    allow(
      [`${name}/test`],
      [
        `${name}/test`,
        ...packageTypes(name),
        ...below.flatMap(packageTypes),
        ...TEST_FIXTURE_PACKAGES.flatMap(packageTypes),
      ],
    ),
  ]),
];

/** The ESLint flat-config block that enforces the directions above. */
export const layersConfig = {
  files: ['packages/*/src/**/*.ts', 'packages/*/test/**/*.ts'],
  plugins: { boundaries },
  settings: {
    'boundaries/elements': elements,
    'boundaries/dependency-nodes': ['import', 'export', 'dynamic-import'],
    'import/resolver': {
      typescript: { project: 'packages/*/tsconfig.json', noWarnOnMultipleProjects: true },
      node: true,
    },
  },
  rules: {
    'boundaries/dependencies': ['error', { default: 'disallow', policies }],
  },
};

// npm 11's `npm ci` insists that every optional platform package (rollup, turbo native builds) has
// an entry in package-lock.json. The registry our machines reach serves only the Linux builds, so
// `npm install` leaves the others out and `npm ci` then refuses the lock. This adds, for each missing
// one, an entry with its version and the os/cpu/libc it is for, so npm validates the lock and skips
// it on every other platform. Run after changing dependencies: `npm run lockfile:complete`.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const packages = lock.packages;

const OS = {
  android: 'android',
  darwin: 'darwin',
  freebsd: 'freebsd',
  linux: 'linux',
  openbsd: 'openbsd',
  openharmony: 'openharmony',
  win32: 'win32',
  windows: 'win32',
};
const CPU = {
  arm: 'arm',
  'arm-eabi': 'arm',
  'arm-gnueabihf': 'arm',
  'arm-musleabihf': 'arm',
  arm64: 'arm64',
  x64: 'x64',
  64: 'x64',
  ia32: 'ia32',
  loong64: 'loong64',
  ppc64: 'ppc64',
  riscv64: 'riscv64',
  s390x: 's390x',
};

function platformOf(name) {
  const tail = name
    .split('/')
    .pop()
    .replace(/^rollup-/, '');
  const [os, ...rest] = tail.split('-');
  let cpuPart = rest.join('-');
  let libc;
  if (/-(musl|musleabihf)$/.test(cpuPart)) libc = 'musl';
  else if (/-(gnu|gnueabihf)$/.test(cpuPart)) libc = 'glibc';
  cpuPart = cpuPart.replace(/-(gnu|musl|msvc)$/, '');
  const cpu = CPU[cpuPart] ?? CPU[cpuPart.split('-')[0]];
  if (!OS[os] || !cpu) return undefined;
  return { os: [OS[os]], cpu: [cpu], ...(libc ? { libc: [libc] } : {}) };
}

let added = 0;
for (const [location, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (packages[key] || packages[`${location}/node_modules/${name}`]) continue;
    const platform = platformOf(name);
    if (!platform || !/^\d+\.\d+\.\d+/.test(version)) continue;
    packages[key] = { version, ...(entry.dev ? { dev: true } : {}), optional: true, ...platform };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform entries`);

import type { Options } from 'tsup';

/** Shared tsup defaults for every publishable package: ESM + CJS + .d.ts, Node 20. */
export function createTsupConfig(options: Options = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    keepNames: true,
    skipNodeModulesBundle: true,
    shims: true,
    ...options,
  };
}

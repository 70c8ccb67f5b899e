import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as sdk from '../src/errors/index.js';
import { LabError } from '../src/index.js';

// `instanceof LabError` checks an instance's brand, so classes are told by their prototype chain.
type ErrorClass = (abstract new (...args: never[]) => LabError) & {
  code: string | undefined;
  name: string;
  prototype: object;
};

const catalogue = readFileSync(resolve(import.meta.dirname, '../ERRORS.md'), 'utf8');
const documented = new Set(
  [...catalogue.matchAll(/^\| `(LAB_[A-Z0-9_]+?)(?:_<status>|_<reason>)?` \| `(\w+)`/gm)].map((m) => `${m[2]} ${m[1]}`),
);
const errorClasses = (Object.values(sdk) as unknown[]).filter(
  (value): value is ErrorClass =>
    typeof value === 'function' &&
    (value === LabError || Object.prototype.isPrototypeOf.call(LabError.prototype, (value as ErrorClass).prototype)),
);
const bases = new Set(['LabError', 'StoreConstraintError']);

describe('the error code catalogue (ERRORS.md)', () => {
  it('finds the exported error classes', () => {
    expect(errorClasses.length).toBeGreaterThan(50);
  });

  it('gives every exported error class but the two bases its own code', () => {
    const withoutCode = errorClasses
      .filter((c) => !Object.hasOwn(c, 'code') || c.code === undefined)
      .map((c) => c.name);
    expect(withoutCode.sort()).toEqual([...bases].sort());
  });

  it('uses each code for one class only', () => {
    const codes = errorClasses.filter((c) => !bases.has(c.name)).map((c) => c.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('lists every class with its code, and nothing the SDK does not export', () => {
    const exported = errorClasses.filter((c) => !bases.has(c.name)).map((c) => `${c.name} ${c.code}`);
    const missing = exported.filter((entry) => !documented.has(entry));
    expect(missing).toEqual([]);
    const sdkEntries = [...documented].filter(
      (entry) =>
        !/^(StoreDataError|StoreDriverMissingError|CliUsageError|ConfigExistsError|InsecureUrlError|CertificateNotTrustedError|PortUnavailableError|UnknownFrontEndError|FrontEndRegistrationError|WebSignInRefusedError|WebUnknownPersonError|WebRequestRefusedError|WebProviderUnavailableError) /.test(
          entry,
        ),
    );
    expect(sdkEntries.filter((entry) => !exported.includes(entry))).toEqual([]);
  });

  it('puts the class code on its errors', () => {
    expect(new sdk.TemplateNotFoundError('x', []).code).toBe(sdk.TemplateNotFoundError.code);
    expect(new sdk.StoreInTransactionError('audit.list').code).toBe('LAB_STORE_OUTER_IN_TRANSACTION');
    const http = new sdk.PveHttpError({ clusterId: 'c', method: 'GET', path: '/', status: 500, pveMessage: '' });
    expect(http.code).toBe(`${sdk.PveHttpError.code}_500`);
    expect(
      new sdk.PvePermissionError({
        clusterId: 'c',
        method: 'GET',
        path: '/',
        pveMessage: 'Permission check failed (/vms/1, VM.Audit)',
      }).code,
    ).toBe(sdk.PvePermissionError.code);
  });
});

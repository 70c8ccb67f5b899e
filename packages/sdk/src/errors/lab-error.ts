const BRANDS = Symbol.for('@lab/proxmox-sdk.error-brands');

type Branded = { [BRANDS]?: readonly string[] };
type ErrorClass = { code?: unknown; brand?: unknown };

/**
 * The brand a class stamps on its errors, derived from its own `code` (`@lab/LAB_…`). Only the bases
 * that carry their subclasses' codes (`LabError`, `StoreConstraintError`) name one of their own.
 */
function ownBrand(ctor: ErrorClass): string | undefined {
  if (Object.hasOwn(ctor, 'code') && typeof ctor.code === 'string') return `@lab/${ctor.code}`;
  if (Object.hasOwn(ctor, 'brand') && typeof ctor.brand === 'string') return ctor.brand;
  return undefined;
}

/** The brand `instanceof` checks for `ctor`: its own, or its nearest ancestor's. */
function brandFor(ctor: unknown): string | undefined {
  for (let c: unknown = ctor; typeof c === 'function'; c = Object.getPrototypeOf(c)) {
    const brand = ownBrand(c as ErrorClass);
    if (brand !== undefined) return brand;
  }
  return undefined;
}

/**
 * The root of every error the SDK throws. `code` is stable across releases (`LAB_…`), `message`
 * is written for a person and says what to do, and `data` carries the facts behind it.
 *
 * `instanceof` works across duplicate copies of the package (the ESM and CJS builds, or two
 * installed versions): each class checks a `Symbol.for` brand rather than its prototype chain.
 */
export class LabError extends Error {
  /** The brand `instanceof` checks on a base without a code; a class with a `code` is branded by it. */
  protected static readonly brand: string = '@lab/LabError';
  /**
   * The stable code every error of this class carries (listed in ERRORS.md), for comparisons such
   * as `error.code === TemplateNotFoundError.code`. Undefined on bases that carry their subclasses'
   * codes (`LabError`, `StoreConstraintError`).
   */
  static readonly code: string | undefined = undefined;
  readonly code: string;
  readonly data: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.data = data;
    const brands: string[] = [];
    for (let ctor: unknown = new.target; typeof ctor === 'function'; ctor = Object.getPrototypeOf(ctor)) {
      const brand = ownBrand(ctor as ErrorClass);
      if (brand !== undefined && !brands.includes(brand)) brands.push(brand);
      if (ctor === LabError) break;
    }
    Object.defineProperty(this, BRANDS, { value: brands, enumerable: false });
  }

  override get name(): string {
    return `${this.constructor.name}[${this.code}]`;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    const brands = (value as Branded)[BRANDS];
    if (!Array.isArray(brands)) return false;
    const brand = brandFor(this);
    return brand !== undefined && brands.includes(brand);
  }

  /** A plain object for structured logs: code, message and data, never a stack of secrets. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...this.data };
  }
}

/** True when `value` is any error thrown by the SDK (works across package copies). */
export function isLabError(value: unknown): value is LabError {
  return value instanceof LabError;
}

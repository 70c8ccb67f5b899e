import { LabError } from '../errors/lab-error.js';

/** pve-common `src/PVE/JSONSchema.pm` `$PVE_TAG_RE`: what one PVE tag may be. */
const PVE_TAG = /^[a-z0-9_][a-z0-9_\-+.]*$/i;

/** A tag PVE would refuse (`invalid characters in tag`); nothing was sent. */
export class InvalidTagError extends LabError {
  static override readonly code: string = 'LAB_PVE_TAG_INVALID';
  constructor(tag: string) {
    super(
      InvalidTagError.code,
      `'${tag}' cannot be a Proxmox tag: use letters, digits and _ - + . only, not starting with - + or .`,
      { tag },
    );
  }
}

/** The tags in a PVE tag list, split as pve-common `split_list` does (`,` `;` and spaces). */
export function splitPveTags(text: string | undefined): string[] {
  return (text ?? '').split(/[,;\s]+/).filter((tag) => tag !== '');
}

/**
 * A tag list as PVE stores it (pve-guest-common `GuestHelpers.pm` `get_unique_tags` with the
 * default tag style): every tag checked, lower-cased, duplicates dropped, sorted, joined with `;`.
 * Throws `InvalidTagError` for a tag PVE would refuse.
 */
export function normalisePveTags(tags: string | Iterable<string>): string {
  const list = typeof tags === 'string' ? splitPveTags(tags) : [...tags].flatMap(splitPveTags);
  for (const tag of list) if (!PVE_TAG.test(tag)) throw new InvalidTagError(tag);
  return [...new Set(list.map((tag) => tag.toLowerCase()))].sort().join(';');
}

/** Whether two tag lists hold the same tags, whatever their order, case, separators or duplicates. */
export function sameTags(a: string | undefined, b: string | undefined): boolean {
  const left = new Set(splitPveTags(a).map((t) => t.toLowerCase()));
  const right = new Set(splitPveTags(b).map((t) => t.toLowerCase()));
  return left.size === right.size && [...left].every((tag) => right.has(tag));
}

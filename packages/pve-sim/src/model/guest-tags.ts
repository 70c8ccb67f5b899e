/** pve-common `src/PVE/JSONSchema.pm` `$PVE_TAG_RE`, anchored as `pve_verify_tag` uses it. */
export const PVE_TAG_RE = /^[a-z0-9_][a-z0-9_\-+.]*$/i;

/** pve-common `src/PVE/ParseUtils.pm` `split_list`: `,` `;` and whitespace separate; NUL-separated lists as they are. */
export function splitList(text: string): string[] {
  const parts = text.includes('\0') ? text.split('\0') : text.replace(/[,;]/g, ' ').split(/\s+/);
  return parts.filter((part) => part !== '');
}

/**
 * pve-guest-common `src/PVE/GuestHelpers.pm` `get_unique_tags` with datacenter.cfg's default
 * `tag-style` (no `case-sensitive`, no `ordering: config`): sorted case-insensitively, lower-cased,
 * duplicates dropped, joined with `;`.
 */
export function uniqueTags(text: string): string {
  const seen = new Set<string>();
  const sorted = splitList(text).sort((a, b) => {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  });
  for (const tag of sorted) seen.add(tag.toLowerCase());
  return [...seen].join(';');
}

/**
 * A tagged template that builds a PVE API path with every interpolated segment URL-escaped:
 * `pvePath\`/nodes/${node}/tasks/${upid}/status\``.
 */
export function pvePath(strings: TemplateStringsArray, ...segments: readonly (string | number)[]): string {
  let out = strings[0] ?? '';
  segments.forEach((segment, i) => {
    out += encodeURIComponent(String(segment)) + (strings[i + 1] ?? '');
  });
  return out;
}

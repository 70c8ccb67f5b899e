/** Whether PVE version `version` (`9.1.3`, `8.4`) is at least `major.minor.patch`. */
export function pveVersionAtLeast(version: string, major: number, minor: number, patch = 0): boolean {
  const [a = 0, b = 0, c = 0] = version.split('.').map(Number);
  if (a !== major) return a > major;
  if (b !== minor) return b > minor;
  return c >= patch;
}

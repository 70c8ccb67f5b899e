/**
 * The percentage in a PVE clone/move log line, or undefined. Understands the modern mirror form
 * (`drive-scsi0: transferred 1.4 GiB of 20.0 GiB (6.89%) in 5s`), the qemu-img form
 * (`transferred 1.0 GiB of 32.0 GiB (3.12%)`) and PVE 5's `progression: 40 %`.
 */
export function parseProgressPercent(line: string): number | undefined {
  const modern = /transferred .* \((\d+(?:\.\d+)?)%\)/.exec(line);
  if (modern) return Number(modern[1]);
  const legacy = /progression:\s*(\d+(?:\.\d+)?)\s*%/.exec(line);
  if (legacy) return Number(legacy[1]);
  return undefined;
}

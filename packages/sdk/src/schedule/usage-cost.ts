import { z } from 'zod';

/** Rates of the cost estimate (`costs` in lab.config.json): per vCPU hour and per GiB of memory hour. */
export interface CostRates {
  perVcpuHour: number;
  perGiBHour: number;
  /** ISO 4217 code, e.g. `EUR`. */
  currency: string;
}

/** The `costs` section of lab.config.json. */
export const costRatesSchema: z.ZodType<CostRates> = z
  .object({
    perVcpuHour: z.number({ error: 'a number, e.g. 0.02' }).min(0, 'not negative').max(1_000),
    perGiBHour: z.number({ error: 'a number, e.g. 0.005' }).min(0, 'not negative').max(1_000),
    currency: z.string().regex(/^[A-Z]{3}$/, 'a three-letter currency code such as EUR or USD'),
  })
  .strict();

/** Resource hours a VM's running time used: vCPU hours and GiB-of-memory hours. */
export interface ResourceHours {
  vcpuHours: number;
  gibHours: number;
}

/** The resource hours of `ms` of running time of a VM of `cores` and `memoryMiB` (unknown sizes count as 0). */
export function resourceHours(
  ms: number,
  vm: { cores: number | null; memory: number | null } | undefined,
): ResourceHours {
  const hours = ms / 3_600_000;
  return { vcpuHours: hours * (vm?.cores ?? 0), gibHours: (hours * (vm?.memory ?? 0)) / 1024 };
}

/** The estimated cost of `hours` at `rates`, rounded to cents. */
export function costOf(hours: ResourceHours, rates: CostRates): number {
  return Math.round((hours.vcpuHours * rates.perVcpuHour + hours.gibHours * rates.perGiBHour) * 100) / 100;
}

/** `12.34 EUR`. */
export function formatCost(amount: number, rates: Pick<CostRates, 'currency'>): string {
  return `${amount.toFixed(2)} ${rates.currency}`;
}

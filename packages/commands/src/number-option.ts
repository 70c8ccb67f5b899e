import { z } from 'zod';

/** A number as a person writes it: digits with an optional sign and decimals (not `0x10`, `1e3` or ''). */
export const DECIMAL_NUMBER = /^\s*-?\d+(?:\.\d+)?\s*$/;

/** A word written as a decimal number becomes that number; anything else stays as it is, for the schema to refuse. */
const readNumber = (value: unknown): unknown =>
  typeof value === 'string' && DECIMAL_NUMBER.test(value) ? Number(value) : value;

/** A zod schema for a whole number given as a word (`10`) or a number; `1.5`, `0x10` and '' are refused. */
export const wholeNumber = (description: string, min: number, max: number) =>
  z
    .preprocess(
      readNumber,
      z
        .number({ error: 'must be a number' })
        .int('must be a whole number')
        .min(min, `must be at least ${min}`)
        .max(max, `must be at most ${max}`),
    )
    .describe(description);

/** A zod schema for a number that may have decimals (`0.5`), given as a word or a number; `0x10` and '' are refused. */
export const decimalNumber = (description: string, min: number, max: number) =>
  z
    .preprocess(
      readNumber,
      z
        .number({ error: 'must be a number, e.g. 10 or 0.5' })
        .min(min, `must be at least ${min}`)
        .max(max, `must be at most ${max}`),
    )
    .describe(description);

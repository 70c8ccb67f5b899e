import type { ZodType } from 'zod';
import { PveHttpError, PvePermissionError, PveResponseShapeError, type PveRequestFacts } from '../errors/pve-errors.js';
import type { RawResponse } from './dispatch-request.js';

function excerpt(body: string): string {
  return body.length > 200 ? `${body.slice(0, 200)}…` : body;
}

/** The `{"data": …}` of a 2xx PVE answer, checked against `schema` when one is given. */
export function readPveData<T>(raw: RawResponse, facts: PveRequestFacts, schema?: ZodType<T>): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.body);
  } catch {
    throw new PveResponseShapeError({ ...facts, issues: ['body is not JSON'], bodyExcerpt: excerpt(raw.body) });
  }
  if (typeof parsed !== 'object' || parsed === null || !('data' in parsed)) {
    throw new PveResponseShapeError({ ...facts, issues: ['body has no "data" field'], bodyExcerpt: excerpt(raw.body) });
  }
  const data = parsed.data;
  if (!schema) return data as T;
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const where = ['data', ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))]
      .join('')
      .replace(/\.\[/g, '[');
    return `${where}: ${issue.message}`;
  });
  throw new PveResponseShapeError({ ...facts, issues });
}

/** The `PveHttpError` for a non-2xx PVE answer: reason phrase, `message` and per-parameter `errors`. */
export function pveHttpErrorFrom(raw: RawResponse, facts: PveRequestFacts): PveHttpError {
  let message = raw.statusText.trim();
  let errors: Record<string, string> | undefined;
  try {
    const body = JSON.parse(raw.body) as { message?: unknown; errors?: unknown };
    if (typeof body.message === 'string' && body.message.trim()) message = body.message.trim();
    if (body.errors && typeof body.errors === 'object') {
      errors = Object.fromEntries(
        Object.entries(body.errors as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
      );
    }
  } catch {
    // PVE sometimes answers errors with an empty or non-JSON body; the reason phrase is enough.
  }
  if (raw.status === 403 && /^Permission check failed/.test(message))
    return new PvePermissionError({ ...facts, pveMessage: message });
  return new PveHttpError({ ...facts, status: raw.status, pveMessage: message, ...(errors ? { errors } : {}) });
}

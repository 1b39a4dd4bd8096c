import type { Context } from 'hono';

/** RFC 9457 problem details. Every error response of the API has this shape. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  /** For validation errors: each offending field as a JSON pointer-ish path, with the reason. */
  errors?: { field: string; message: string }[];
  [extension: string]: unknown;
}

export function problem(c: Context, p: Problem): Response {
  return c.body(JSON.stringify(p), p.status as 400, { 'content-type': 'application/problem+json' });
}

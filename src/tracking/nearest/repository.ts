import type { Direction, Format } from '../formats/normalized.ts';

/**
 * Where a nearest-profile lookup reads its candidates: seed 002's `BenchmarkRepository`, with a
 * JSON file (no database) and the PostgreSQL results store behind the one interface. A
 * repository only filters; the distance and the choice are made by `findNearest` alone, so both
 * give the same answer on the same data.
 *
 * A candidate is a **profile**: the metric points of one run that share one tag set (a seed-002
 * record is one run whose points all share its tags; a valkey run holds one profile per command,
 * data size, clients …). When several runs hold the same tag set, only the latest counts (in the
 * database the newest stored, in a file the last written), so re-pushing a profile replaces it
 * in lookups without deleting history.
 */
export interface CandidateQuery {
  /**
   * Tags every candidate must hold with these values: a string tag equal to the text, a number
   * tag numerically equal (`1`, `1.0` and `1e0` all match 1), a boolean `true`/`false`. A tag
   * that is absent, null, an object or an array never matches.
   */
  exact: Readonly<Record<string, string>>;
  /** Tags every candidate must hold as JSON numbers: the parameters the distance is measured over. */
  params: readonly string[];
  /** Only runs of this repository (the database's runs always have one; a file's only if it says). */
  repo?: string | undefined;
}

export interface CandidateMetric {
  name: string;
  value: number;
  unit: string | null;
  direction: Direction | null;
}

/** The stored run a database candidate came from. */
export interface CandidateRun {
  uid: string;
  repo: string;
  sha: string;
  branch: string | null;
  architecture: string | null;
  format: Format;
  createdAt: Date;
}

export interface Candidate {
  /** Every tag of the profile (the exact ones, the parameters, and any other). */
  tags: Record<string, unknown>;
  /** The value of each queried parameter. */
  parameters: Record<string, number>;
  /** The profile's points, in the order they were pushed (written). */
  metrics: CandidateMetric[];
  /** Database: the run holding the profile. Null for a file. */
  run: CandidateRun | null;
  /** File: which run of the file, 0-based (for a seed-002 file, the record's index). Null for the database. */
  record: number | null;
}

export interface BenchmarkRepository {
  readonly source: 'database' | 'file';
  /** The latest result of every profile that matches the exact tags and holds every parameter as a number. */
  candidates(query: CandidateQuery): Promise<Candidate[]>;
}

// ── matching rules, shared so that the JSON side does what the SQL does ─────────────────────

const NUMERIC = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

export interface ExactTag {
  key: string;
  text: string;
  /** The text as a number when it is one (finite); what a number tag is compared with. */
  num: number | null;
}

export function exactTags(exact: Readonly<Record<string, string>>): ExactTag[] {
  return Object.entries(exact).map(([key, text]) => {
    const n = NUMERIC.test(text) ? Number(text) : Number.NaN;
    return { key, text, num: Number.isFinite(n) ? n : null };
  });
}

/** One tag value against one wanted value, as PostgresRepository's SQL compares them. */
export function tagMatches(value: unknown, want: ExactTag): boolean {
  if (typeof value === 'number') return want.num !== null && value === want.num;
  if (typeof value === 'string') return value === want.text;
  if (typeof value === 'boolean') return String(value) === want.text;
  return false;
}

/** The parameters of a tag set, or undefined when one is not a number tag (then it is no candidate). */
export function parametersOf(tags: Record<string, unknown>, params: readonly string[]): Record<string, number> | undefined {
  const out: [string, number][] = [];
  for (const p of params) {
    const v = Object.hasOwn(tags, p) ? tags[p] : undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
    out.push([p, v]);
  }
  return Object.fromEntries(out);
}

/**
 * JSON with object keys sorted (by UTF-16 code unit, never the locale): one text per tag set
 * whatever its key order, as jsonb equality sees it. Groups a file's points into profiles and
 * breaks the last ties between candidates.
 */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

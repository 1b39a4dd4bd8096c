import { type Executor, run } from '../db/executor.ts';
import { ValidationError } from '../errors.ts';
import { decodeCursor, encodeCursor } from '../queue/list.ts';
import type { Direction, Format } from './formats/normalized.ts';

export interface RunFilter {
  repo?: string | undefined;
  sha?: string | undefined;
  configId?: number | undefined;
  configHash?: string | undefined;
  /** '' selects runs without an architecture. */
  architecture?: string | undefined;
  /** Stored at or after this instant. */
  since?: string | undefined;
  /** Stored before this instant. */
  until?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface StoredMetric {
  name: string;
  value: number;
  unit: string | null;
  direction: Direction | null;
  tags: Record<string, unknown>;
}

export interface StoredRun {
  uid: string;
  repo: string;
  sha: string;
  branch: string | null;
  config: { id: number; hash: string; name: string | null } | null;
  architecture: string | null;
  taskUid: string | null;
  repeatIndex: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  environment: Record<string, unknown>;
  format: Format;
  createdAt: Date;
  metrics: StoredMetric[];
}

/**
 * Newest first by (created_at, id), the keyset the created_at index serves; the cursor carries
 * created_at as PostgreSQL text so microseconds survive. The page is cut first and its metric
 * points gathered after, so a page costs one metrics index scan per run on it, never one per
 * matching run. Points keep the order they were pushed in.
 */
const LIST_RUNS_SQL = `
select page.*, page.created_at::text as created_at_text, c.hash as config_hash, c.name as config_name,
  coalesce(pts.metrics, '[]'::jsonb) as metrics
from (
  select r.* from benchmark_runs r
  where ($1::text is null or r.repo = $1)
    and ($2::text is null or r.sha = $2)
    and ($3::bigint is null or r.config_id = $3)
    and ($4::text is null or r.config_id = (select id from benchmark_configs where hash = $4))
    and ($5::text is null or r.architecture = $5)
    and ($6::timestamptz is null or r.created_at >= $6)
    and ($7::timestamptz is null or r.created_at < $7)
    and ($8::timestamptz is null or (r.created_at, r.id) < ($8::timestamptz, $9::bigint))
  order by r.created_at desc, r.id desc
  limit $10
) page
left join benchmark_configs c on c.id = page.config_id
left join lateral (
  select jsonb_agg(jsonb_build_object('name', m.name, 'value', m.value, 'unit', m.unit, 'direction', m.direction, 'tags', m.tags) order by m.id) as metrics
  from benchmark_metrics m where m.run_id = page.id
) pts on true
order by page.created_at desc, page.id desc
`;

interface RunRowRaw {
  id: number;
  uid: string;
  repo: string;
  sha: string;
  branch: string | null;
  config_id: number | null;
  config_hash: string | null;
  config_name: string | null;
  architecture: string;
  task_uid: string | null;
  repeat_index: number;
  started_at: Date | null;
  finished_at: Date | null;
  environment: Record<string, unknown>;
  format: Format;
  created_at: Date;
  created_at_text: string;
  metrics: StoredMetric[];
}

function toStoredRun(r: RunRowRaw): StoredRun {
  return {
    uid: r.uid,
    repo: r.repo,
    sha: r.sha,
    branch: r.branch,
    config: r.config_id === null ? null : { id: r.config_id, hash: r.config_hash ?? '', name: r.config_name },
    architecture: r.architecture || null,
    taskUid: r.task_uid,
    repeatIndex: r.repeat_index,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    environment: r.environment,
    format: r.format,
    createdAt: r.created_at,
    metrics: r.metrics,
  };
}

export async function listRuns(ex: Executor, f: RunFilter): Promise<{ runs: StoredRun[]; nextCursor: string | null }> {
  const limit = f.limit ?? 50;
  const cursor = f.cursor ? decodeCursor(f.cursor) : undefined;
  const rows = await run<RunRowRaw>(ex, LIST_RUNS_SQL, [
    f.repo ?? null,
    f.sha?.toLowerCase() ?? null,
    f.configId ?? null,
    f.configHash?.toLowerCase() ?? null,
    f.architecture ?? null,
    f.since ?? null,
    f.until ?? null,
    cursor?.c ?? null,
    cursor?.i ?? null,
    limit + 1,
  ]).catch((err: unknown) => {
    // A forged cursor whose date JavaScript reads but PostgreSQL does not fails the cast (class 22).
    const e = err as { code?: unknown };
    if (cursor && String(e.code ?? '').startsWith('22')) {
      throw new ValidationError([{ field: 'cursor', message: 'is not a cursor this API issued' }]);
    }
    throw err;
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    runs: page.map(toStoredRun),
    nextCursor: rows.length > limit && last ? encodeCursor(last.created_at_text, last.id) : null,
  };
}

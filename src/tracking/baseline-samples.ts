import { type Executor, run } from '../db/executor.ts';
import { canonicalJson } from './canonical.ts';
import type { Direction } from './formats/normalized.ts';

/**
 * The samples of every series at one commit (or in one run): what baselines snapshot and what
 * compare judges. A series is one metric of one repository under one config and architecture
 * with one set of tags, as in the series query (src/tracking/series.ts); the repeated runs of
 * the commit are its samples, and so are repeated points of one run with the same tags.
 */

export interface SamplesQuery {
  repo: string;
  /** Every run of this commit… */
  sha?: string | undefined;
  /** …or this one run. */
  runUid?: string | undefined;
  /** Only these metrics (exact names). */
  metrics?: readonly string[] | undefined;
  /** tag → accepted values (as text), as in the series query. */
  tags?: Record<string, readonly string[]> | undefined;
  configId?: number | undefined;
  configHash?: string | undefined;
  /** '' selects runs without an architecture. */
  architecture?: string | undefined;
}

export interface SeriesIdentity {
  metric: string;
  configId: number | null;
  configHash: string | null;
  /** '' when the runs named none. */
  architecture: string;
  tags: Record<string, unknown>;
}

export interface SeriesSamples extends SeriesIdentity {
  /** The newest unit and direction its points carried (null when none did). */
  unit: string | null;
  direction: Direction | null;
  /** Runs that contributed. */
  runs: number;
  /** The commit of the runs (one commit, or the run's). */
  sha: string;
  samples: number[];
}

/**
 * The identity as one string, for matching the two sides of a comparison: tags in canonical
 * JSON, so key order and number spelling do not split a series.
 */
export function seriesId(s: SeriesIdentity): string {
  return [s.metric, s.configId ?? '', s.architecture, canonicalJson(s.tags)].join('\u001f');
}

const SAMPLES_SQL = `
select m.name as metric, r.config_id, c.hash as config_hash, r.architecture, m.tags,
  min(r.sha) as sha,
  count(distinct r.id)::int as runs,
  array_agg(m.value order by r.id, m.id) as samples,
  (array_agg(m.unit order by r.id desc, m.id desc) filter (where m.unit is not null))[1] as unit,
  (array_agg(m.direction order by r.id desc, m.id desc) filter (where m.direction is not null))[1] as direction
from benchmark_runs r
join benchmark_metrics m on m.run_id = r.id
left join benchmark_configs c on c.id = r.config_id
where r.repo = $1
  and ($2::text is null or r.sha = $2)
  and ($3::uuid is null or r.uid = $3)
  and ($4::text[] is null or m.name = any ($4))
  and ($5::bigint is null or r.config_id = $5)
  and ($6::text is null or c.hash = $6)
  and ($7::text is null or r.architecture = $7)
  and not exists (
    select 1 from jsonb_each($8::jsonb) want
    where not coalesce((m.tags ->> want.key) = any (array(select jsonb_array_elements_text(want.value))), false)
  )
group by m.name, r.config_id, c.hash, r.architecture, m.tags
order by m.name, c.hash nulls first, r.architecture, m.tags::text
`;

interface SamplesRaw {
  metric: string;
  config_id: number | null;
  config_hash: string | null;
  architecture: string;
  tags: Record<string, unknown>;
  sha: string;
  runs: number;
  samples: number[];
  unit: string | null;
  direction: Direction | null;
}

export async function samplesAt(ex: Executor, q: SamplesQuery): Promise<SeriesSamples[]> {
  if (q.sha === undefined && q.runUid === undefined) throw new Error('samplesAt needs a sha or a run uid');
  const rows = await run<SamplesRaw>(ex, SAMPLES_SQL, [
    q.repo,
    q.sha?.toLowerCase() ?? null,
    q.runUid ?? null,
    q.metrics && q.metrics.length > 0 ? [...q.metrics] : null,
    q.configId ?? null,
    q.configHash?.toLowerCase() ?? null,
    q.architecture ?? null,
    JSON.stringify(q.tags ?? {}),
  ]);
  return rows.map((r) => ({
    metric: r.metric,
    configId: r.config_id,
    configHash: r.config_hash,
    architecture: r.architecture,
    tags: r.tags,
    unit: r.unit,
    direction: r.direction,
    runs: r.runs,
    sha: r.sha,
    samples: r.samples.map(Number),
  }));
}

/** Does the repository hold this run (and which commit is it)? */
export async function runOf(ex: Executor, repo: string, runUid: string): Promise<{ sha: string } | undefined> {
  const rows = await run<{ sha: string }>(ex, 'select sha from benchmark_runs where repo = $1 and uid = $2', [repo, runUid]);
  return rows[0];
}

import { type Executor, run } from '../../db/executor.ts';
import type { Format } from '../formats/normalized.ts';
import { type BenchmarkRepository, type Candidate, type CandidateMetric, type CandidateQuery, exactTags } from './repository.ts';

/**
 * Seed 002's PostgreSQL backend, over Eventix's results store (benchmark_runs and
 * benchmark_metrics) rather than a table of its own: whatever was pushed, in any format, can be
 * looked up. One parameterized statement:
 *
 * 1. `points`: the metric points whose tags match every exact tag and hold every parameter as a
 *    JSON number. The comparison is the one `tagMatches` makes in JavaScript: strings as text,
 *    numbers as float8 against the wanted text read as a number in JavaScript (so the cast can
 *    never fail on the server, and `1.0` finds 1 on both sides), booleans as `true`/`false`.
 *    CASE evaluates in order, so a tag is cast only when it is a number.
 * 2. `latest`: per distinct tag set (jsonb equality, key order irrelevant), the newest run
 *    holding it, by (created_at, id): a push's runs share created_at and take ids in file order,
 *    so the last of a file wins, as in JsonFileRepository.
 * 3. That run's points of that tag set, in push order, with the run's identity.
 *
 * There is no index on tags, so the match scans the metrics of the repo (or all of them); a
 * lookup is not a hot path, and the schema stays as it is.
 */
const CANDIDATES_SQL = `
with wanted as (
  select * from jsonb_to_recordset($1::jsonb) as w(key text, text text, num float8)
), points as (
  select r.id as run_id, r.created_at, m.id as metric_id, m.name, m.value, m.unit, m.direction, m.tags
  from benchmark_metrics m
  join benchmark_runs r on r.id = m.run_id
  where ($3::text is null or r.repo = $3)
    and not exists (
      select 1 from wanted w
      where not coalesce(
        case jsonb_typeof(m.tags -> w.key)
          when 'number' then (m.tags -> w.key)::float8 = w.num
          when 'string' then (m.tags ->> w.key) = w.text
          when 'boolean' then (m.tags ->> w.key) = w.text
          else false
        end, false)
    )
    and not exists (
      select 1 from unnest($2::text[]) as p(key) where jsonb_typeof(m.tags -> p.key) is distinct from 'number'
    )
), latest as (
  select distinct on (tags) tags, run_id from points order by tags, created_at desc, run_id desc
)
select r.uid, r.repo, r.sha, r.branch, r.architecture, r.format, r.created_at, l.tags,
  jsonb_agg(jsonb_build_object('name', p.name, 'value', p.value, 'unit', p.unit, 'direction', p.direction) order by p.metric_id) as metrics
from latest l
join benchmark_runs r on r.id = l.run_id
join points p on p.run_id = l.run_id and p.tags = l.tags
group by r.id, l.tags
`;

interface CandidateRow {
  uid: string;
  repo: string;
  sha: string;
  branch: string | null;
  architecture: string;
  format: Format;
  created_at: Date;
  tags: Record<string, unknown>;
  metrics: CandidateMetric[];
}

export class PostgresRepository implements BenchmarkRepository {
  readonly source = 'database' as const;

  /** Any executor: a pool, or a client inside the caller's transaction. */
  constructor(private readonly ex: Executor) {}

  async candidates(query: CandidateQuery): Promise<Candidate[]> {
    const rows = await run<CandidateRow>(this.ex, CANDIDATES_SQL, [
      JSON.stringify(exactTags(query.exact)),
      [...query.params],
      query.repo ?? null,
    ]);
    return rows.map((r) => ({
      tags: r.tags,
      // The statement kept only tag sets holding every parameter as a number.
      parameters: Object.fromEntries(query.params.map((p) => [p, r.tags[p] as number])),
      metrics: r.metrics,
      run: {
        uid: r.uid,
        repo: r.repo,
        sha: r.sha,
        branch: r.branch,
        architecture: r.architecture || null,
        format: r.format,
        createdAt: r.created_at,
      },
      record: null,
    }));
  }
}

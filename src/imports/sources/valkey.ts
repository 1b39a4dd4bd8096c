import type pg from 'pg';
import { ValidationError } from '../../errors.ts';
import { CanonicalJsonError, canonicalize } from '../../tracking/canonical.ts';
import { FULL_SHA } from '../../tracking/git.ts';
import { prepareResults } from '../../tracking/ingest.ts';
import { repoKey } from '../../tracking/repos.ts';
import { runStateOf } from '../targets/benchmark-runs.ts';
import { pairKey } from '../targets/commit-status.ts';
import type { ImportSource, SourceItem } from '../types.ts';
import { keysetBatches, legacyKey, openLegacy, tablesPresent } from './postgres-source.ts';
import { derivedUid } from './python-eventix-records.ts';
import { checkTimezone, instantOf, jsonOf } from './values.ts';

/**
 * valkey-perf-benchmark (seed 000) on PostgreSQL, as `utils/postgres_track_commits.py` and its
 * metrics push left it:
 *
 * - `benchmark_commits (sha, timestamp, status, config jsonb[, architecture])`, unique on
 *   (sha, config): one commit-status pair a row. `in_progress` rows are skipped: no task owns
 *   them here, and the seed's own cleanup deleted them before every run.
 * - `benchmark_commits_<module>`: the same, for a module's repository (`--module-repos
 *   search=../valkey-search`). A module table without a repository is skipped whole, and said so.
 * - `benchmark_metrics`: one row a measurement, with the fields of `metrics.json` as columns
 *   (commit, command, data_size, pipeline, clients, rps, *_latency_ms, architecture, …) and, when
 *   present, the `config` it was run with. Each row becomes one benchmark run, parsed by the
 *   results store's own valkey format, so its validation and mapping are the push's.
 *
 * The commit tables are read in order of (sha, config), their unique key; benchmark_metrics
 * in order of `id`.
 */
export interface ValkeyOptions {
  from: string;
  repo: string;
  moduleRepos?: Record<string, string>;
  timezone?: string | undefined;
}

const TRANSIENT = new Set(['in_progress']);
const STATUSES = new Set(['in_progress', 'benchmark_complete', 'complete', 'failed']);

/** `search=../valkey-search,json=../valkey-json` → { search: '/abs/valkey-search', … }. */
export function parseModuleRepos(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(',')) {
    const [id, dir] = part.split('=');
    if (!id?.trim() || !dir?.trim())
      throw new ValidationError([{ field: 'module-repos', message: `expected module=path, got ${JSON.stringify(part)}` }]);
    out[id.trim()] = dir.trim();
  }
  return out;
}

async function* commitRows(client: pg.Client, table: string): AsyncGenerator<Record<string, unknown>[]> {
  const t = client.escapeIdentifier(table);
  // Keyset over (sha, config::text): the table's unique key, so no row is read twice or missed.
  let after: (string | null)[] = [null, null];
  for (;;) {
    const { rows } = await client.query<Record<string, unknown>>(
      `select *, config::text as config_text from ${t}
       where $1::text is null or (sha, config::text) > ($1::text, $2::text)
       order by sha, config::text limit 500`,
      after,
    );
    if (!rows.length) return;
    yield rows;
    const last = rows[rows.length - 1] as Record<string, unknown>;
    after = [String(last.sha), String(last.config_text)];
    if (rows.length < 500) return;
  }
}

export async function valkeyPostgres(o: ValkeyOptions): Promise<ImportSource> {
  const timezone = checkTimezone(o.timezone);
  const repo = repoKey(o.repo);
  const modules = Object.fromEntries(Object.entries(o.moduleRepos ?? {}).map(([id, dir]) => [id, repoKey(dir)]));
  const sourceKey = legacyKey('valkey', o.from);
  const client = await openLegacy(o.from);
  let tables: string[];
  let hasMetricsId = false;
  try {
    const { rows } = await client.query<{ name: string }>(
      `select table_name as name from information_schema.tables
       where table_schema = any(current_schemas(false)) and (table_name = 'benchmark_commits' or table_name like 'benchmark\\_commits\\_%' or table_name = 'benchmark_metrics')
       order by table_name`,
    );
    tables = rows.map((r) => r.name);
    if (!tables.includes('benchmark_commits') && !tables.includes('benchmark_metrics')) {
      throw new ValidationError([{ field: 'from', message: 'has neither benchmark_commits nor benchmark_metrics' }]);
    }
    hasMetricsId = (await tablesPresent(client, ['benchmark_metrics'])).get('benchmark_metrics')?.has('id') ?? false;
    if (tables.includes('benchmark_metrics') && !hasMetricsId) {
      throw new ValidationError([{ field: 'from', message: 'benchmark_metrics has no id column to read it in order by' }]);
    }
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }

  const commitItem = (raw: Record<string, unknown>, table: string, repoOf: string): SourceItem => {
    const cfg = String(raw.config_text);
    const path = `${table}[sha=${String(raw.sha).slice(0, 12)},config=${cfg.length > 120 ? `${cfg.slice(0, 119)}…` : cfg}]`;
    const issues: { field: string; message: string }[] = [];
    const sha = typeof raw.sha === 'string' ? raw.sha.toLowerCase() : '';
    if (!FULL_SHA.test(sha)) issues.push({ field: `${path}.sha`, message: 'must be a full sha: 40 or 64 hex digits' });
    const status = String(raw.status);
    if (!STATUSES.has(status)) issues.push({ field: `${path}.status`, message: `must be one of ${[...STATUSES].join(', ')}` });
    const when = instantOf(raw.timestamp === '' ? null : raw.timestamp, timezone);
    if (!when.ok) issues.push({ field: `${path}.timestamp`, message: when.message });
    let config: unknown;
    try {
      config = canonicalize(jsonOf(raw.config) ?? {}).value;
    } catch (err) {
      if (!(err instanceof CanonicalJsonError)) throw err;
      issues.push({ field: `${path}.config${err.path ? `.${err.path}` : ''}`, message: err.message.replace(/^[^:]*: /, '') });
    }
    const architecture = typeof raw.architecture === 'string' ? raw.architecture : '';
    if (issues.length) return { kind: 'commit_status', path, refused: issues };
    if (TRANSIENT.has(status))
      return {
        kind: 'commit_status',
        path,
        skipped: 'in_progress is transient: nothing owns it here, and determine will offer the pair again',
      };
    return {
      kind: 'commit_status',
      path,
      key: pairKey(repoOf, sha, config, architecture),
      state: { repo: repoOf, sha, config, architecture, status, committed_at: when.ok ? when.value : null },
    };
  };

  const metricItem = (raw: Record<string, unknown>): SourceItem => {
    const path = `benchmark_metrics[id=${String(raw.id)}]`;
    const { id: _id, config: cfg, ...row } = raw;
    // Columns the table has but the row left empty are absent from metrics.json: drop nulls.
    const doc: Record<string, unknown> = Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null));
    if (doc.timestamp !== undefined) {
      const t = instantOf(doc.timestamp, timezone);
      if (!t.ok) return { kind: 'benchmark_run', path, refused: [{ field: `${path}.timestamp`, message: t.message }] };
      doc.timestamp = t.value;
    }
    // As the push does with such rows of metrics.json: a benchmark that failed measured nothing.
    if (doc.status !== undefined && doc.status !== 'success') {
      return { kind: 'benchmark_run', path, skipped: `a failed benchmark (status ${JSON.stringify(doc.status)}): it measured nothing` };
    }
    // The push takes a literal HEAD (or no sha) from its request; an import has no request to take it from.
    if (typeof doc.commit !== 'string' || !FULL_SHA.test(doc.commit.toLowerCase())) {
      return {
        kind: 'benchmark_run',
        path,
        refused: [{ field: `${path}.commit`, message: 'must be the full sha the row was measured on' }],
      };
    }
    try {
      const prepared = prepareResults(
        { data: [doc], format: 'valkey', repo, config: cfg === null || cfg === undefined ? undefined : jsonOf(cfg) },
        { prefix: path },
      );
      const run = prepared.runs[0];
      if (!run) {
        const why = prepared.skipped[0]?.message ?? 'holds no measurement';
        return { kind: 'benchmark_run', path, skipped: why };
      }
      return { kind: 'benchmark_run', path, key: derivedUid(sourceKey, `benchmark_metrics:${String(raw.id)}`), state: runStateOf(run) };
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      // The push names the row `<path>.0.field`: there is one row here, so drop the index.
      const field = (f: string) => (f.startsWith(path) ? f.replace(`${path}.0`, path) : `${path}.${f}`);
      return { kind: 'benchmark_run', path, refused: err.issues.map((i) => ({ ...i, field: field(i.field) })) };
    }
  };

  return {
    name: 'valkey',
    sourceKey,
    options: { repo, module_repos: modules, timezone: timezone ?? null, tables },
    async count() {
      let n = 0;
      for (const t of tables) {
        const { rows } = await client.query<{ n: number }>(`select count(*)::int as n from ${client.escapeIdentifier(t)}`);
        n += rows[0]?.n ?? 0;
      }
      return n;
    },
    async *batches() {
      for (const table of tables) {
        if (table === 'benchmark_metrics') continue;
        const module = table === 'benchmark_commits' ? undefined : table.slice('benchmark_commits_'.length);
        const repoOf = module === undefined ? repo : modules[module];
        if (repoOf === undefined) {
          const { rows } = await client.query<{ n: number }>(`select count(*)::int as n from ${client.escapeIdentifier(table)}`);
          yield [
            {
              kind: 'commit_status',
              path: table,
              skipped: `module ${module}'s ${rows[0]?.n ?? 0} row(s) not imported: name its repository with --module-repos ${module}=<path>`,
            },
          ];
          continue;
        }
        for await (const rows of commitRows(client, table)) yield rows.map((r) => commitItem(r, table, repoOf));
      }
      if (tables.includes('benchmark_metrics')) {
        for await (const rows of keysetBatches(client, 'benchmark_metrics', 'id')) yield rows.map(metricItem);
      }
    },
    async close() {
      await client.end().catch(() => undefined);
    },
  };
}

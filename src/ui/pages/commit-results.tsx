import { summarize } from '../../tracking/compare-stats.ts';
import type { StoredRun } from '../../tracking/runs.ts';
import { stableJson } from '../../tracking/series-samples.ts';
import { Card, Empty, Head, Time } from '../components.tsx';
import { formatDuration, formatValue, shortUid } from '../format.ts';
import { configArch, tagText, trendHref } from './benchmark-shared.tsx';

/** The results half of a commit page: the metrics its runs measured (each linking to its trend), and the runs. */

/** Runs listed on a commit page; more are paged through GET /benchmarks/runs. */
export const RUNS_SHOWN = 200;

interface MetricRow {
  metric: string;
  config: StoredRun['config'];
  architecture: string | null;
  tags: Record<string, unknown>;
  unit: string | null;
  values: number[];
}

/** The points of every run, gathered per series (metric, config, architecture, tags). */
function metricRows(runs: StoredRun[]): MetricRow[] {
  const rows = new Map<string, MetricRow>();
  for (const r of runs) {
    for (const m of r.metrics) {
      const key = stableJson([m.name, r.config?.id ?? null, r.architecture, m.tags]);
      let row = rows.get(key);
      if (!row) {
        row = { metric: m.name, config: r.config, architecture: r.architecture, tags: m.tags, unit: m.unit, values: [] };
        rows.set(key, row);
      }
      row.values.push(m.value);
    }
  }
  return [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, row]) => row);
}

export function MetricsCard({ repo, runs }: { repo: string; runs: StoredRun[] }) {
  const rows = metricRows(runs);
  return (
    <Card title="Metrics measured" id="metrics">
      {rows.length ? (
        <table class="bench">
          <Head
            cols={[
              'Metric',
              'Series',
              ['Samples', 'num'],
              ['Median', 'num'],
              ['Min – max', 'num hide-narrow'],
              ['Spread (sd / mean)', 'num hide-narrow'],
            ]}
            actions="Trend"
          />
          <tbody>
            {rows.map((m) => {
              const s = summarize(m.values);
              return (
                <tr>
                  <td>{m.metric}</td>
                  <td class="muted">
                    {configArch(m.config, m.architecture)} · {tagText(m.tags)}
                  </td>
                  <td class="num">{s.n}</td>
                  <td class="num">{formatValue(s.median, m.unit)}</td>
                  <td class="num hide-narrow">
                    {formatValue(s.min, m.unit)} – {formatValue(s.max, m.unit)}
                  </td>
                  <td class="num hide-narrow">
                    {s.stddev === null || s.mean === 0 ? '—' : `${((100 * s.stddev) / Math.abs(s.mean)).toFixed(1)} %`}
                  </td>
                  <td>
                    <a href={trendHref({ repo, metric: m.metric, configId: m.config?.id, architecture: m.architecture, tags: m.tags })}>
                      Trend
                    </a>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : (
        <Empty title="No benchmark results for this commit">
          Push them with <code>eventix results push --file metrics.json --repo {repo} --sha &lt;sha&gt;</code> or{' '}
          <code>POST /benchmarks/results</code>.
        </Empty>
      )}
    </Card>
  );
}

export function RunsCard({ runs, more }: { runs: StoredRun[]; more: boolean }) {
  if (runs.length === 0) return null;
  return (
    <Card title={`Runs (${runs.length}${more ? '+' : ''})`} id="runs">
      <table class="bench">
        <Head
          cols={[
            'Run',
            'Config',
            ['Repeat', 'num'],
            ['Branch', 'hide-narrow'],
            'Started (UTC)',
            ['Duration', 'num hide-narrow'],
            ['Points', 'num'],
            ['Format', 'hide-narrow'],
          ]}
        />
        <tbody>
          {runs.map((r) => (
            <tr>
              <td class="mono" title={r.uid}>
                {shortUid(r.uid)}
              </td>
              <td>{configArch(r.config, r.architecture)}</td>
              <td class="num">{r.repeatIndex}</td>
              <td class="hide-narrow">{r.branch ?? <span class="muted">—</span>}</td>
              <td>
                <Time at={r.startedAt ?? r.createdAt} />
              </td>
              <td class="num hide-narrow">
                {r.startedAt && r.finishedAt ? formatDuration((r.finishedAt.getTime() - r.startedAt.getTime()) / 1000) : '—'}
              </td>
              <td class="num">{r.metrics.length}</td>
              <td class="hide-narrow">{r.format}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {more ? <p class="hint">The newest {RUNS_SHOWN} runs are shown; GET /benchmarks/runs?sha=… pages through all of them.</p> : null}
    </Card>
  );
}

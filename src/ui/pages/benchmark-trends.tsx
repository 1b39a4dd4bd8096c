import type { ConfigRecord } from '../../tracking/commits-read.ts';
import { Card, DataScript, Empty, FilterForm, Head, SelectFilter, Status, TextFilter, Time } from '../components.tsx';
import type { Viewer } from '../context.ts';
import { formatCount, formatPercent, formatPValue, formatValue } from '../format.ts';
import type { GroupRow, TrendSeries } from '../queries/benchmarks.ts';
import { AlertActions, configArch, configLabel, ShaLink, tagText, trendHref } from './benchmark-shared.tsx';

/**
 * The trends view of /ui/benchmarks: a filter form, then either the index of what there is to
 * plot, or one chart per series of the chosen metric (samples as dots, the per-commit median as
 * a line, change points and open alerts as markers), each with its change points as text.
 */

export interface TrendQuery {
  repo?: string | undefined;
  metric?: string | undefined;
  config?: string | undefined;
  architecture?: string | undefined;
  branch?: string | undefined;
  tags?: Record<string, string[]> | undefined;
}

/** This page's URL with one tag value taken out of the filter. */
function withoutTag(q: TrendQuery, name: string, value: string): string {
  const u = new URLSearchParams();
  for (const k of ['repo', 'metric', 'config', 'architecture', 'branch'] as const) if (q[k]) u.set(k, q[k] as string);
  for (const [k, vs] of Object.entries(q.tags ?? {})) for (const v of vs) if (k !== name || v !== value) u.append(`tags[${k}]`, v);
  return `/ui/benchmarks?${u}`;
}

export function TrendFilters(props: { q: TrendQuery; repos: string[]; metrics: string[]; configs: ConfigRecord[] }) {
  const { q } = props;
  const tags = Object.entries(q.tags ?? {}).flatMap(([k, vs]) => vs.map((v) => [k, v] as const));
  return (
    <FilterForm
      action="/ui/benchmarks"
      label="Choose a metric"
      submit="Show"
      primary
      reset="Reset"
      after={
        tags.length ? (
          <p class="chips">
            Tags:{' '}
            {tags.map(([k, v]) => (
              <a class="chip" href={withoutTag(q, k, v)} title="Remove this tag from the filter">
                {k}={v} ✕
              </a>
            ))}
          </p>
        ) : null
      }
    >
      <SelectFilter label="Repository" name="repo" value={q.repo} options={props.repos} any="choose…" />
      <SelectFilter label="Metric" name="metric" value={q.metric} options={props.metrics} any="choose…" />
      <SelectFilter
        label="Config"
        name="config"
        value={q.config}
        options={props.configs.map((c) => [String(c.id), configLabel(c)] as const)}
      />
      <TextFilter label="Architecture" name="architecture" value={q.architecture} size={10} />
      <TextFilter label="Branch" name="branch" value={q.branch} size={10} />
      {tags.map(([k, v]) => (
        <input type="hidden" name={`tags[${k}]`} value={v} />
      ))}
    </FilterForm>
  );
}

export function SeriesIndex({ groups }: { groups: GroupRow[] }) {
  return (
    <Card title="Series with results">
      <table class="bench">
        <Head
          cols={['Metric', 'Repository', 'Config', ['Commits', 'num'], ['Points', 'num hide-narrow'], ['Last run (UTC)', 'hide-narrow']]}
        />
        <tbody>
          {groups.map((g) => (
            <tr>
              <td>
                <a href={trendHref({ repo: g.repo, metric: g.metric, configId: g.config_id, architecture: g.architecture })}>{g.metric}</a>
                {g.unit ? <span class="muted"> ({g.unit})</span> : null}
              </td>
              <td>{g.repo}</td>
              <td>{configArch(g.config_id === null ? null : { id: g.config_id, name: g.config_name }, g.architecture)}</td>
              <td class="num">{formatCount(g.commits)}</td>
              <td class="num hide-narrow">{formatCount(g.points)}</td>
              <td class="hide-narrow">
                <Time at={g.last_run} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

export function NoResults() {
  return (
    <Empty title="No benchmark results yet">
      Push a results file (eventix, valkey <code>metrics.json</code>, github-action-benchmark or llm-profile):{' '}
      <code>eventix results push --file metrics.json --repo ../valkey --sha &lt;full sha&gt;</code>, or{' '}
      <code>POST /benchmarks/results</code> with <code>{'{"data": …, "repo", "sha"}'}</code>. A sweep pushes its results itself.
    </Empty>
  );
}

function ChangeList({ t, repo }: { t: TrendSeries; repo: string }) {
  const unit = t.series.unit;
  if (t.changePoints.length === 0) {
    return <p class="hint">No change points: the detector finds no lasting shift of at least the minimum effect in this series.</p>;
  }
  return (
    <table class="bench stack" data-testid="change-points">
      <caption class="cap">Change points</caption>
      <Head
        cols={[
          'First commit of the new level',
          ['Change', 'num'],
          'Kind',
          ['Median before → after', 'num'],
          ['Confidence (p-value)', 'num hide-narrow'],
        ]}
      />
      <tbody>
        {t.changePoints.map((cp) => (
          <tr data-testid="change-point-row" data-sha={cp.sha}>
            <td>
              <ShaLink sha={cp.sha} repo={repo} /> <span class="muted">after</span> <ShaLink sha={cp.previousSha} repo={repo} />
            </td>
            <td class="num">{formatPercent(cp.relativeChange)}</td>
            <td>
              <Status status={cp.kind} />
              <span class="muted"> {t.series.direction ? `(${t.series.direction} is better)` : '(direction unknown)'}</span>
            </td>
            <td class="num">
              {formatValue(cp.before.median, unit)} → {formatValue(cp.after.median, unit)}
            </td>
            <td class="num hide-narrow">p = {formatPValue(cp.pValue)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function AlertList({ viewer, t, repo }: { viewer: Viewer; t: TrendSeries; repo: string }) {
  if (t.alerts.length === 0) return null;
  return (
    <>
      <h3 class="sub">Open and acknowledged alerts</h3>
      <ul class="alert-list">
        {t.alerts.map((a) => (
          <li data-testid="series-alert">
            <a href={`/ui/benchmarks/alerts?series_hash=${a.seriesHash}`}>#{a.id}</a> <Status status={a.status} /> at{' '}
            <ShaLink sha={a.firstBadSha} repo={repo} /> {formatPercent(a.relativeChange)} <AlertActions viewer={viewer} alert={a} />
          </li>
        ))}
      </ul>
    </>
  );
}

function DataTable({ t, repo }: { t: TrendSeries; repo: string }) {
  const c = t.chart;
  return (
    <details>
      <summary class="more">The data: {formatCount(c.shas.length)} commits</summary>
      <table class="bench">
        <Head cols={['Commit', ['Committed (UTC)', 'hide-narrow'], ['Samples', 'num'], ['Median', 'num']]} />
        <tbody>
          {c.shas.map((sha, i) => (
            <tr>
              <td>
                <ShaLink sha={sha} repo={repo} /> <span class="muted">{c.subjects[i] ?? ''}</span>
              </td>
              <td class="hide-narrow">
                <Time at={c.at[i]} />
              </td>
              <td class="num">{c.samples[i]?.length ?? 0}</td>
              <td class="num">{formatValue(c.medians[i], t.series.unit)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

export function TrendCard({ viewer, t, index, repo }: { viewer: Viewer; t: TrendSeries; index: number; repo: string }) {
  const s = t.series;
  const id = `trend-${index}`;
  const order =
    s.order.by === 'git-first-parent'
      ? `git first-parent order of ${s.order.ref}`
      : 'committer time order (commit status, else the first run)';
  const only = trendHref({ repo, metric: s.key.metric, configId: s.key.config?.id, architecture: s.key.architecture, tags: s.key.tags });
  return (
    <Card title={`${s.key.metric} · ${tagText(s.key.tags)}`} id={`series-${index}`}>
      <p class="meta">
        {configArch(s.key.config, s.key.architecture)} · unit {s.unit ?? 'none'} ·{' '}
        {s.direction ? `${s.direction} is better (${s.directionSource ?? 'rule'})` : 'direction unknown'} · {formatCount(s.commits.length)}{' '}
        commits, {formatCount(s.samples)} samples, in {order}
        {s.excludedCommits ? ` · ${s.excludedCommits} commits off that history left out` : ''}
        {s.order.note ? ` · ${s.order.note}` : ''} · <a href={only}>only this series</a>
      </p>
      <div
        class="chart trend"
        data-chart="trend"
        data-source={id}
        role="img"
        aria-label={`Trend of ${s.key.metric} (${tagText(s.key.tags)}) over ${s.commits.length} commits, with ${t.changePoints.length} change points; the table below lists them.`}
      />
      <p class="chart-legend">
        <span class="key dots">samples</span> <span class="key line">median per commit</span> <span class="key cp">change point</span>{' '}
        <span class="key al">open alert</span> · hover for values, click a commit to open it
      </p>
      <DataScript id={id} data={t.chart} />
      <ChangeList t={t} repo={repo} />
      <AlertList viewer={viewer} t={t} repo={repo} />
      <DataTable t={t} repo={repo} />
    </Card>
  );
}

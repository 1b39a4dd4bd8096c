import type { BaselineRecord } from '../../tracking/baselines.ts';
import type { CompareResult, MetricComparison, MissingSeries, SideStats } from '../../tracking/compare.ts';
import { Card, Empty, Fields, Head, Status, TextFilter, Time } from '../components.tsx';
import { formatPercent, formatPValue, formatValue, shortUid } from '../format.ts';
import { configArch, repoName, ShaLink, shortSha, tagText } from './benchmark-shared.tsx';

/**
 * The baseline comparison of /ui/benchmarks/compare: what POST /benchmarks/compare answers, for
 * a baseline and a candidate (a commit or one run) named in the URL.
 */

export interface CompareQuery {
  baseline?: string | undefined;
  repo?: string | undefined;
  commit?: string | undefined;
  run?: string | undefined;
  /** Percent, as people write it: 5 means 5 %. */
  threshold?: number | undefined;
}

export function CompareForm({ q, baselines }: { q: CompareQuery; baselines: BaselineRecord[] }) {
  return (
    <form method="get" action="/ui/benchmarks/compare" class="filters" aria-label="Choose what to compare">
      <label>
        Baseline
        <select name="baseline" required>
          <option value="">choose…</option>
          {baselines.map((b) => (
            <option value={b.name} selected={q.baseline === b.name && (!q.repo || q.repo === b.repo)}>
              {b.name} ({repoName(b.repo)})
            </option>
          ))}
        </select>
      </label>
      {q.repo ? <input type="hidden" name="repo" value={q.repo} /> : null}
      <TextFilter label="Candidate commit" name="commit" value={q.commit} size={24} placeholder="full sha, or a ref" />
      <TextFilter label="or one run" name="run" value={q.run} size={20} placeholder="run uid" />
      <label>
        Threshold (%)
        <input
          name="threshold"
          type="number"
          min="0"
          max="1000"
          step="any"
          value={q.threshold === undefined ? '' : String(q.threshold)}
          placeholder="5"
          size={5}
        />
      </label>
      <button type="submit" class="btn primary">
        Compare
      </button>
    </form>
  );
}

export function NoBaselines() {
  return (
    <Empty title="No baselines yet">
      A baseline pins a commit (every run of it) or one run under a name, with a snapshot of each series:{' '}
      <code>eventix results baseline create release-1.2 --repo ../valkey --commit &lt;sha&gt;</code>, or{' '}
      <code>POST /benchmarks/baselines</code> with <code>{'{"repo", "name", "commit"}'}</code>.
    </Empty>
  );
}

export function BaselineSummary({ b, recent }: { b: BaselineRecord; recent: { sha: string; last: Date; runs: number }[] }) {
  const link = (sha: string) => `/ui/benchmarks/compare?${new URLSearchParams({ baseline: b.name, repo: b.repo, commit: sha })}`;
  return (
    <Card title={`Baseline ${b.name}`}>
      <Fields
        rows={[
          ['Repository', b.repo],
          ['Pins', b.runUid ? <span class="mono">run {b.runUid}</span> : <ShaLink sha={b.sha} repo={b.repo} />],
          ['Series snapshotted', String(b.series)],
          ['Created', <Time at={b.createdAt} />],
          ['Description', b.description ?? '—'],
        ]}
      />
      {recent.length ? (
        <>
          <h3 class="sub">Compare a recent commit</h3>
          <ul class="inline-list">
            {recent.map((r) => (
              <li>
                <a class="mono" href={link(r.sha)}>
                  {shortSha(r.sha)}
                </a>{' '}
                <span class="muted">({r.runs} runs)</span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </Card>
  );
}

const side = (s: SideStats, unit: string | null) => (
  <>
    {formatValue(s.mean, unit)}
    <div class="muted">
      n={s.n}
      {s.stddev !== null ? ` · sd ${formatValue(s.stddev, unit)}` : ''}
      {s.source === 'snapshot' ? ' · snapshot' : ''}
    </div>
  </>
);

function ComparisonRow({ m }: { m: MetricComparison }) {
  return (
    <tr data-testid="comparison" data-verdict={m.verdict}>
      <td>
        {m.metric}
        <div class="muted">
          {configArch(m.config, m.architecture)} · {tagText(m.tags)}
        </div>
      </td>
      <td class="num">{side(m.baseline, m.unit)}</td>
      <td class="num">{side(m.candidate, m.unit)}</td>
      <td class="num">
        <strong>{formatPercent(m.delta.relative)}</strong>
        <div class="muted">median {formatPercent(m.delta.relativeMedian)}</div>
      </td>
      <td class="num hide-narrow">
        {m.interval ? `${formatPercent(m.interval.low)} … ${formatPercent(m.interval.high)}` : <span class="muted">{m.reason ?? '—'}</span>}
      </td>
      <td class="num hide-narrow">{m.pValue === null ? '—' : formatPValue(m.pValue)}</td>
      <td>
        <Status status={m.verdict} />
        <div class="muted">±{formatPercent(m.threshold).replace(/^\+/, '')}</div>
      </td>
    </tr>
  );
}

function MissingList({ missing }: { missing: MissingSeries[] }) {
  if (missing.length === 0) return null;
  return (
    <Card title={`Series on one side only (${missing.length})`}>
      <ul>
        {missing.map((m) => (
          <li>
            {m.metric} <span class="muted">{tagText(m.tags)}</span>: no {m.missing} data (the{' '}
            {m.missing === 'baseline' ? 'candidate' : 'baseline'} has {formatValue(m.present.mean, m.unit)}, n={m.present.n})
          </li>
        ))}
      </ul>
    </Card>
  );
}

export function CompareResultView({ r }: { r: CompareResult }) {
  const c = r.counts;
  return (
    <>
      <Card title="Verdict">
        <p class="verdict" data-testid="verdict">
          <Status status={r.verdict} /> <ShaLink sha={r.candidate.sha} repo={r.repo} />
          {r.candidate.runUid ? <span class="mono"> (run {shortUid(r.candidate.runUid)})</span> : null} against{' '}
          <strong>{r.baseline.name}</strong> (<ShaLink sha={r.baseline.sha} repo={r.repo} />)
        </p>
        <p class="meta">
          {c.regression} regressions, {c.improvement} improvements, {c.no_change} without change, {c.inconclusive} inconclusive, {c.change}{' '}
          changes of unknown direction · threshold {formatPercent(r.threshold).replace(/^\+/, '')} · {Math.round(r.confidence * 1000) / 10}{' '}
          % confidence intervals (Fieller, Welch df)
        </p>
      </Card>
      <Card title="Per series">
        {r.comparisons.length ? (
          <table class="bench stack" data-testid="comparisons">
            <Head
              cols={[
                'Series',
                ['Baseline mean', 'num'],
                ['Candidate mean', 'num'],
                ['Change', 'num'],
                ['Interval', 'num hide-narrow'],
                ['p-value', 'num hide-narrow'],
                'Verdict',
              ]}
            />
            <tbody>
              {r.comparisons.map((m) => (
                <ComparisonRow m={m} />
              ))}
            </tbody>
          </table>
        ) : (
          <Empty title="No series in common">The baseline and the candidate share no (metric, config, architecture, tags).</Empty>
        )}
      </Card>
      <MissingList missing={r.missing} />
    </>
  );
}

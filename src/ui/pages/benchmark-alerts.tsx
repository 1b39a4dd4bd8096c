import { ALERT_STATUSES, type Alert } from '../../benchmarks/alerts/store.ts';
import { Card, Empty, NextPage, Status, Time } from '../components.tsx';
import type { Viewer } from '../context.ts';
import { formatCount, formatPercent, formatValue } from '../format.ts';
import { AlertActions, configLabel, ShaLink, tagText, trendHref } from './benchmark-shared.tsx';

/**
 * The alerts view of /ui/benchmarks/alerts: regression alerts, newest first, filtered in the URL
 * as GET /benchmarks/alerts filters them, with the buttons that set their status.
 */

export interface AlertQuery {
  status?: string[] | undefined;
  repo?: string | undefined;
  metric?: string | undefined;
  series_hash?: string | undefined;
}

function countHref(q: AlertQuery, status: string): string {
  const u = new URLSearchParams();
  if (q.repo) u.set('repo', q.repo);
  if (q.metric) u.set('metric', q.metric);
  if (q.series_hash) u.set('series_hash', q.series_hash);
  u.set('status', status);
  return `/ui/benchmarks/alerts?${u}`;
}

export function AlertCounts({ q, counts }: { q: AlertQuery; counts: Record<string, number> }) {
  return (
    <div class="kpis compact">
      {ALERT_STATUSES.map((s) => (
        <a class="kpi" href={countHref(q, s)} aria-current={q.status?.length === 1 && q.status[0] === s ? 'true' : undefined}>
          <div class="v">{formatCount(counts[s] ?? 0)}</div>
          <div class="l">{s.replace('_', ' ')}</div>
        </a>
      ))}
    </div>
  );
}

export function AlertFilters({ q, repos }: { q: AlertQuery; repos: string[] }) {
  const single = q.status?.length === 1 ? q.status[0] : undefined;
  return (
    <form method="get" action="/ui/benchmarks/alerts" class="filters" aria-label="Filter alerts">
      <label>
        Status
        <select name="status">
          <option value="">any</option>
          <option value="open,acknowledged" selected={q.status?.join(',') === 'open,acknowledged'}>
            open or acknowledged
          </option>
          {ALERT_STATUSES.map((s) => (
            <option value={s} selected={single === s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Repository
        <select name="repo">
          <option value="">any</option>
          {repos.map((r) => (
            <option value={r} selected={q.repo === r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <label>
        Metric
        <input name="metric" value={q.metric ?? ''} size={14} placeholder="any" />
      </label>
      {q.series_hash ? <input type="hidden" name="series_hash" value={q.series_hash} /> : null}
      <button type="submit" class="btn primary">
        Apply
      </button>
      <a href="/ui/benchmarks/alerts">Reset</a>
      {q.series_hash ? <span class="muted">one series: {q.series_hash.slice(0, 12)}…</span> : null}
    </form>
  );
}

function AlertRow({ viewer, a }: { viewer: Viewer; a: Alert }) {
  return (
    <tr data-testid="alert-row" data-id={String(a.id)}>
      <td>
        <span class="num">#{a.id}</span>
        <br />
        <Time at={a.createdAt} />
      </td>
      <td>
        <Status status={a.status} />
        {a.note ? <div class="muted note">{a.note}</div> : null}
      </td>
      <td>
        <a href={trendHref({ repo: a.repo, metric: a.metric, configId: a.config?.id, architecture: a.architecture, tags: a.tags })}>
          {a.metric}
        </a>{' '}
        <span class="muted">{tagText(a.tags)}</span>
        <div class="muted">
          <span title={a.repo}>{a.repo.split('/').filter(Boolean).at(-1) ?? a.repo}</span> · {configLabel(a.config)}
          {a.architecture ? ` · ${a.architecture}` : ''}
        </div>
      </td>
      <td class="num">
        <strong>{formatPercent(a.relativeChange)}</strong>
        <div class="muted">
          {formatValue(a.before.median, a.unit)} → {formatValue(a.after.median, a.unit)}
        </div>
      </td>
      <td>
        <ShaLink sha={a.lastGoodSha} repo={a.repo} /> → <ShaLink sha={a.firstBadSha} repo={a.repo} />
        {a.culpritSha ? (
          <div>
            culprit <ShaLink sha={a.culpritSha} repo={a.repo} />
          </div>
        ) : null}
      </td>
      <td class="num hide-narrow">{a.pValue < 0.0001 ? a.pValue.toExponential(1) : a.pValue.toFixed(4)}</td>
      <td>
        <AlertActions viewer={viewer} alert={a} />
      </td>
    </tr>
  );
}

export function AlertTable(props: { viewer: Viewer; alerts: Alert[]; nextCursor: string | null; filtered: boolean }) {
  return (
    <Card title="Regression alerts">
      {props.alerts.length ? (
        <table class="bench stack" data-testid="alerts">
          <thead>
            <tr>
              <th scope="col">Alert, opened (UTC)</th>
              <th scope="col">Status</th>
              <th scope="col">Series</th>
              <th scope="col" class="num">
                Change (median)
              </th>
              <th scope="col">Last good → first bad</th>
              <th scope="col" class="num hide-narrow">
                p-value
              </th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.alerts.map((a) => (
              <AlertRow viewer={props.viewer} a={a} />
            ))}
          </tbody>
        </table>
      ) : props.filtered ? (
        <Empty title="No alerts match these filters">
          <a href="/ui/benchmarks/alerts">Show every alert</a>
        </Empty>
      ) : (
        <Empty title="No regression alerts">
          Alerts open when a pushed result shows a lasting regression: <code>eventix start</code> or <code>eventix worker</code> evaluates
          each series after a push (<code>eventix results evaluate</code> does it now). Results arrive with{' '}
          <code>eventix results push</code> or <code>POST /benchmarks/results</code>.
        </Empty>
      )}
      <NextPage viewer={props.viewer} cursor={props.nextCursor} />
      <p class="hint">
        Acknowledge: someone is on it. False positive: not a real change; re-evaluation never reopens it for the same change. Both are PATCH
        /benchmarks/alerts/&#123;id&#125; and need a submit token.
      </p>
    </Card>
  );
}

import { ALERT_STATUSES, type Alert } from '../../tracking/alerts/store.ts';
import { Card, Empty, FilterForm, Head, Kpi, NextPage, NoMatch, SelectFilter, Status, TextFilter, Time } from '../components.tsx';
import type { Viewer } from '../context.ts';
import { formatCount, formatPercent, formatPValue, formatValue } from '../format.ts';
import { AlertActions, AlertSeries, configArch, repoName, ShaLink } from './benchmark-shared.tsx';

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
        <Kpi
          label={s.replace('_', ' ')}
          value={formatCount(counts[s] ?? 0)}
          href={countHref(q, s)}
          current={q.status?.length === 1 && q.status[0] === s}
        />
      ))}
    </div>
  );
}

export function AlertFilters({ q, repos }: { q: AlertQuery; repos: string[] }) {
  return (
    <FilterForm
      action="/ui/benchmarks/alerts"
      label="Filter alerts"
      submit="Apply"
      primary
      reset="Reset"
      after={q.series_hash ? <span class="muted">one series: {q.series_hash.slice(0, 12)}…</span> : null}
    >
      <SelectFilter
        label="Status"
        name="status"
        value={q.status?.join(',')}
        options={[['open,acknowledged', 'open or acknowledged'], ...ALERT_STATUSES]}
      />
      <SelectFilter label="Repository" name="repo" value={q.repo} options={repos} />
      <TextFilter label="Metric" name="metric" value={q.metric} size={14} />
      {q.series_hash ? <input type="hidden" name="series_hash" value={q.series_hash} /> : null}
    </FilterForm>
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
        <AlertSeries a={a} />
        <div class="muted">
          <span title={a.repo}>{repoName(a.repo)}</span> · {configArch(a.config, a.architecture)}
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
      <td class="num hide-narrow">{formatPValue(a.pValue)}</td>
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
          <Head
            cols={[
              'Alert, opened (UTC)',
              'Status',
              'Series',
              ['Change (median)', 'num'],
              'Last good → first bad',
              ['p-value', 'num hide-narrow'],
            ]}
            actions="Actions"
          />
          <tbody>
            {props.alerts.map((a) => (
              <AlertRow viewer={props.viewer} a={a} />
            ))}
          </tbody>
        </table>
      ) : props.filtered ? (
        <NoMatch what="alerts" href="/ui/benchmarks/alerts" />
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

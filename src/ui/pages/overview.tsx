import { Hono } from 'hono';
import type { Child } from 'hono/jsx';
import { rollupIntervalSeconds } from '../../queue/rollup.ts';
import { NAME_PATTERN } from '../../validation/names.ts';
import { Card, Count, DataScript, Empty, FilterForm, Head, Kpi, TextFilter, Time } from '../components.tsx';
import type { UiDeps, UiEnv } from '../context.ts';
import { formatCount, formatDuration, formatRelative, formatUtc } from '../format.ts';
import { Layout } from '../layout.tsx';
import { LIVE_FAILED_CAP, loadOverview, type NamespaceRow, type Overview } from '../queries/overview.ts';
import { SharedReads } from '../queries/overview-cache.ts';
import { checked, pageErrors, queryText } from './input-errors.tsx';
import { FailureCard, LeaseCard, ScheduleCard, WorkerCard } from './overview-cards.tsx';

/**
 * /ui: the state of the queue at a glance, refreshed every 5 s in place. Live counts (waiting,
 * running, retrying, failed) come from the table through its partial indexes; done counts and
 * the throughput chart from the rollup (src/queue/rollup.ts), whose age the page states. Two
 * statements per read, whatever the size of the table: see src/ui/queries/overview.ts. Live
 * refreshes of many tabs share reads (overview-cache.ts). `?namespace=` narrows every part to
 * one namespace.
 */

const LIVE_MS = 5000;
/** A rollup older than this many intervals means no process is refreshing it: say so. */
const STALE_INTERVALS = 4;

const tasksHref = (namespace: string | undefined, status: string) => {
  const q = new URLSearchParams();
  if (namespace) q.set('namespace', namespace);
  q.set('status', status);
  return `/ui/tasks?${q}`;
};

function CountLink({ n, namespace, status, label }: { n: number | null; namespace?: string; status: string; label: string }) {
  if (n === null) return <span class="muted">—</span>;
  if (n === 0) return <span class="zero">0</span>;
  return (
    <a href={tasksHref(namespace, status)} aria-label={`${formatCount(n)} ${label} tasks${namespace ? ` in ${namespace}` : ''}`}>
      {formatCount(n)}
    </a>
  );
}

/** The failed count, live when small; above LIVE_FAILED_CAP the rollup's (see the query module). */
function FailedLink({ r, namespace }: { r: Omit<NamespaceRow, 'namespace'>; namespace?: string }) {
  if (r.failedSource === 'live') return <CountLink n={r.failed} namespace={namespace} status="error" label="failed" />;
  const note =
    r.failedSource === 'rollup'
      ? `More than ${formatCount(LIVE_FAILED_CAP)} failed: counted by the background rollup, not live`
      : `At least ${formatCount(LIVE_FAILED_CAP)} failed: the background rollup has not counted them yet`;
  return (
    <a
      href={tasksHref(namespace, 'error')}
      title={note}
      aria-label={`${note}: ${formatCount(r.failed)}${namespace ? ` in ${namespace}` : ''}`}
    >
      {formatCount(r.failed)}
      {r.failedSource === 'capped' ? '+' : '*'}
    </a>
  );
}

function RollupAge({ o }: { o: Overview }) {
  const interval = rollupIntervalSeconds(o.rollup?.durationMs ?? null);
  const every = `every ${formatDuration(interval)}`;
  if (!o.rollup) {
    return (
      <p class="rollup-age" data-testid="rollup-age">
        Done counts and throughput: <strong>not computed yet</strong>. A running <code>eventix start</code> or <code>eventix api</code>{' '}
        counts them in the background {every}.
      </p>
    );
  }
  const ageSeconds = (o.at.getTime() - o.rollup.refreshedAt.getTime()) / 1000;
  const stale = ageSeconds > STALE_INTERVALS * interval;
  return (
    <p class={stale ? 'rollup-age stale' : 'rollup-age'} data-testid="rollup-age">
      Done counts and throughput as of <strong>{ageSeconds < 1 ? 'just now' : formatRelative(o.rollup.refreshedAt, o.at)}</strong> (
      <Time at={o.rollup.refreshedAt} now={o.at} />
      ), recounted in the background {every}
      {o.rollup.durationMs !== null ? `; the last count took ${formatDuration(o.rollup.durationMs / 1000)}` : ''}.
      {stale ? ' No process seems to be refreshing them: is an eventix start or eventix api running?' : ''} Other counts are live
      {o.totals.failedSource === 'live'
        ? ''
        : `, except failed counts above ${formatCount(LIVE_FAILED_CAP)}: those come from the rollup too (marked *; + until it has run)`}
      .
    </p>
  );
}

function Kpis({ o, namespace }: { o: Overview; namespace: string | undefined }) {
  const t = o.totals;
  const kpi = (label: string, value: Child, testId: string) => <Kpi label={label} value={value} testId={testId} />;
  return (
    <div class="kpis">
      {kpi('waiting tasks', <CountLink n={t.waiting} namespace={namespace} status="scheduled" label="waiting" />, 'kpi-waiting')}
      {kpi('running tasks', <CountLink n={t.running} namespace={namespace} status="processing" label="running" />, 'kpi-running')}
      {kpi('retrying tasks', <CountLink n={t.retrying} namespace={namespace} status="retry" label="retrying" />, 'kpi-retrying')}
      {kpi('failed tasks', <FailedLink r={t} namespace={namespace} />, 'kpi-failed')}
      {kpi('done tasks (rollup)', <CountLink n={t.done} namespace={namespace} status="done" label="done" />, 'kpi-done')}
      {kpi('oldest waiting, since due', t.oldestWaitingAgeSeconds === null ? '—' : formatDuration(t.oldestWaitingAgeSeconds), 'kpi-oldest')}
      {kpi(
        o.quietWorkerCount ? `live workers (${formatCount(o.quietWorkerCount)} gone quiet)` : 'live workers',
        <Count n={o.workerCount - o.quietWorkerCount} />,
        'kpi-workers',
      )}
    </div>
  );
}

function NamespaceTable({ o, origin }: { o: Overview; origin: string }) {
  if (o.namespaces.length === 0) {
    return (
      <Empty title="No tasks yet.">
        <p>Submit one and it appears here within {LIVE_MS / 1000} s:</p>
        <pre class="json">{`curl -X POST ${origin}/tasks -H 'content-type: application/json' \\\n  -d '{"task": "send_email", "args": ["ada@example.com"]}'`}</pre>
      </Empty>
    );
  }
  const row = (r: Omit<NamespaceRow, 'namespace'>, namespace: string | undefined) => (
    <>
      <td class="num">
        <CountLink n={r.waiting} namespace={namespace} status="scheduled" label="waiting" />
      </td>
      <td class="num">
        <CountLink n={r.running} namespace={namespace} status="processing" label="running" />
      </td>
      <td class="num">
        <CountLink n={r.retrying} namespace={namespace} status="retry" label="retrying" />
      </td>
      <td class="num">
        <FailedLink r={r} namespace={namespace} />
      </td>
      <td class="num">
        <CountLink n={r.done} namespace={namespace} status="done" label="done" />
      </td>
      <td class="num hide-narrow">{r.oldestWaitingAgeSeconds === null ? '—' : formatDuration(r.oldestWaitingAgeSeconds)}</td>
    </>
  );
  return (
    <table class="ns-table" data-testid="namespaces">
      <caption class="sr-only">Tasks per namespace and status</caption>
      <Head
        cols={[
          'Namespace',
          ['Waiting', 'num'],
          ['Running', 'num'],
          ['Retrying', 'num'],
          ['Failed', 'num'],
          ['Done', 'num'],
          ['Oldest waiting', 'num hide-narrow'],
        ]}
      />
      <tbody>
        {o.namespaces.map((r) => (
          <tr data-namespace={r.namespace}>
            <th scope="row">
              <a href={`/ui?namespace=${encodeURIComponent(r.namespace)}`} title={`Overview of ${r.namespace} only`}>
                {r.namespace}
              </a>
            </th>
            {row(r, r.namespace)}
          </tr>
        ))}
      </tbody>
      {o.namespaces.length > 1 ? (
        <tfoot>
          <tr>
            <th scope="row">All</th>
            {row(o.totals, undefined)}
          </tr>
        </tfoot>
      ) : null}
    </table>
  );
}

function Throughput({ o }: { o: Overview }) {
  const t = o.throughput;
  if (t.minutes.length === 0) {
    return (
      <Empty title="No throughput yet: the rollup has not run.">It counts completed and failed tasks per minute in the background.</Empty>
    );
  }
  const done = t.done.reduce((a, b) => a + b, 0);
  const failed = t.failed.reduce((a, b) => a + b, 0);
  const peak = Math.max(...t.done);
  const peakAt = t.minutes[t.done.indexOf(peak)];
  const from = formatUtc(new Date((t.minutes[0] ?? 0) * 1000)).slice(11, 16);
  const to = formatUtc(new Date(((t.minutes.at(-1) ?? 0) + 60) * 1000)).slice(11, 16);
  const summary =
    `Last hour (${from}–${to} UTC): ${formatCount(done)} tasks completed, ${formatCount(failed)} failed` +
    (peak > 0 && peakAt !== undefined
      ? `; busiest minute ${formatUtc(new Date(peakAt * 1000)).slice(11, 16)} UTC with ${formatCount(peak)} completed.`
      : '.');
  return (
    <>
      <p class="chart-summary" data-testid="throughput-summary">
        {summary}
      </p>
      <div
        class="chart"
        data-chart="throughput"
        data-source="throughput-data"
        role="img"
        aria-label={`Chart of tasks per minute. ${summary}`}
      />
      <DataScript id="throughput-data" data={t} />
      <p class="hint">
        Per minute of finishing, in UTC. Tasks submitted with <code>store_result: false</code> leave no row and are not counted. The newest
        minute is still in progress.
      </p>
    </>
  );
}

export function overviewPages(deps: UiDeps) {
  // Half the refresh period: each tab's data is at most that much older than its refresh.
  const reads = new SharedReads<Overview>(LIVE_MS / 2);
  return new Hono<UiEnv>().onError(pageErrors('overview', { href: '/ui', label: 'Back to the overview' })).get('/', async (c) => {
    const started = performance.now();
    const namespace = checked('namespace', queryText(c.req.query('namespace')), NAME_PATTERN, 'must be a namespace name');
    const live = c.req.header('x-eventix-live') === '1';
    const { value: o, ageMs } = await reads.get(namespace ?? '', live, () => loadOverview(deps.database.pool, { namespace }));
    const origin = new URL(c.req.url).origin;
    const html = await (
      <Layout
        title={namespace ? `Overview: ${namespace}` : 'Overview'}
        section="overview"
        viewer={c.get('viewer')}
        liveMs={LIVE_MS}
        charts
        notice={c.req.query('notice')}
        error={c.req.query('error')}
      >
        <FilterForm
          action="/ui"
          label="Show one namespace"
          submit="Show"
          reset={Boolean(namespace) && 'All namespaces'}
          after={
            <span class="muted as-of">
              Database time <Time at={o.at} now={o.at} />
            </span>
          }
        >
          <TextFilter label="Namespace" name="namespace" value={namespace} size={16} placeholder="all" />
        </FilterForm>
        <Kpis o={o} namespace={namespace} />
        <RollupAge o={o} />
        <Card title="Tasks by namespace" id="ns">
          <NamespaceTable o={o} origin={origin} />
        </Card>
        <Card title="Throughput: completed and failed tasks per minute, last hour" id="throughput">
          <Throughput o={o} />
        </Card>
        <div class="grid overview-grid">
          <WorkerCard o={o} />
          <LeaseCard o={o} />
          <ScheduleCard o={o} />
          <FailureCard o={o} namespace={namespace} />
        </div>
      </Layout>
    ).toString();
    const db = o.timings.depth + o.timings.overview;
    const total = `total;dur=${(performance.now() - started).toFixed(1)}`;
    c.header(
      'server-timing',
      ageMs === undefined
        ? `db;dur=${db.toFixed(1)};desc="2 statements", depth;dur=${o.timings.depth.toFixed(1)}, overview;dur=${o.timings.overview.toFixed(1)}, ${total}`
        : `db;dur=0.0;desc="shared read", shared;dur=${ageMs.toFixed(1)};desc="age of the shared read", ${total}`,
    );
    return c.html(html);
  });
}

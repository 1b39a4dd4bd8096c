import type { Handler } from 'hono';
import { z } from 'zod';
import { EventixError, ValidationError } from '../../errors.ts';
import type { Alert } from '../../tracking/alerts/store.ts';
import { type CommitRecord, queryCommits } from '../../tracking/commits-read.ts';
import { repo as repoSchema } from '../../tracking/formats/index.ts';
import { listRuns } from '../../tracking/runs.ts';
import { flashOf } from '../actions.tsx';
import { Card, Fields, Head, JsonBlock, Status, Time } from '../components.tsx';
import type { UiDeps, UiEnv, Viewer } from '../context.ts';
import { formatPercent, shortUid } from '../format.ts';
import { Layout } from '../layout.tsx';
import { alertsAtCommit, commitInfo, findCommits } from '../queries/commits.ts';
import { AlertActions, AlertSeries, commitHref, configArch, RequeueButton, readUiQuery } from './benchmark-shared.tsx';
import { MetricsCard, RUNS_SHOWN, RunsCard } from './commit-results.tsx';

/**
 * /ui/commits/<sha>: one commit: its pairs (with errors and re-queue), the metrics its runs
 * measured (each linking to its trend chart), the runs themselves, and the alerts that name it.
 * A prefix is resolved over commit status and the results store; an ambiguous one lists the matches.
 */

class CommitNotFound extends EventixError {
  constructor(sha: string) {
    super('CommitNotFound', `No commit ${sha} in commit status or in the benchmark results.`, { sha });
  }
}

function PairsCard({ viewer, pairs }: { viewer: Viewer; pairs: CommitRecord[] }) {
  return (
    <Card title="Pairs (commit × config)" id="pairs">
      {pairs.length ? (
        <table class="bench stack">
          <Head
            cols={['Config', 'Status', ['Attempts', 'num'], 'Error', ['Owner task', 'hide-narrow'], ['Updated (UTC)', 'hide-narrow']]}
            actions="Actions"
          />
          <tbody>
            {pairs.map((p) => (
              <tr data-testid="pair">
                <td>
                  <details>
                    <summary class="more">{configArch({ id: p.config_id }, p.architecture)}</summary>
                    <JsonBlock value={p.config} label={`config ${p.config_hash}`} />
                  </details>
                </td>
                <td>
                  <Status status={p.status} />
                </td>
                <td class="num">{p.attempts}</td>
                <td class="error-text">{p.error ?? <span class="muted">—</span>}</td>
                <td class="hide-narrow">
                  {p.task_uid ? (
                    <a class="mono" href={`/ui/tasks/${p.task_uid}`}>
                      {shortUid(p.task_uid)}
                    </a>
                  ) : (
                    <span class="muted">none</span>
                  )}
                </td>
                <td class="hide-narrow">
                  <Time at={p.updated_at} />
                </td>
                <td>{p.status === 'failed' ? <RequeueButton viewer={viewer} pair={p} /> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="hint">
          Not tracked in commit status: its results were pushed directly. A sweep, or <code>eventix commits mark</code>, records a status
          per config.
        </p>
      )}
    </Card>
  );
}

function AlertsCard({ viewer, sha, alerts }: { viewer: Viewer; sha: string; alerts: Alert[] }) {
  if (alerts.length === 0) return null;
  return (
    <Card title="Alerts naming this commit" id="alerts">
      <table class="bench">
        <Head cols={['Alert', 'Here', 'Series', ['Change', 'num'], 'Status']} actions="Actions" />
        <tbody>
          {alerts.map((a) => (
            <tr>
              <td>
                <a href={`/ui/benchmarks/alerts?series_hash=${a.seriesHash}&status=open,acknowledged,false_positive,resolved`}>#{a.id}</a>
              </td>
              <td>{a.firstBadSha === sha ? 'first bad commit' : a.culpritSha === sha ? 'culprit (bisected)' : 'last good commit'}</td>
              <td>
                <AlertSeries a={a} />
              </td>
              <td class="num">{formatPercent(a.relativeChange)}</td>
              <td>
                <Status status={a.status} />
              </td>
              <td>
                <AlertActions viewer={viewer} alert={a} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

export function commitDetailPage(deps: UiDeps): Handler<UiEnv> {
  const pool = deps.database.pool;
  return async (c) => {
    const viewer = c.get('viewer');
    const raw = c.req.param('sha') ?? '';
    const prefix = raw.toLowerCase();
    if (!/^[0-9a-f]{4,64}$/.test(prefix)) {
      throw new ValidationError([{ field: 'sha', message: 'must be 4 to 64 hex digits (a sha or its prefix)' }]);
    }
    const { repo } = readUiQuery(c, z.strictObject({ repo: repoSchema.optional() }));
    const found = await findCommits(pool, prefix, repo);
    if (found.length === 0) throw new CommitNotFound(prefix);
    if (found.length > 1) {
      return c.html(
        <Layout title={`Commits matching ${prefix}`} section="commits" viewer={viewer}>
          <Card title="Which one?">
            <ul>
              {found.map((f) => (
                <li>
                  <a class="mono" href={commitHref(f.sha, f.repo)}>
                    {f.sha}
                  </a>{' '}
                  <span class="muted">{f.repo}</span>
                </li>
              ))}
            </ul>
          </Card>
        </Layout>,
      );
    }
    const { sha, repo: commitRepo } = found[0] as { repo: string; sha: string };
    const [pairs, runs, alerts, git] = await Promise.all([
      queryCommits(pool, { repo: commitRepo, sha, limit: 500 }),
      listRuns(pool, { repo: commitRepo, sha, limit: RUNS_SHOWN }),
      alertsAtCommit(pool, sha, commitRepo),
      commitInfo(commitRepo, deps.repos, [sha]),
    ]);
    const exact = pairs.commits.filter((p) => p.sha === sha);
    const committedAt = exact.find((p) => p.committed_at)?.committed_at ?? git.get(sha)?.committedAt;
    const subject = git.get(sha)?.subject;
    return c.html(
      <Layout title={`Commit ${sha.slice(0, 10)}`} section="commits" viewer={viewer} {...flashOf(c)}>
        <Card title={subject ?? 'Commit'}>
          <Fields
            rows={[
              ['Sha', <span class="mono">{sha}</span>],
              ['Repository', commitRepo],
              [
                'Committed',
                committedAt ? <Time at={committedAt} /> : <span class="muted">unknown (not tracked, and not in a local clone)</span>,
              ],
              [
                'Pairs',
                exact.length ? (
                  <a href={`/ui/commits?repo=${encodeURIComponent(commitRepo)}&sha=${sha}`}>{exact.length} in the matrix</a>
                ) : (
                  <span class="muted">none: not tracked in commit status</span>
                ),
              ],
            ]}
          />
        </Card>
        <PairsCard viewer={viewer} pairs={exact} />
        <MetricsCard repo={commitRepo} runs={runs.runs} />
        <AlertsCard viewer={viewer} sha={sha} alerts={alerts} />
        <RunsCard runs={runs.runs} more={runs.nextCursor !== null} />
      </Layout>,
    );
  };
}

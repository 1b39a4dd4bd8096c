import { COMMIT_STATUSES } from '../../tracking/commits.ts';
import type { ConfigRecord } from '../../tracking/commits-read.ts';
import { Card, FilterForm, Head, SelectFilter, Status, TextFilter, Time } from '../components.tsx';
import type { Viewer } from '../context.ts';
import type { MatrixPair, MatrixRow } from '../queries/commits.ts';
import { configArch, configLabel, RequeueButton, repoName, ShaLink } from './benchmark-shared.tsx';

/** The pieces of the commits matrix (/ui/commits): its filter form, the commit × config table, and the failed pairs below it. */

/** A column: one config under one architecture. */
interface Column {
  key: string;
  configId: number;
  architecture: string;
  config: ConfigRecord | undefined;
}

const columnKey = (configId: number, architecture: string) => `${configId}\u0000${architecture}`;

export function columnsOf(rows: MatrixRow[], configs: Map<number, ConfigRecord>): Column[] {
  const seen = new Map<string, Column>();
  for (const r of rows) {
    for (const p of r.pairs) {
      const key = columnKey(p.config_id, p.architecture);
      if (!seen.has(key)) seen.set(key, { key, configId: p.config_id, architecture: p.architecture, config: configs.get(p.config_id) });
    }
  }
  return [...seen.values()].sort((a, b) => a.configId - b.configId || (a.architecture < b.architecture ? -1 : 1));
}

const configJson = (c: ConfigRecord | undefined) => (c ? JSON.stringify(c.config) : '');

/** A config in a few words for a column header: its scalar settings (`clients=50 pipeline=16`), the rest by shape. */
export function configSummary(config: unknown, max = 48): string {
  const word = (k: string, v: unknown) =>
    v === null || typeof v !== 'object' ? `${k}=${String(v)}` : Array.isArray(v) ? `${k}[${v.length}]` : `${k}={…}`;
  let text: string;
  if (Array.isArray(config)) text = config.length === 1 ? configSummary(config[0], max) : `${config.length} configs`;
  else if (config && typeof config === 'object')
    text = Object.entries(config)
      .map(([k, v]) => word(k, v))
      .join(' ');
  else text = String(config);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text || '{}';
}

function Cell({ pair }: { pair: MatrixPair | undefined }) {
  if (!pair) {
    return (
      <td class="waiting" title="waiting: never tried, or returned to waiting">
        <span class="muted">—</span>
      </td>
    );
  }
  const failed = pair.status === 'failed';
  return (
    <td title={failed ? `failed ${pair.attempts}×: ${pair.error ?? 'no error recorded'}` : `${pair.status}, updated ${pair.updated_at}`}>
      <Status status={pair.status} />
      {failed ? <span class="attempts">×{pair.attempts}</span> : null}
    </td>
  );
}

export function Filters(props: {
  q: {
    repo?: string | undefined;
    sha?: string | undefined;
    config_id?: number | undefined;
    status?: string[] | undefined;
    architecture?: string | undefined;
  };
  repos: string[];
  architectures: string[];
  configs: ConfigRecord[];
}) {
  const { q } = props;
  return (
    <FilterForm action="/ui/commits" label="Filter commits" submit="Apply" primary reset="Reset">
      <SelectFilter label="Repository" name="repo" value={q.repo} options={props.repos} />
      <TextFilter label="Sha or prefix" name="sha" value={q.sha} size={12} pattern="[0-9a-f]{4,64}" placeholder="4+ hex digits" />
      <SelectFilter
        label="Config"
        name="config_id"
        value={q.config_id === undefined ? undefined : String(q.config_id)}
        options={props.configs.map((c) => [String(c.id), configLabel(c)] as const)}
      />
      <SelectFilter
        label="Has a pair that is"
        name="status"
        value={q.status?.length === 1 ? q.status[0] : undefined}
        options={COMMIT_STATUSES}
        any="any status"
      />
      {props.architectures.length ? (
        <SelectFilter label="Architecture" name="architecture" value={q.architecture} options={props.architectures} />
      ) : null}
    </FilterForm>
  );
}

export function Matrix(props: { rows: MatrixRow[]; columns: Column[]; subjects: Map<string, string>; showRepo: boolean }) {
  return (
    <table
      class="matrix bench"
      data-testid="commit-matrix"
      aria-label="Status of each commit under each config; rows are commits, newest first"
    >
      <thead>
        <tr>
          <th scope="col" class="sha">
            Commit
          </th>
          <th scope="col" class="sha hide-narrow">
            Committed (UTC)
          </th>
          {props.columns.map((col) => (
            <th scope="col" title={configJson(col.config)}>
              {configLabel(col.config ?? { id: col.configId })}
              {col.architecture ? <span class="muted"> · {col.architecture}</span> : null}
              {col.config ? <span class="config-summary">{configSummary(col.config.config)}</span> : null}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.rows.map((r) => {
          const byColumn = new Map(r.pairs.map((p) => [columnKey(p.config_id, p.architecture), p]));
          const subject = props.subjects.get(`${r.repo}\u0000${r.sha}`);
          return (
            <tr data-sha={r.sha}>
              <th scope="row" class="sha">
                <ShaLink sha={r.sha} repo={r.repo} />
                {subject ? <span class="subject">{subject}</span> : null}
                {props.showRepo ? (
                  <span class="muted repo" title={r.repo}>
                    {repoName(r.repo)}
                  </span>
                ) : null}
              </th>
              <td class="sha hide-narrow">
                <Time at={r.committedAt} />
              </td>
              {props.columns.map((col) => (
                <Cell pair={byColumn.get(col.key)} />
              ))}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function FailedPairs(props: { viewer: Viewer; rows: MatrixRow[]; configs: Map<number, ConfigRecord> }) {
  const failed = props.rows.flatMap((r) => r.pairs.filter((p) => p.status === 'failed').map((p) => ({ r, p })));
  if (failed.length === 0) return null;
  return (
    <Card title={`Failed pairs on this page (${failed.length})`} id="failed">
      <table class="bench stack">
        <Head cols={['Commit', 'Config', ['Attempts', 'num'], 'Error', ['Failed at (UTC)', 'hide-narrow']]} actions="Actions" />
        <tbody>
          {failed.map(({ r, p }) => (
            <tr data-testid="failed-pair">
              <td>
                <ShaLink sha={r.sha} repo={r.repo} />
              </td>
              <td>{configArch(props.configs.get(p.config_id) ?? { id: p.config_id }, p.architecture)}</td>
              <td class="num">{p.attempts}</td>
              <td class="error-text">{p.error ?? <span class="muted">no error recorded</span>}</td>
              <td class="hide-narrow">
                <Time at={p.updated_at} />
              </td>
              <td>
                <RequeueButton viewer={props.viewer} pair={{ ...p, repo: r.repo, sha: r.sha }} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

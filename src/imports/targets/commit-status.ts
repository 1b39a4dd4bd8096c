import { canonicalize } from '../../tracking/canonical.ts';
import { upsertConfig } from '../../tracking/configs.ts';
import { readStates, tsSql } from '../state.ts';
import type { RowState, Target } from '../types.ts';

/**
 * Imported commit-status pairs (seed 000's benchmark_commits rows), keyed by
 * `repo|sha|config hash|architecture`. The state is what the legacy row says: status, the
 * commit's time and the config. Eventix's own bookkeeping (attempts, owner task) is left alone.
 */
export const pairKey = (repo: string, sha: string, config: unknown, architecture: string) =>
  [repo, sha, canonicalize(config).hash, architecture].join('|');

const CURRENT_SQL = `
select s.repo || '|' || s.sha || '|' || c.hash || '|' || s.architecture as key,
  jsonb_build_object('repo', s.repo, 'sha', s.sha, 'config', c.config, 'architecture', s.architecture,
    'status', s.status, 'committed_at', ${tsSql('s.committed_at')}) as state
from commit_status s join benchmark_configs c on c.id = s.config_id
join unnest($1::text[]) as k(key) on k.key = s.repo || '|' || s.sha || '|' || c.hash || '|' || s.architecture
for update of s`;

const INSERT_SQL = `
insert into commit_status (repo, sha, config_id, architecture, status, committed_at)
select x.repo, x.sha, x.config_id, x.architecture, x.status, x.committed_at
from jsonb_to_recordset($1::jsonb) as x(repo text, sha text, config_id bigint, architecture text, status text, committed_at timestamptz)`;

const UPDATE_SQL = `
update commit_status s set status = x.status, committed_at = x.committed_at, updated_at = now()
from jsonb_to_recordset($1::jsonb) as x(repo text, sha text, config_id bigint, architecture text, status text, committed_at timestamptz)
where s.repo = x.repo and s.sha = x.sha and s.config_id = x.config_id and s.architecture = x.architecture`;

async function withConfigIds(client: Parameters<Target['insert']>[0], rows: readonly { state: RowState }[]) {
  const out: Record<string, unknown>[] = [];
  const ids = new Map<string, number>();
  for (const { state } of rows) {
    const hash = canonicalize(state.config).hash;
    let id = ids.get(hash);
    if (id === undefined) {
      id = (await upsertConfig(client, state.config)).id;
      ids.set(hash, id);
    }
    out.push({ ...state, config_id: id });
  }
  return out;
}

export const commitStatusTarget: Target = {
  kind: 'commit_status',
  updatable: true,
  current: (client, keys) => readStates(client, CURRENT_SQL, keys),
  async insert(client, rows) {
    await client.query(INSERT_SQL, [JSON.stringify(await withConfigIds(client, rows))]);
  },
  async update(client, rows) {
    await client.query(UPDATE_SQL, [JSON.stringify(await withConfigIds(client, rows))]);
  },
  async remove(client, keys) {
    await client.query(
      `delete from commit_status s using benchmark_configs c
       where c.id = s.config_id and s.repo || '|' || s.sha || '|' || c.hash || '|' || s.architecture = any($1::text[])`,
      [keys],
    );
  },
};

import { type Executor, run } from '../db/executor.ts';
import { canonicalConfig } from './canonical.ts';

/**
 * Insert the config if its canonical form (src/tracking/canonical.ts: keys sorted at every
 * level, -0 → 0, numbers as ECMAScript writes them) is new, and return its row either way.
 *
 * The common case, a config already stored, only reads: an upsert (ON CONFLICT DO UPDATE) locked
 * the shared row until the push committed, so concurrent pushes of one config ran one at a time
 * (measured by bench/store-latency.ts: 75 % of five clients' time waiting on that lock). A row
 * inserted by another session after this statement's snapshot yields nothing, and the next
 * attempt reads it. A name fills an empty one and never replaces one; only that rare write locks.
 * A config that cannot be canonical (NaN, unsafe integers, NUL) is a ValidationError on `field`.
 */
const FIND_OR_INSERT_CONFIG_SQL = `
with found as (select id, hash, name from benchmark_configs where hash = $1),
inserted as (
  insert into benchmark_configs (hash, canonical, config, name)
  select $1, $2::text, $2::jsonb, $3 where not exists (select 1 from found)
  on conflict (hash) do nothing
  returning id, hash, name
)
select id, hash, name from found union all select id, hash, name from inserted
`;

const NAME_CONFIG_SQL = 'update benchmark_configs set name = $2 where id = $1 and name is null';

export async function upsertConfig(
  ex: Executor,
  config: unknown,
  name?: string | null,
  field = 'config',
): Promise<{ id: number; hash: string }> {
  const { canonical, hash } = canonicalConfig(config, field);
  for (let attempt = 0; attempt < 5; attempt++) {
    const [row] = await run<{ id: number; hash: string; name: string | null }>(ex, FIND_OR_INSERT_CONFIG_SQL, [
      hash,
      canonical,
      name ?? null,
    ]);
    if (!row) continue; // inserted by another session after this statement's snapshot: read it again
    if (name && row.name === null) await run(ex, NAME_CONFIG_SQL, [row.id, name]);
    return { id: row.id, hash: row.hash };
  }
  throw new Error('config insert kept racing with another session');
}

import { type Executor, run } from '../db/executor.ts';
import { canonicalConfig } from './canonical.ts';

/**
 * Insert the config if its canonical form (src/tracking/canonical.ts: keys sorted at every
 * level, -0 → 0, numbers as ECMAScript writes them) is new, and return its row either way.
 * ON CONFLICT DO UPDATE rather than DO NOTHING, so RETURNING yields the row also when another
 * session inserted it a moment ago; a name fills an empty one and never replaces one.
 * A config that cannot be canonical (NaN, unsafe integers, NUL) is a ValidationError on `field`.
 */
const UPSERT_CONFIG_SQL = `
insert into benchmark_configs as c (hash, canonical, config, name)
values ($1, $2::text, $2::jsonb, $3)
on conflict (hash) do update set name = coalesce(c.name, excluded.name)
returning c.id, c.hash
`;

export async function upsertConfig(
  ex: Executor,
  config: unknown,
  name?: string | null,
  field = 'config',
): Promise<{ id: number; hash: string }> {
  const { canonical, hash } = canonicalConfig(config, field);
  const [row] = await run<{ id: number; hash: string }>(ex, UPSERT_CONFIG_SQL, [hash, canonical, name ?? null]);
  if (!row) throw new Error('config upsert returned nothing');
  return row;
}

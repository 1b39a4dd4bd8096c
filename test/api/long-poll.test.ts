import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { silentLogger } from '../../src/logger.ts';
import { submit } from '../../src/queue/index.ts';
import { expectJson, post } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';

describe('long-poll claims', () => {
  const db = useTestDatabase();

  it('a NOTIFY that arrives while the claim runs is not lost when that claim finds nothing', async () => {
    const pool = db().pool;
    const notifications = new EventEmitter();
    // Ten minutes between backstop claims: only the NOTIFY can answer this poll in time.
    const app = createApp({ database: db(), logger: silentLogger, notifications, longPollIntervalMs: 600_000 });
    const original = pool.query;
    let raced = false;
    // The poll's first claim finds nothing. Before its answer reaches the route, a task is
    // submitted and its NOTIFY heard: a task that claim's snapshot could not see.
    pool.query = async function (this: unknown, ...args: unknown[]) {
      const r = await (original as (...a: unknown[]) => Promise<{ rows: unknown[] }>).apply(pool, args);
      const name = (args[0] as { name?: string } | undefined)?.name ?? '';
      if (!raced && name.startsWith('eventix_claim') && r.rows.length === 0) {
        raced = true;
        await submit(pool, { task: 'lp.race', namespace: 'lp-race' });
        notifications.emit('notify', 'lp-race');
      }
      return r;
    } as typeof pool.query;
    try {
      const answer = post(app, '/workers/claim', { worker_id: 'lp', tasks: ['lp.race'], namespace: 'lp-race', wait_seconds: 60 });
      const res = await Promise.race([
        answer,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the poll slept through the NOTIFY')), 15_000)),
      ]);
      expect(raced).toBe(true);
      expect(expectJson(res, 200).tasks).toHaveLength(1);
    } finally {
      pool.query = original;
    }
  });
});

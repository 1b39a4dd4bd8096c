import { type Executor, run } from '../db/executor.ts';
import { LeaseLost, TaskNotFound, ValidationError } from '../errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A malformed uid is the caller's mistake (400), not a missing task, and must never reach SQL as a cast error. */
export function assertUid(uid: unknown, field = 'uid'): asserts uid is string {
  if (typeof uid !== 'string' || !UUID.test(uid)) throw new ValidationError([{ field, message: 'must be a UUID' }]);
}

/** The proof of ownership a worker presents with every change to a claimed task. */
export interface Lease {
  uid: string;
  workerId: string;
  fencingToken: number;
}

/**
 * After a guarded statement matched no row, say why. This read runs only on the failure path and
 * changes nothing; the decision itself was made atomically by the guarded statement.
 */
export async function explainLoss(ex: Executor, lease: Lease): Promise<LeaseLost | TaskNotFound> {
  const [row] = await run<{ status: string; worker_id: string | null; fencing_token: number | null }>(
    ex,
    'select status, worker_id, fencing_token from tasks where uid = $1',
    [lease.uid],
  );
  if (!row) return new TaskNotFound(lease.uid);
  if (row.status !== 'processing') return new LeaseLost(lease.uid, `task is '${row.status}'`);
  if (row.worker_id !== lease.workerId) return new LeaseLost(lease.uid, 'task was claimed by another worker');
  return new LeaseLost(lease.uid, `fencing token ${lease.fencingToken} was superseded by ${row.fencing_token}`);
}

import type { ImportKind, Target } from '../types.ts';
import { benchmarkBaselineTarget } from './benchmark-baselines.ts';
import { benchmarkRunTarget } from './benchmark-runs.ts';
import { benchmarkSnapshotTarget } from './benchmark-snapshots.ts';
import { commitStatusTarget } from './commit-status.ts';
import { eventTarget } from './events.ts';
import { scheduleTarget } from './schedules.ts';
import { taskTarget } from './tasks.ts';
import { triggerTarget } from './triggers.ts';

const TARGETS: Partial<Record<ImportKind, Target>> = {
  task: taskTarget,
  schedule: scheduleTarget,
  trigger: triggerTarget,
  event: eventTarget,
  commit_status: commitStatusTarget,
  benchmark_run: benchmarkRunTarget,
  benchmark_snapshot: benchmarkSnapshotTarget,
  benchmark_baseline: benchmarkBaselineTarget,
};

export function targetOf(kind: ImportKind): Target {
  const t = TARGETS[kind];
  if (!t) throw new Error(`no import target for ${kind}`);
  return t;
}

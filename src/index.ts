/**
 * The public library surface: `import { submit, Worker, defineTask } from 'eventix'`.
 */
export { type AppDeps, createApp } from './api/app.ts';
export { createBaseline, deleteBaseline, getBaseline, listBaselines } from './benchmarks/baselines.ts';
export { canonicalConfig, canonicalJson } from './benchmarks/canonical.ts';
export { COMMIT_STATUSES, type CommitStatus, cleanupCommits, markCommits } from './benchmarks/commits.ts';
export { importCommits } from './benchmarks/commits-import.ts';
export { commitStats, exportCommits, listConfigs, queryCommits } from './benchmarks/commits-read.ts';
export { type CompareInput, type CompareResult, compare } from './benchmarks/compare.ts';
export { determineCommits } from './benchmarks/determine.ts';
export { prepareResults, pushResults } from './benchmarks/ingest.ts';
export {
  type BenchmarkRepository,
  findNearest,
  JsonFileRepository,
  type NearestResult,
  PostgresRepository,
  relativeDistance,
} from './benchmarks/nearest/index.ts';
export { PairNotFailed, type RequeueOptions, type RequeueResult, requeueFailedPair } from './benchmarks/requeue.ts';
export { pruneRuns } from './benchmarks/retention.ts';
export { listRuns } from './benchmarks/runs.ts';
export { metricSeries } from './benchmarks/series.ts';
export { listSnapshots, recordSnapshots } from './benchmarks/snapshots.ts';
export * from './client/index.ts';
export { type RemoteTaskError, RemoteWorker, type RemoteWorkerEvents, type RemoteWorkerOptions } from './client/remote-worker.ts';
export { type Config, ConfigError, loadConfig } from './config.ts';
export { createDatabase, type Database } from './db/client.ts';
export { type EmbeddedPostgres, startEmbeddedPostgres } from './db/embedded.ts';
export { migrate } from './db/migrate.ts';
export {
  BaselineExists,
  BaselineNotFound,
  BenchmarkRunsNotFound,
  type ErrorCode,
  EventixError,
  InvalidTransition,
  LeaseLost,
  NoCandidates,
  NonRetryableError,
  ScheduleExists,
  ScheduleNotFound,
  TaskNotFound,
  TriggerExists,
  TriggerFailed,
  TriggerNotFound,
  UniqueKeyConflict,
  ValidationError,
} from './errors.ts';
export * from './events/index.ts';
export { createLogger, type Logger } from './logger.ts';
export * from './queue/index.ts';
export * from './scheduler/index.ts';
export { loadSweepsFile, parseSweeps } from './sweeps/config.ts';
export { VERSION } from './version.ts';
export { AttemptAborted } from './worker/attempt-aborted.ts';
export { Maintenance } from './worker/maintenance.ts';
export { Notifier, type NotifierEvents, type NotifierOptions } from './worker/notifier.ts';
export { WorkerPresence, type WorkerPresenceEvents, type WorkerPresenceOptions } from './worker/presence.ts';
export {
  defineTask,
  isTaskDefinition,
  loadTaskModule,
  type TaskContext,
  type TaskDefaults,
  type TaskDefinition,
  type TaskHandler,
} from './worker/registry.ts';
export { Worker, type WorkerEvents, type WorkerOptions, type WorkerState } from './worker/worker.ts';

/**
 * The public library surface: `import { submit, Worker, defineTask } from 'eventix'`.
 */
export { type AppDeps, createApp } from './api/app.ts';
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
export { createBaseline, deleteBaseline, getBaseline, listBaselines } from './tracking/baselines.ts';
export { canonicalConfig, canonicalJson } from './tracking/canonical.ts';
export { COMMIT_STATUSES, type CommitStatus, cleanupCommits, markCommits } from './tracking/commits.ts';
export { importCommits } from './tracking/commits-import.ts';
export { commitStats, exportCommits, listConfigs, queryCommits } from './tracking/commits-read.ts';
export { type CompareInput, type CompareResult, compare } from './tracking/compare.ts';
export { determineCommits } from './tracking/determine.ts';
export { prepareResults, pushResults } from './tracking/ingest.ts';
export {
  type BenchmarkRepository,
  findNearest,
  JsonFileRepository,
  type NearestResult,
  PostgresRepository,
  relativeDistance,
} from './tracking/nearest/index.ts';
export { PairNotFailed, type RequeueOptions, type RequeueResult, requeueFailedPair } from './tracking/requeue.ts';
export { pruneRuns } from './tracking/retention.ts';
export { listRuns } from './tracking/runs.ts';
export { metricSeries } from './tracking/series.ts';
export { listSnapshots, recordSnapshots } from './tracking/snapshots.ts';
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

/**
 * The HTTP client and the remote worker: everything a process needs to use Eventix through its
 * REST API, without a database connection.
 */
export type { AlertFilters, AlertJson, AlertPage, AlertPatchRequest, AlertStatusJson, AlertsApi } from './alerts.ts';
export type {
  BaselineCreateRequest,
  BaselineDeleted,
  BaselineDetail,
  BaselineFilters,
  BaselineJson,
  BaselineList,
  BaselineLookup,
  BaselinesApi,
} from './baselines.ts';
export type {
  BenchmarkRunJson,
  BenchmarksApi,
  ChangesFilters,
  ChangesJson,
  CompareRequest,
  CompareResponse,
  NearestFilters,
  NearestJson,
  ResultsPushRequest,
  ResultsPushResponse,
  RunFilters,
  RunPage,
  SeriesFilters,
  SeriesJson,
} from './benchmarks.ts';
export {
  type BatchResponse,
  type ClaimedTaskJson,
  type ClaimRequest,
  type ClaimResponse,
  type CompleteRequest,
  type CompleteResponse,
  EventixApiError,
  EventixClient,
  type EventixClientOptions,
  type FailRequest,
  type FailResponse,
  type FetchLike,
  type HeartbeatRequest,
  type HeartbeatResponse,
  isEventixApiError,
  type ListFilters,
  type NamespacesJson,
  type ProblemJson,
  type ReleaseRequest,
  type ReleaseResponse,
  type RequestOptions,
  type StatsJson,
  type SubmitRequest,
  type SubmitResponse,
  type TaskJson,
  type TaskPage,
  type TaskStatusJson,
} from './client.ts';
export type {
  CleanupRequest,
  CleanupResponse,
  CommitExport,
  CommitExportFilters,
  CommitFilters,
  CommitImportRequest,
  CommitImportResponse,
  CommitPage,
  CommitStatsFilters,
  CommitStatsJson,
  CommitStatusJson,
  CommitStatusName,
  CommitsApi,
  DetermineRequest,
  DetermineResponse,
  MarkRequest,
  MarkResponse,
  RequeueRequest,
  RequeueResponse,
} from './commits.ts';
export type { ConfigJson, ConfigList, ConfigsApi } from './configs.ts';
export type { EventFilters, EventJson, EventPage, EventPublishRequest, EventPublishResponse, EventsApi } from './events.ts';
export { type RemoteTaskError, RemoteWorker, type RemoteWorkerEvents, type RemoteWorkerOptions } from './remote-worker.ts';
export type {
  ScheduleCreateRequest,
  ScheduleFilters,
  ScheduleJson,
  SchedulePage,
  ScheduleRunResponse,
  SchedulesApi,
  ScheduleUpdateRequest,
} from './schedules.ts';
export type {
  SnapshotFilters,
  SnapshotJson,
  SnapshotPage,
  SnapshotRecordRequest,
  SnapshotRecordResponse,
  SnapshotsApi,
} from './snapshots.ts';
export type { SweepJson, SweepList, SweepRunResponse, SweepRunsFilters, SweepRunsJson, SweepsApi } from './sweeps.ts';
export type { TagFilter } from './transport.ts';
export type {
  TriggerCreateRequest,
  TriggerFilters,
  TriggerJson,
  TriggerList,
  TriggerPutRequest,
  TriggersApi,
} from './triggers.ts';

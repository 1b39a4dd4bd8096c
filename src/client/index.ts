/**
 * The HTTP client and the remote worker: everything a process needs to use Eventix through its
 * REST API, without a database connection.
 */
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
export { type RemoteTaskError, RemoteWorker, type RemoteWorkerEvents, type RemoteWorkerOptions } from './remote-worker.ts';

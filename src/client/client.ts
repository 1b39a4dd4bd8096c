import type { z } from 'zod';
import type {
  batchResultOut,
  claimBody,
  claimedTaskOut,
  claimOut,
  completeBody,
  failBody,
  failOut,
  heartbeatBody,
  heartbeatOut,
  listQuery,
  namespacesOut,
  releaseBody,
  releaseOut,
  statsOut,
  submitBody,
  submitResultOut,
  taskOut,
  taskPageOut,
} from '../api/schemas.ts';
import { injectHeaders } from '../tracing.ts';
import { VERSION } from '../version.ts';
import { AlertsApi } from './alerts.ts';
import { BaselinesApi } from './baselines.ts';
import { BenchmarksApi } from './benchmarks.ts';
import { CommitsApi } from './commits.ts';
import { ConfigsApi } from './configs.ts';
import { EventixApiError, problemOf } from './errors.ts';
import { EventsApi } from './events.ts';
import { items, pages } from './paging.ts';
import { SchedulesApi } from './schedules.ts';
import { SnapshotsApi } from './snapshots.ts';
import { SweepsApi } from './sweeps.ts';
import { type CallOptions, type Method, queryString, type RequestOptions, seg, type Transport } from './transport.ts';
import { TriggersApi } from './triggers.ts';

export type { RequestOptions } from './transport.ts';

/*
 * Every type below, and in the files of the resource groups, is derived from the API's zod schemas
 * (src/api/schemas.ts and its siblings), the one definition of the wire format: requests are
 * `z.input` (what the caller sends), responses `z.infer` (what the server answers). Nothing here
 * restates a field list. Only types are imported, so the client pulls in no server code.
 */

/** A task as the API returns it (snake_case, ISO date-time strings). */
export type TaskJson = z.infer<typeof taskOut>;
/** A task handed to a remote worker by POST /workers/claim, with its lease. */
export type ClaimedTaskJson = z.infer<typeof claimedTaskOut>;
export type TaskStatusJson = TaskJson['status'];
/** The body of POST /tasks. */
export type SubmitRequest = z.input<typeof submitBody>;
export type SubmitResponse = z.infer<typeof submitResultOut>;
export type BatchResponse = z.infer<typeof batchResultOut>;
export type TaskPage = z.infer<typeof taskPageOut>;
/** Filters of GET /tasks. `status` takes one status or several; `limit` is the page size (1-500). */
export type ListFilters = Omit<z.input<typeof listQuery>, 'status' | 'limit'> & {
  status?: TaskStatusJson | readonly TaskStatusJson[];
  limit?: number;
};
export type ClaimRequest = z.input<typeof claimBody>;
export type ClaimResponse = z.infer<typeof claimOut>;
export type HeartbeatRequest = z.input<typeof heartbeatBody>;
export type HeartbeatResponse = z.infer<typeof heartbeatOut>;
export type CompleteRequest = z.input<typeof completeBody>;
/** POST /tasks/{uid}/complete answers `{status: 'done'}` (the route has no response schema of its own). */
export type CompleteResponse = { status: Extract<TaskStatusJson, 'done'> };
export type FailRequest = z.input<typeof failBody>;
export type FailResponse = z.infer<typeof failOut>;
export type ReleaseRequest = z.input<typeof releaseBody>;
export type ReleaseResponse = z.infer<typeof releaseOut>;

export type StatsJson = z.infer<typeof statsOut>;
export type NamespacesJson = z.infer<typeof namespacesOut>;

export { EventixApiError, isEventixApiError, type ProblemJson } from './errors.ts';

/** The part of `fetch` the client uses; inject one to reach an in-process app or add tracing. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response> | Response;

export interface EventixClientOptions {
  /** e.g. `http://127.0.0.1:8080`; a path prefix (behind a proxy) is kept. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`; never part of an error message. */
  token?: string | undefined;
  /** Defaults to `globalThis.fetch`, looked up at each call. */
  fetch?: FetchLike | undefined;
  /** Deadline of each call, its retries included; a long-poll claim gets its `wait_seconds` on top. Default 30 s; 0 disables. */
  timeoutMs?: number | undefined;
  /** Extra headers for every request (a proxy's, a tracing id). */
  headers?: Record<string, string> | undefined;
  /**
   * How many times a GET, PUT or DELETE is sent again when fetch itself fails (rejects with a
   * TypeError: connection refused or reset, DNS), default 2; 0 disables. Those methods are
   * idempotent, so a request that did reach the server may safely be repeated (a repeated DELETE may
   * then answer 404). POSTs and PATCHes are never retried, POST /benchmarks/compare included: a lost
   * answer to a submit may have created its task. HTTP answers (a 503 too) are never retried, and
   * neither is a request whose signal or timeout fired: `timeoutMs` bounds the attempts and waits
   * together.
   */
  retries?: number | undefined;
  /** The first wait before a retry, doubled at each next one, each drawn between half and all of it (jitter). Default 100 ms. */
  retryDelayMs?: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 2;
const DEFAULT_RETRY_DELAY_MS = 100;
/** The methods that may be sent twice with the effect of once (RFC 9110, 9.2.2). */
const IDEMPOTENT: ReadonlySet<Method> = new Set(['GET', 'PUT', 'DELETE']);

/**
 * A typed client for the Eventix REST API. One method per route: tasks, service and remote-worker
 * calls on the client itself, every other resource in a group (`client.schedules.create()`,
 * `client.benchmarks.series()`, …); test/client/coverage.test.ts fails when a route has none. Bodies
 * and answers are the wire format (snake_case), typed from the server's own schemas.
 *
 * ```ts
 * const client = new EventixClient({ baseUrl: 'http://127.0.0.1:8080', token: process.env.EVENTIX_TOKEN });
 * const { task } = await client.submit({ task: 'email.send', args: ['a@example.com'] });
 * for await (const t of client.iterate({ status: ['error'] })) console.log(t.uid, t.error?.message);
 * for await (const s of client.schedules.iterate({ enabled: false })) console.log(s.name);
 * ```
 */
export class EventixClient {
  readonly baseUrl: string;
  readonly schedules: SchedulesApi;
  readonly events: EventsApi;
  readonly triggers: TriggersApi;
  readonly commits: CommitsApi;
  readonly configs: ConfigsApi;
  readonly benchmarks: BenchmarksApi;
  readonly baselines: BaselinesApi;
  readonly snapshots: SnapshotsApi;
  readonly alerts: AlertsApi;
  readonly sweeps: SweepsApi;
  readonly #token: string | undefined;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;
  readonly #headers: Record<string, string>;
  readonly #retries: number;
  readonly #retryDelayMs: number;

  constructor(opts: EventixClientOptions) {
    let url: URL;
    try {
      url = new URL(opts.baseUrl);
    } catch {
      throw new TypeError(`EventixClient: baseUrl must be an absolute http(s) URL, got ${JSON.stringify(opts.baseUrl)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('EventixClient: baseUrl must be http(s)');
    if (url.username || url.password) throw new TypeError('EventixClient: pass credentials as `token`, not in baseUrl');
    this.baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.#token = opts.token;
    this.#fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#headers = { ...opts.headers };
    this.#retries = Math.max(0, Math.floor(opts.retries ?? DEFAULT_RETRIES));
    this.#retryDelayMs = Math.max(0, opts.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS);
    // The groups get the transport, not the client: they cannot reach its token or each other.
    const transport: Transport = { request: (method, path, call) => this.#request(method, path, call) };
    this.schedules = new SchedulesApi(transport);
    this.events = new EventsApi(transport);
    this.triggers = new TriggersApi(transport);
    this.commits = new CommitsApi(transport);
    this.configs = new ConfigsApi(transport);
    this.benchmarks = new BenchmarksApi(transport);
    this.baselines = new BaselinesApi(transport);
    this.snapshots = new SnapshotsApi(transport);
    this.alerts = new AlertsApi(transport);
    this.sweeps = new SweepsApi(transport);
  }

  // ── tasks ──────────────────────────────────────────────────────────────────────────────────

  /** Submit one task. `created` is false when it merged into a waiting task with the same unique_key. */
  submit(body: SubmitRequest, opts?: RequestOptions): Promise<SubmitResponse> {
    return this.#request('POST', '/tasks', { body, ...opts });
  }

  /** Submit up to 10,000 tasks in one transaction; results are in input order. */
  async submitBatch(tasks: readonly SubmitRequest[], opts?: RequestOptions): Promise<SubmitResponse[]> {
    const r = await this.#request<BatchResponse>('POST', '/tasks/batch', { body: { tasks }, ...opts });
    return r.results;
  }

  get(uid: string, opts?: RequestOptions): Promise<TaskJson> {
    return this.#request('GET', `/tasks/${seg(uid)}`, opts);
  }

  getByUniqueKey(namespace: string, uniqueKey: string, opts?: RequestOptions): Promise<TaskJson> {
    return this.#request('GET', `/tasks/by-unique-key/${seg(namespace)}/${seg(uniqueKey)}`, opts);
  }

  /** One page, newest first. Pass `next_cursor` back as `cursor` for the next; null means the last page. */
  list(filters: ListFilters = {}, opts?: RequestOptions): Promise<TaskPage> {
    const { status, ...rest } = filters;
    const statuses = status === undefined ? undefined : typeof status === 'string' ? status : status.join(',');
    return this.#request('GET', '/tasks', { query: { ...rest, status: statuses || undefined }, ...opts });
  }

  /** Every page of a listing, fetched one at a time as the loop asks for it. */
  pages(filters: Omit<ListFilters, 'cursor'> = {}, opts?: RequestOptions): AsyncGenerator<TaskPage, void, undefined> {
    return pages((cursor) => this.list({ ...filters, cursor }, opts));
  }

  /**
   * Every task matching `filters`, across pages (`limit` is the page size): `for await (const t of
   * client.iterate({ status: ['done'] }))`. Keyset pagination: no task is skipped or repeated while
   * others are added, though one that changes status meanwhile may or may not still match.
   */
  iterate(filters: Omit<ListFilters, 'cursor'> = {}, opts?: RequestOptions): AsyncGenerator<TaskJson, void, undefined> {
    return items(this.pages(filters, opts), 'tasks');
  }

  /** Every task matching `filters`, collected into one array. Prefer `iterate()` for large listings. */
  async listAll(filters: Omit<ListFilters, 'cursor'> = {}, opts?: RequestOptions): Promise<TaskJson[]> {
    const all: TaskJson[] = [];
    for await (const task of this.iterate(filters, opts)) all.push(task);
    return all;
  }

  /** A waiting task is cancelled at once; a running one is flagged and ends `cancelled` at its worker's next heartbeat. */
  cancel(uid: string, opts?: RequestOptions): Promise<TaskJson> {
    return this.#request('POST', `/tasks/${seg(uid)}/cancel`, opts);
  }

  /** Run an `error`, `retry` or `cancelled` task (again) at `eta`, default now. */
  reschedule(uid: string, eta?: string | Date, opts?: RequestOptions): Promise<TaskJson> {
    const body = eta === undefined ? {} : { eta: eta instanceof Date ? eta.toISOString() : eta };
    return this.#request('POST', `/tasks/${seg(uid)}/reschedule`, { body, ...opts });
  }

  /** Delete a task (admin scope). */
  async delete(uid: string, opts?: RequestOptions): Promise<void> {
    await this.#request('DELETE', `/tasks/${seg(uid)}`, opts);
  }

  // ── service ────────────────────────────────────────────────────────────────────────────────

  /** GET /stats: counts by namespace, task and status; oldest waiting age; recent completions and failures. */
  stats(opts?: RequestOptions): Promise<StatsJson> {
    return this.#request('GET', '/stats', opts);
  }

  /** GET /namespaces: every namespace that has tasks, with counts per status. */
  namespaces(opts?: RequestOptions): Promise<NamespacesJson> {
    return this.#request('GET', '/namespaces', opts);
  }

  /** GET /healthz: the process is up (no database check). */
  health(opts?: RequestOptions): Promise<{ status: string }> {
    return this.#request('GET', '/healthz', opts);
  }

  /** GET /readyz: the database answers and its schema is current. A 503 is answered, not thrown. */
  ready(opts?: RequestOptions): Promise<{ status: string; database: string; schema?: string }> {
    return this.#request('GET', '/readyz', { ...opts, accept: [503] });
  }

  version(opts?: RequestOptions): Promise<{ name: string; version: string }> {
    return this.#request('GET', '/version', opts);
  }

  /** GET /metrics: this server process's metrics in the Prometheus text format, as text. */
  metrics(opts?: RequestOptions): Promise<string> {
    return this.#request('GET', '/metrics', { ...opts, text: true });
  }

  // ── remote workers ─────────────────────────────────────────────────────────────────────────

  /**
   * Claim up to `limit` due tasks. With `wait_seconds` the server holds the request until a task
   * is due or the wait ends (then `tasks` is empty); the client's timeout is extended to match.
   */
  claim(body: ClaimRequest, opts?: RequestOptions): Promise<ClaimResponse> {
    return this.#request('POST', '/workers/claim', { body, ...opts, extraTimeoutMs: (body.wait_seconds ?? 0) * 1000 });
  }

  /** Renew a lease. A 409 (`problem.code === 'LeaseLost'`) means the task is no longer ours. */
  heartbeat(uid: string, body: HeartbeatRequest, opts?: RequestOptions): Promise<HeartbeatResponse> {
    return this.#request('POST', `/tasks/${seg(uid)}/heartbeat`, { body, ...opts });
  }

  complete(uid: string, body: CompleteRequest, opts?: RequestOptions): Promise<CompleteResponse> {
    return this.#request('POST', `/tasks/${seg(uid)}/complete`, { body, ...opts });
  }

  /** End an attempt in failure: the answer says whether it will be retried (`retry`), `error`, or `cancelled`. */
  fail(uid: string, body: FailRequest, opts?: RequestOptions): Promise<FailResponse> {
    return this.#request('POST', `/tasks/${seg(uid)}/fail`, { body, ...opts });
  }

  /**
   * Hand a claimed task back at shutdown: due again at once, the attempt not counted. A 409 means
   * it is no longer ours (nothing to hand back).
   */
  release(uid: string, body: ReleaseRequest, opts?: RequestOptions): Promise<ReleaseResponse> {
    return this.#request('POST', `/tasks/${seg(uid)}/release`, { body, ...opts });
  }

  // ── transport ──────────────────────────────────────────────────────────────────────────────

  /** The one transport: every method, and every group through `Transport`, sends its request here. */
  async #request<T>(method: Method, path: string, opts: CallOptions = {}): Promise<T> {
    const url = `${this.baseUrl}${path}${queryString(opts.query)}`;
    const headers: Record<string, string> = {
      accept: opts.text ? 'text/plain' : 'application/json',
      'user-agent': `eventix-client/${VERSION}`,
      ...this.#headers,
    };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    // The caller's trace, if any, continues on the server (a no-op without an OpenTelemetry SDK).
    injectHeaders(headers);
    const init: RequestInit = { method, headers };
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    const signals: AbortSignal[] = [];
    if (opts.signal) signals.push(opts.signal);
    if (this.#timeoutMs > 0) signals.push(AbortSignal.timeout(this.#timeoutMs + (opts.extraTimeoutMs ?? 0)));
    if (signals.length) init.signal = signals.length === 1 ? signals[0] : AbortSignal.any(signals);

    const res = await this.#send(method, url, init);
    const text = await res.text();
    if (res.ok || opts.accept?.includes(res.status)) {
      if (opts.text) return text as T;
      if (!text) return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new EventixApiError(method, path, res.status, {
          type: 'about:blank',
          title: 'Unreadable Response',
          status: res.status,
          detail: `expected JSON, got ${JSON.stringify(text.slice(0, 200))}`,
        });
      }
    }
    throw new EventixApiError(method, path, res.status, problemOf(res, text));
  }

  /**
   * fetch, sent again (see `retries`) while it rejects with a TypeError, the Fetch standard's
   * network error, for an idempotent method whose signal has not fired. Anything else rejects at once.
   */
  async #send(method: Method, url: string, init: RequestInit): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#fetch(url, init);
      } catch (err) {
        const retry = IDEMPOTENT.has(method) && attempt < this.#retries && err instanceof TypeError && !init.signal?.aborted;
        if (!retry) throw err;
        await sleep(this.#retryDelayMs * 2 ** attempt * (0.5 + Math.random() / 2), init.signal ?? undefined);
      }
    }
  }
}

/** Wait `ms`; a signal that fires meanwhile rejects with its reason, as fetch would. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

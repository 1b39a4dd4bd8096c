// fuzz: property-based requests over every route of the OpenAPI document, on keep-alive connections
// to a real `eventix api`. Checks: no 5xx, every 4xx a problem+json of the same status, no lost
// connection, and no row changed by a refused request. A failure is shrunk by fast-check and
// printed with its seed and path: EVENTIX_FUZZ_SEED=<seed> repeats a run,
// EVENTIX_FUZZ_REPLAY=<round seed>:<path> replays one shrunk counterexample.
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import pg from 'pg';
import { linearRepo } from '../helpers/git.ts';
import {
  dataTables,
  diffFingerprints,
  type Fingerprint,
  fingerprint,
  fingerprintQuery,
  totalRows,
  writtenSince,
} from './lib/fingerprint.ts';
import { type LaneAnswer, LaneError, Lanes } from './lib/lanes.ts';
import {
  dateTime,
  describeRequest,
  type FuzzRequest,
  type OpenApiDocument,
  type Operation,
  operationRequests,
  operationsOf,
  READ_ONLY_METHODS,
  SchemaValues,
  type Tokens,
  unroutedRequests,
} from './lib/openapi-fuzz.ts';
import { startThrowawayPostgres } from './lib/postgres.ts';
import { ROOT, spawnEventix } from './lib/processes.ts';
import type { Scenario, ScenarioContext } from './lib/scenario.ts';

const LANES = 4;
const MAX_BODY = 256 * 1024;
/** Requests of one property run: sent side by side on the lanes, each lane in order. */
const MAX_BATCH = 8;
const RUNS_PER_ROUND = 100;
/** Failures shrunk and reported in full; later failing rounds end at their first failure. */
const MAX_SHRUNK = 3;

interface Plan {
  requests: number;
  /** A round (generation and shrinking) is cut off after this long. */
  roundMs: number;
}
const FULL: Plan = { requests: 10_000, roundMs: 120_000 };
const SHORT: Plan = { requests: 1_500, roundMs: 25_000 };

/** Maintenance writes on its own schedule; its log lines tell a row change of its own from one of a request. */
const MAINTENANCE_LINE = /rescued tasks with expired leases|pruned expired tasks|pruned events past retention/;
const UNHANDLED_LINE = /unhandled error/;

export const scenario: Scenario = {
  name: 'fuzz',
  summary:
    'property-based requests (fast-check, shrinking) over every route of /openapi.json on keep-alive connections: 0 5xx, 0 lost connections, no row changed by a refused request',
  async run(ctx) {
    await fuzz(ctx);
  },
};

interface Outcome {
  answer?: LaneAnswer;
  error?: LaneError;
}

async function fuzz(ctx: ScenarioContext): Promise<void> {
  const plan = ctx.short ? SHORT : FULL;
  const seed = Number(process.env.EVENTIX_FUZZ_SEED ?? randomInt(2 ** 31));
  const replay = parseReplay(process.env.EVENTIX_FUZZ_REPLAY);
  ctx.figure('seed', seed);
  ctx.log(
    `seed ${seed}: EVENTIX_FUZZ_SEED=${seed} node --import tsx test/chaos/run.ts ${ctx.short ? '--short ' : ''}fuzz repeats this run`,
  );

  // ── a server with everything configured that a route may need ──
  const db = await startThrowawayPostgres();
  ctx.defer(() => db.stop());
  const repo = linearRepo(6);
  ctx.defer(() => repo.remove());
  const dir = await mkdtemp(path.join(tmpdir(), 'eventix-fuzz-'));
  ctx.defer(() => rm(dir, { recursive: true, force: true }));
  const sweepsFile = path.join(dir, 'sweeps.json');
  await writeFile(
    sweepsFile,
    JSON.stringify({
      sweeps: [
        {
          name: 'fz-sweep',
          repo: repo.dir,
          branch: 'main',
          configs: [{ config: { clients: 50 }, name: 'c50' }, { config: { clients: 1 } }],
          max_commits: 2,
          schedule: { cron: '0 3 * * *' },
          trigger: { event_name: 'commit.pushed', filter: { field: '/branch', eq: 'main' } },
          command: ['true'],
          timeout_seconds: 60,
          retry: { max_retries: 0 },
          namespace: 'fz-bench',
        },
        {
          name: 'fz-manual',
          repo: repo.dir,
          branch: 'main',
          configs: [{ config: { clients: 8 } }],
          max_commits: 1,
          command: ['true'],
          timeout_seconds: 60,
          retry: { max_retries: 0 },
          namespace: 'fz-bench',
        },
      ],
    }),
  );
  const secret = () => randomBytes(16).toString('hex');
  const tokens: Tokens = { admin: secret(), read: secret(), submit: secret(), worker: secret() };
  const server = ctx.track(
    spawnEventix('fuzz-api', ['api', '--no-scheduler'], {
      DATABASE_URL: db.url,
      EVENTIX_PORT: '0',
      EVENTIX_API_TOKENS: `fz-admin:admin:${tokens.admin},fz-read:read:${tokens.read},fz-submit:submit:${tokens.submit},fz-worker:worker:${tokens.worker}`,
      EVENTIX_MAX_BODY_BYTES: String(MAX_BODY),
      EVENTIX_REPOS: repo.dir,
      EVENTIX_SWEEPS_FILE: sweepsFile,
      // info: maintenance says what it changed (see MAINTENANCE_LINE); its first pass comes at a random
      // time within the interval, so rarely in a run, and then only leases claimed here may have expired.
      EVENTIX_LOG_LEVEL: 'info',
      EVENTIX_MAINTENANCE_INTERVAL_MS: '3600000',
      EVENTIX_EVENT_RETENTION_DAYS: '0',
    }),
  );
  const logged = { maintenance: 0, unhandled: [] as string[] };
  let partial = '';
  server.child.stderr?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (MAINTENANCE_LINE.test(line)) logged.maintenance++;
      if (UNHANDLED_LINE.test(line) && logged.unhandled.length < 20) logged.unhandled.push(line.slice(0, 2000));
    }
  });
  const listening = await server.waitForLine(/Eventix listening on (http:\/\/\S+)/, 60_000);
  const base = new URL(listening[1] as string);
  ctx.log(`eventix api at ${base.origin} (pid ${server.pid}), database ${db.port}`);

  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(new URL(p, base), {
      method,
      headers: { authorization: `Bearer ${tokens.admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`fixture ${method} ${p}: ${res.status} ${text.slice(0, 500)}`);
    // biome-ignore lint/suspicious/noExplicitAny: fixture answers are read loosely
    return (text ? JSON.parse(text) : undefined) as any;
  };

  // ── fixtures: a task in each status, a schedule, a trigger, an event, commits and a benchmark run ──
  const fx = await fixtures(api, repo);
  const doc = (await api('GET', '/openapi.json')) as OpenApiDocument;
  const ops = operationsOf(doc);
  ctx.figure('routes in the document', ops.length);

  // A GET the document marks x-eventix-writes (the compatible API's claim and reschedule) changes rows: not a read.
  const writingGets = new Set(ops.filter((op) => op.writes).map((op) => op.id));
  const readOnly = (r: FuzzRequest) => READ_ONLY_METHODS.has(r.method) && !writingGets.has(r.op);

  const values = new SchemaValues(doc, 3);
  hints(values, fx, repo);
  const pathHints = pathParamHints(fx, ops);
  const build = {
    tokens,
    maxBody: MAX_BODY,
    lanes: LANES,
    values,
    pathHints,
    unroutedPaths: UNROUTED,
    adjust: (op: string, value: unknown) => {
      // A long-poll holds its lane for up to a minute: keep any that passes validation short.
      if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
      const v = value as Record<string, unknown>;
      if (op === 'postWorkersClaim' && typeof v.wait_seconds === 'number' && v.wait_seconds > 0.2 && v.wait_seconds <= 60)
        v.wait_seconds = 0.2;
      // config and config_id together are refused: keep that one time in four.
      if ('config' in v && typeof v.config_id === 'number' && v.config_id % 4 !== 0) delete v.config_id;
      return value;
    },
  };
  const requestArb = fc.oneof(...ops.map((op) => ({ weight: 10, arbitrary: operationRequests(op, build) })), {
    weight: 8,
    arbitrary: unroutedRequests(build),
  });

  // ── the connections, and the database fingerprint ──
  const lanes = new Lanes(base, LANES, { idleMs: 3_000, timeoutMs: 30_000 });
  ctx.defer(() => lanes.close());
  const probe = new pg.Client({ connectionString: db.url, application_name: 'eventix-chaos-probe' });
  probe.on('error', () => {});
  await probe.connect();
  ctx.defer(() => probe.end().catch(() => {}));
  const tables = await dataTables(probe);
  const fpQuery = fingerprintQuery(tables);
  let fingerprints = 0;
  let fingerprintMs = 0;
  const fp = async () => {
    const t = performance.now();
    const f = await fingerprint(probe, fpQuery);
    fingerprints++;
    fingerprintMs += performance.now() - t;
    return f;
  };

  const stats = {
    requests: 0,
    shrinkRequests: 0,
    probes: 0,
    byStatus: new Map<number, number>(),
    byOp: new Map<string, number>(),
    byOpStatus: new Map<string, Map<number, number>>(),
    connectionClose: 0,
    socketErrors: 0,
    fiveHundreds: 0,
    badProblems: 0,
    parserRefusals: 0,
    verifiedRefused: 0,
    unattributedRefused: 0,
    acceptedMutations: 0,
    /** Groups with an accepted write, and how many of them the fingerprint saw change: proof that it sees writes. */
    writeGroups: 0,
    writeGroupsChanged: 0,
    rowsChangedByRefused: 0,
    maintenanceInterference: 0,
    undocumented: new Map<string, number>(),
    slowest: { ms: 0, what: '' },
  };
  let phase: 'fuzz' | 'shrink' = 'fuzz';
  let baseline: Fingerprint = await fp();
  /** Maintenance lines logged by the time `baseline` was taken. */
  let baselineMaintenance = logged.maintenance;
  const rowsAtStart = totalRows(baseline);

  const verbose = Boolean(process.env.EVENTIX_FUZZ_VERBOSE);
  /** With EVENTIX_FUZZ_VERBOSE: why requests meant to be valid were refused, a few per route (to tune the hints). */
  const refusedValid = new Map<string, string[]>();
  const send = async (r: FuzzRequest): Promise<Outcome> => {
    try {
      const answer = await lanes.send(
        r.lane,
        { method: r.method, path: r.path, headers: r.headers, body: r.body, chunked: r.chunked },
        `${r.method} ${r.path.slice(0, 120)}`,
      );
      return { answer };
    } catch (err) {
      if (err instanceof LaneError) return { error: err };
      throw err;
    }
  };

  /** What is wrong with the answer to `r`; also counts it. */
  const judge = (r: FuzzRequest, o: Outcome): string[] => {
    const problems: string[] = [];
    if (phase === 'fuzz') {
      stats.requests++;
      stats.byOp.set(r.op, (stats.byOp.get(r.op) ?? 0) + 1);
    } else stats.shrinkRequests++;
    if (o.error) {
      stats.socketErrors++;
      problems.push(
        `lost connection (${o.error.message}) on lane ${r.lane}, socket #${o.error.socket} (${o.error.reused ? `reused; before, it carried ${o.error.previous}` : 'new'}): ${describeRequest(r)}`,
      );
      return problems;
    }
    const a = o.answer as LaneAnswer;
    if (phase === 'fuzz') {
      stats.byStatus.set(a.status, (stats.byStatus.get(a.status) ?? 0) + 1);
      const m = stats.byOpStatus.get(r.op) ?? new Map<number, number>();
      m.set(a.status, (m.get(a.status) ?? 0) + 1);
      stats.byOpStatus.set(r.op, m);
    }
    if (a.headers.connection === 'close') stats.connectionClose++;
    if (a.ms > stats.slowest.ms) stats.slowest = { ms: a.ms, what: `${r.method} ${r.path.slice(0, 80)} → ${a.status}` };
    const op = ops.find((x) => x.id === r.op);
    // (A mangled path segment may miss the route: that 404 is the router's, not the operation's.)
    if (phase === 'fuzz' && op && !op.statuses.has(a.status) && !r.noise.some((n) => n.startsWith('path '))) {
      const k = `${r.op} ${a.status}`;
      stats.undocumented.set(k, (stats.undocumented.get(k) ?? 0) + 1);
    }
    const type = String(a.headers['content-type'] ?? '');
    const text = a.body.toString('utf8');
    if (r.violation && a.status === 400 && !type && a.body.length === 0) {
      // Node's HTTP parser refused it (bare 400, Connection: close) before the API saw it.
      stats.parserRefusals++;
    } else if (a.status >= 500) {
      stats.fiveHundreds++;
      problems.push(`${a.status} ${text.slice(0, 300)} for ${describeRequest(r)}`);
    } else if (a.status >= 400) {
      if (verbose && !r.faults.length && !r.noise.length && (a.status === 400 || a.status === 422)) {
        const seen = refusedValid.get(r.op) ?? [];
        if (seen.length < 4) seen.push(text.slice(0, 400));
        refusedValid.set(r.op, seen);
      }
      const bad = problemDefect(a.status, type, text, r.method === 'HEAD');
      if (bad) {
        stats.badProblems++;
        problems.push(`${a.status} answer ${bad}: ${describeRequest(r)}`);
      }
    } else if (/^application\/json\b/.test(type) && r.method !== 'HEAD') {
      try {
        JSON.parse(text);
      } catch {
        problems.push(`${a.status} with a body that is not JSON (${text.slice(0, 100)}): ${describeRequest(r)}`);
      }
    }
    return problems;
  };

  /** Send a group side by side; then compare the fingerprint, if no request of the group was let through to change rows. */
  const runGroup = async (group: FuzzRequest[]): Promise<string[]> => {
    const maintenanceBefore = baselineMaintenance;
    const outcomes = await Promise.all(group.map(send));
    const problems: string[] = [];
    let unattributable = false;
    let refused = 0;
    group.forEach((r, i) => {
      const o = outcomes[i] as Outcome;
      problems.push(...judge(r, o));
      const mutating = !readOnly(r);
      // A lost request may or may not have been carried out: its group proves nothing.
      if (o.error) unattributable ||= mutating;
      else if ((o.answer as LaneAnswer).status < 400) {
        if (mutating) {
          unattributable = true;
          if (phase === 'fuzz') stats.acceptedMutations++;
        }
      } else refused++;
    });
    const maintenanceNow = logged.maintenance;
    const after = await fp();
    const before = baseline;
    const diff = diffFingerprints(before, after);
    baseline = after;
    baselineMaintenance = maintenanceNow;
    if (unattributable) {
      if (phase === 'fuzz') {
        stats.unattributedRefused += refused;
        stats.writeGroups++;
        if (diff.length) stats.writeGroupsChanged++;
      }
      return problems;
    }
    if (!diff.length) {
      if (phase === 'fuzz') stats.verifiedRefused += refused;
      return problems;
    }
    // Rows changed though nothing was let through: maintenance, if it said so, else a refused request wrote.
    if (logged.maintenance > maintenanceBefore || (await maintenanceSpoke(logged, maintenanceBefore))) {
      stats.maintenanceInterference++;
      return problems;
    }
    stats.rowsChangedByRefused++;
    const written = await writtenSince(probe, tables, before);
    problems.push(
      `rows changed (${diff.join(', ')}) although every request was refused or only read:\n      ${group
        .map((r, i) => `${describeRequest(r)} → ${outcomes[i]?.answer?.status ?? outcomes[i]?.error?.message}`)
        .join('\n      ')}${written.length ? `\n    rows written:\n      ${written.join('\n      ')}` : ''}`,
    );
    return problems;
  };

  const property = fc.asyncProperty(fc.array(requestArb, { minLength: 1, maxLength: MAX_BATCH }), async (batch) => {
    if (ctx.signal.aborted || !server.alive) return;
    const first = batch.filter((r) => readOnly(r) || r.faults.length > 0);
    const second = batch.filter((r) => !first.includes(r));
    const problems: string[] = [];
    for (const group of [first, second]) if (group.length) problems.push(...(await runGroup(group)));
    // A probe on every lane used: an unread body, or a close the server did not announce, costs the
    // next request on the connection, and this makes it this run's failure (shrinkable), not the next's.
    const used = [...new Set(batch.map((r) => r.lane))];
    const probes = await Promise.all(used.map((lane) => send({ ...PROBE, lane } as FuzzRequest)));
    probes.forEach((o, i) => {
      stats.probes++;
      if (o.error) {
        stats.socketErrors++;
        problems.push(
          `lost connection (${o.error.message}) on the probe of lane ${used[i]}, socket #${o.error.socket} (${o.error.reused ? `reused; before, it carried ${o.error.previous}` : 'new'})`,
        );
      } else if (o.answer?.status !== 200) problems.push(`probe of lane ${used[i]}: ${o.answer?.status}`);
      else if (o.answer.headers.connection === 'close') stats.connectionClose++;
    });
    if (!server.alive) problems.push(`the server exited (${JSON.stringify(server.exitInfo)}):\n${server.output(30)}`);
    if (problems.length) {
      phase = 'shrink';
      throw new Error(problems.join('\n    '));
    }
  });

  // ── rounds of fast-check runs until enough requests went out ──
  const started = Date.now();
  const shrunk: string[] = [];
  let failedRounds = 0;
  let round = 0;
  while (!ctx.signal.aborted && server.alive && (replay ? round < 1 : stats.requests < plan.requests)) {
    const roundSeed = replay ? replay.seed : (seed + round * 7_919) % 2 ** 31;
    phase = 'fuzz';
    const details = await fc.check(property, {
      seed: roundSeed,
      numRuns: replay ? 1 : RUNS_PER_ROUND,
      ...(replay ? { path: replay.path } : {}),
      endOnFailure: shrunk.length >= MAX_SHRUNK,
      plugins: [fc.interruptAfterTimeLimit(plan.roundMs)],
    });
    if (details.failed) {
      failedRounds++;
      const batch = (details.counterexample as unknown as [FuzzRequest[]] | null)?.[0] ?? [];
      const message = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      const report =
        `round ${round}: ${details.numShrinks} shrinks to ${batch.length} request(s)${details.interrupted ? ' (shrinking cut off)' : ''}; ` +
        `replay: EVENTIX_FUZZ_REPLAY=${roundSeed}:${details.counterexamplePath}\n    ` +
        `${batch.map((r) => describeRequest(r, 400)).join('\n    ')}\n  failed with:\n    ${message}`;
      const shrinking = shrunk.length < MAX_SHRUNK;
      if (shrinking) shrunk.push(report);
      ctx.log(
        `failing round ${round}${shrinking ? ` (shrunk to ${batch.length} request(s), reported at the end)` : ''}: ${message.split('\n')[0]?.slice(0, 300)}`,
      );
    }
    round++;
    if (!replay && round % 5 === 0) ctx.log(`${stats.requests} requests in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  const seconds = (Date.now() - started) / 1000;

  // ── figures and checks ──
  const covered = ops.filter((op) => (stats.byOp.get(op.id) ?? 0) > 0);
  const missing = ops.filter((op) => !stats.byOp.get(op.id)).map((op) => `${op.method} ${op.path}`);
  const perOp = ops.map((op) => stats.byOp.get(op.id) ?? 0);
  ctx.figure('requests', stats.requests);
  ctx.figure('requests/s', Math.round(stats.requests / Math.max(seconds, 0.001)));
  ctx.figure('rounds (fast-check runs of ≤ 8 requests)', `${round} × ≤ ${RUNS_PER_ROUND}`);
  ctx.figure(
    'by status',
    [...stats.byStatus]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}×${n}`)
      .join(' '),
  );
  ctx.figure(
    'routes covered',
    `${covered.length}/${ops.length} (requests per route: min ${Math.min(...perOp)}, max ${Math.max(...perOp)}; unrouted ${stats.byOp.get('unrouted') ?? 0})`,
  );
  ctx.figure('accepted mutations', stats.acceptedMutations);
  ctx.figure('refused requests proven to change no row', stats.verifiedRefused);
  ctx.figure('refused requests sharing a group with an accepted write (not attributable)', stats.unattributedRefused);
  ctx.figure('groups with an accepted write that changed the fingerprint', `${stats.writeGroupsChanged}/${stats.writeGroups}`);
  ctx.figure('rows at start → end', `${rowsAtStart} → ${totalRows(baseline)}`);
  ctx.figure('fingerprints', `${fingerprints} (${(fingerprintMs / Math.max(fingerprints, 1)).toFixed(1)} ms each)`);
  ctx.figure('probe requests', stats.probes);
  ctx.figure('connections opened', lanes.socketsOpened);
  ctx.figure('answers with Connection: close', stats.connectionClose);
  ctx.figure('socket errors', stats.socketErrors);
  ctx.figure('errors after a complete answer', lanes.lateErrors.length);
  ctx.figure('5xx', stats.fiveHundreds);
  ctx.figure('4xx not a matching problem+json', stats.badProblems);
  ctx.figure('bare 400s of the HTTP parser (raw non-ASCII in the request target)', stats.parserRefusals);
  ctx.figure('rows changed by refused requests', stats.rowsChangedByRefused);
  ctx.figure('maintenance passes during a check', stats.maintenanceInterference);
  ctx.figure('failing rounds', failedRounds);
  ctx.figure('shrunk failures', shrunk.length);
  ctx.figure('requests while shrinking', stats.shrinkRequests);
  ctx.figure('slowest answer', `${stats.slowest.ms.toFixed(0)} ms (${stats.slowest.what})`);
  if (stats.undocumented.size)
    ctx.figure(
      'statuses the document does not name',
      [...stats.undocumented]
        .sort(([, a], [, b]) => b - a)
        .map(([k, n]) => `${k}×${n}`)
        .join(', '),
    );

  if (verbose) {
    for (const [op, m] of [...stats.byOpStatus].sort(([a], [b]) => a.localeCompare(b)))
      ctx.log(`${op}: ${[...m].map(([st, n]) => `${st}×${n}`).join(' ')}`);
    for (const [op, texts] of refusedValid) ctx.log(`refused though meant to be valid, ${op}:\n  ${texts.join('\n  ')}`);
  }

  ctx.check(server.alive, `the server exited during the fuzz: ${JSON.stringify(server.exitInfo)}\n${server.output(30)}`);
  ctx.check(
    replay !== undefined || stats.requests >= plan.requests || ctx.signal.aborted,
    `only ${stats.requests} of ${plan.requests} requests went out`,
  );
  ctx.check(replay !== undefined || missing.length === 0, `routes without a request: ${missing.join(', ')}`);
  ctx.check(stats.fiveHundreds === 0, `${stats.fiveHundreds} answers ≥ 500`);
  ctx.check(stats.socketErrors === 0, `${stats.socketErrors} lost connections (socket errors, hang-ups, resets, timeouts)`);
  ctx.check(lanes.lateErrors.length === 0, `connection errors after a complete answer: ${lanes.lateErrors.slice(0, 5).join('; ')}`);
  ctx.check(stats.badProblems === 0, `${stats.badProblems} 4xx answers that are not application/problem+json with the same status`);
  ctx.check(
    stats.writeGroups === 0 || stats.writeGroupsChanged > 0,
    `the fingerprint never changed in ${stats.writeGroups} groups with accepted writes: it does not see writes`,
  );
  ctx.check(stats.rowsChangedByRefused === 0, `${stats.rowsChangedByRefused} groups of refused requests changed rows`);
  ctx.check(logged.unhandled.length === 0, `the server logged unhandled errors:\n${logged.unhandled.slice(0, 5).join('\n')}`);
  for (const [i, s] of shrunk.entries()) ctx.check(false, `shrunk failure ${i + 1} of ${failedRounds} failing rounds (seed ${seed}): ${s}`);
}

// ── helpers ───────────────────────────────────────────────────────────────────────────────────

const PROBE: Omit<FuzzRequest, 'lane'> = {
  op: 'probe',
  method: 'GET',
  path: '/healthz',
  headers: [],
  body: undefined,
  chunked: false,
  faults: [],
  noise: [],
};

/** Paths and methods outside the document (or another method on one of its paths). */
const UNROUTED = [
  '/',
  '/openapi.json',
  '/docs',
  '/docs/assets/init.js',
  '/docs/assets/swagger-ui.css',
  '/docs/assets/..%2F..%2Fpackage.json',
  '/docs/assets/%2e%2e%2fpackage.json',
  '/docs/assets/nope.js',
  '/tasks',
  '/tasks/',
  '//tasks',
  '/tasks/batch/x',
  '/TASKS',
  '/tasks%2Fbatch',
  '/tasks/00000000-0000-4000-8000-000000000000/nope',
  '/healthz',
  '/healthz/',
  '/metrics',
  '/schedules/fz-schedule',
  '/triggers',
  '/nope',
  '/%00',
  '/%',
  `/${'a'.repeat(8000)}`,
];

function parseReplay(v: string | undefined): { seed: number; path: string } | undefined {
  if (!v) return undefined;
  const m = /^(\d+):([\d:]+)$/.exec(v.trim());
  if (!m) throw new Error(`EVENTIX_FUZZ_REPLAY must be <round seed>:<path>, got ${v}`);
  return { seed: Number(m[1]), path: m[2] as string };
}

/** Why a 4xx answer is not a problem document of its own status, if it is not. */
function problemDefect(status: number, type: string, text: string, head: boolean): string | undefined {
  if (type !== 'application/problem+json') return `has content-type ${JSON.stringify(type)}`;
  if (head) return undefined;
  let p: { status?: unknown; type?: unknown; title?: unknown };
  try {
    p = JSON.parse(text) as typeof p;
  } catch {
    return `has a body that is not JSON: ${text.slice(0, 100)}`;
  }
  if (!p || typeof p !== 'object') return 'is no problem object';
  if (p.status !== status) return `says status ${JSON.stringify(p.status)}`;
  if (typeof p.type !== 'string' || typeof p.title !== 'string') return 'lacks type or title';
  return undefined;
}

/** Maintenance logs after it commits: give its line a moment to arrive (polling, not sleeping blind). */
async function maintenanceSpoke(logged: { maintenance: number }, before: number): Promise<boolean> {
  const deadline = Date.now() + 1_000;
  while (Date.now() < deadline) {
    if (logged.maintenance > before) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** Names the generator uses for schedules and triggers it creates, deletes and changes: a small pool, so that they meet again. */
const SCHEDULE_NAMES = ['fz-schedule', 'fz-paused', 'fz-s1', 'fz-s2', 'sweep:fz-sweep'];
const TRIGGER_NAMES = ['fz-trigger', 'fz-t1', 'fz-t2', 'sweep:fz-sweep'];
const SWEEP_NAMES = ['fz-sweep', 'fz-manual'];
const EVENT_NAMES = ['fz.event', 'commit.pushed', 'fz.other'];
const TASK_NAMES = ['fz.a', 'fz.b', 'fz.c'];

interface Fixtures {
  /** Tasks in each status: scheduled, done, error, cancelled, and then the running ones. */
  uids: string[];
  /** Claimed by `workerId`, lease an hour: a complete, fail or heartbeat with its token is accepted. */
  running: { uid: string; token: number }[];
  workerId: string;
  configIds: number[];
  shas: string[];
  metrics: string[];
}

// biome-ignore lint/suspicious/noExplicitAny: fixture answers are read loosely
type Api = (method: string, path: string, body?: unknown) => Promise<any>;

async function fixtures(api: Api, repo: { dir: string; shas: string[] }): Promise<Fixtures> {
  const ns = 'fz';
  const workerId = 'fz-worker';
  const day = new Date(Date.now() + 86_400_000).toISOString();
  const submit = async (task: string, extra: Record<string, unknown> = {}) =>
    (await api('POST', '/tasks', { task, namespace: ns, ...extra })).task.uid as string;
  const claim = async (task: string) => {
    const { tasks } = await api('POST', '/workers/claim', { worker_id: workerId, namespace: ns, tasks: [task], lease_seconds: 3600 });
    return tasks[0] as { uid: string; fencing_token: number };
  };
  const scheduled = await submit('fz.a', { eta: day, unique_key: 'fz-key-1' });
  await submit('fz.fixture.done');
  const d = await claim('fz.fixture.done');
  await api('POST', `/tasks/${d.uid}/complete`, { worker_id: workerId, fencing_token: d.fencing_token, result: { ok: true } });
  await submit('fz.fixture.error');
  const e = await claim('fz.fixture.error');
  await api('POST', `/tasks/${e.uid}/fail`, { worker_id: workerId, fencing_token: e.fencing_token, error: { message: 'x' }, retry: false });
  const cancelled = await submit('fz.fixture.cancel');
  await api('POST', `/tasks/${cancelled}/cancel`);
  const running: Fixtures['running'] = [];
  for (let i = 0; i < 4; i++) {
    await submit('fz.fixture.run');
    const c = await claim('fz.fixture.run');
    running.push({ uid: c.uid, token: c.fencing_token });
  }
  for (let i = 0; i < 6; i++) await submit(TASK_NAMES[i % 3] as string, { args: [i] });

  await api('POST', '/schedules', { name: 'fz-schedule', cron: '0 3 * * *', task: 'fz.b', namespace: ns });
  await api('POST', '/schedules', { name: 'fz-paused', cron: '*/5 * * * *', task: 'fz.c', namespace: ns, enabled: false });
  await api('POST', '/triggers', {
    name: 'fz-trigger',
    event_name: 'fz.event',
    template: { task: 'fz.c', args: [{ $ptr: '/n', $default: 0 }] },
  });
  await api('POST', '/events', { name: 'fz.event', namespace: ns, payload: { n: 1, branch: 'main' } });
  const marked = await api('POST', '/commits/mark', {
    repo: repo.dir,
    shas: ['HEAD', 'main~1'],
    status: 'complete',
    config: { clients: 50 },
  });
  const bench = benchmarkFixture('github-action-benchmark.json') as { name: string }[];
  const pushed = await api('POST', '/benchmarks/results', {
    repo: repo.dir,
    sha: repo.shas[0],
    branch: 'main',
    config: { clients: 50 },
    data: bench,
  });
  const configIds = [
    marked.config.id as number,
    ...((pushed.runs ?? []) as { config: { id: number } | null }[]).flatMap((r) => (r.config ? [r.config.id] : [])),
  ];
  return {
    uids: [scheduled, d.uid, e.uid, cancelled, ...running.map((r) => r.uid)],
    running,
    workerId,
    configIds: [...new Set(configIds)],
    shas: repo.shas,
    metrics: bench.map((b) => b.name),
  };
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v) ?? '').toString('base64url');

/**
 * Values for fields a generator from the schema alone would (almost) never get right, so that
 * enough requests get past validation to reach the queries behind it. Each hint is used three
 * times in four; the schema's own values the rest of the time.
 */
function hints(values: SchemaValues, fx: Fixtures, repo: { dir: string }): void {
  const soon = fc.integer({ min: -7 * 86_400, max: 30 * 86_400 }).map((s) => new Date(Date.now() + s * 1000).toISOString());
  const names = fc.constantFrom(...SCHEDULE_NAMES, ...TRIGGER_NAMES, ...EVENT_NAMES, 'fz-new');
  const jsonSmall = fc.jsonValue({ maxDepth: 1 });
  const commitStatuses = fc.oneof(
    fc.constantFrom('in_progress', 'benchmark_complete', 'complete', 'failed', 'complete,failed', 'done'),
    fc.subarray(['in_progress', 'complete', 'failed'], { minLength: 1 }),
  );
  const pointer = fc.constantFrom('/branch', '/n', '', '/a~1b', '/x/0', '/commit/sha', '/');
  values
    .hint('task', { arb: fc.constantFrom(...TASK_NAMES) })
    .hint('Claim.tasks', { arb: fc.subarray([...TASK_NAMES, 'fz.fixture.run'], { minLength: 1 }) })
    .hint('namespace', { arb: fc.constantFrom('fz', 'default', 'fz-bench') })
    .hint('worker_id', { arb: fc.constantFrom(fx.workerId, fx.workerId, 'fz-worker-2') })
    .hint('fencing_token', { arb: fc.oneof(fc.constantFrom(...fx.running.map((r) => r.token)), fc.integer({ min: 1, max: 80 })) })
    .hint('wait_seconds', { arb: fc.constantFrom(0, 0, 0.01, 0.05), exclusive: true })
    .hint('lease_seconds', { arb: fc.constantFrom(5, 30, 3600) })
    .hint('eta', { arb: soon })
    .hint('since', { arb: fc.oneof(soon, dateTime()) })
    .hint('unique_key', { arb: fc.constantFrom('fz-key-1', 'fz-key-2', 'fz-key-3') })
    .hint('error_eta_inc', { arb: fc.integer({ min: 1, max: 600 }) })
    .hint('error_eta_max', { arb: fc.integer({ min: 600, max: 366 * 86_400 }) })
    .hint('cron', {
      arb: fc.constantFrom(
        '*/5 * * * *',
        '0 3 * * *',
        '@daily',
        '@hourly',
        '0 0 1 1 *',
        '*/10 * * * * *',
        '0 0 30 2 *',
        '0 0 L * *',
        '0 0 * * 1#2',
        '0 0 29 2 1',
        'H * * * *',
        '61 * * * *',
        '* * * *',
        '@reboot',
        '*/0 * * * *',
        '1-0 * * * *',
      ),
    })
    .hint('timezone', {
      arb: fc.constantFrom(
        'UTC',
        'Europe/Berlin',
        'America/New_York',
        'Asia/Kolkata',
        'Pacific/Chatham',
        'Not/AZone',
        'utc',
        '+02:00',
        'EST5EDT',
      ),
    })
    .hint('name', { arb: names })
    .hint('ScheduleCreate.name', { arb: fc.constantFrom(...SCHEDULE_NAMES) })
    .hint('TriggerCreate.name', { arb: fc.constantFrom(...TRIGGER_NAMES) })
    .hint('TriggerPut.name', { arb: fc.constantFrom(...TRIGGER_NAMES) })
    .hint('EventPublish.name', { arb: fc.constantFrom(...EVENT_NAMES) })
    .hint('BenchmarkMetricPoint.name', { arb: fc.constantFrom(...fx.metrics, 'rps') })
    .hint('GithubActionBenchmarkEntry.name', { arb: fc.constantFrom(...fx.metrics) })
    .hint('event_name', { arb: fc.constantFrom(...EVENT_NAMES) })
    .hint('payload', {
      arb: fc.record({ n: fc.integer({ min: 0, max: 3 }), branch: fc.constantFrom('main', 'dev') }, { requiredKeys: [] }),
    })
    .hint('TriggerTemplate.args', { arb: fc.oneof(fc.array(jsonSmall, { maxLength: 3 }), fc.record({ $ptr: pointer })) })
    .hint('TriggerTemplate.kwargs', {
      arb: fc.oneof(fc.dictionary(fc.string({ maxLength: 5 }), jsonSmall, { maxKeys: 3 }), fc.record({ $ptr: pointer })),
    })
    .hint('filter', {
      arb: fc.constantFrom<unknown>(
        null,
        { field: '/branch', eq: 'main' },
        { field: '/n', in: [1, 2] },
        { all: [{ field: '/n', exists: true }, { not: { field: '/branch', prefix: 'x' } }] },
        {
          any: [
            { field: '/branch', prefix: 'ma' },
            { field: '/n', eq: 0 },
          ],
        },
      ),
    })
    .hint('repo', {
      arb: fc.oneof(
        { weight: 3, arbitrary: fc.constant(repo.dir) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            `${repo.dir}/`,
            `${repo.dir}/.git`,
            `${repo.dir}/../${path.basename(repo.dir)}`,
            '/nonexistent',
            'relative/path',
            '/etc',
            '/',
          ),
        },
      ),
    })
    .hint('branch', {
      arb: fc.constantFrom(
        'main',
        'main',
        'HEAD',
        'HEAD~1',
        'main~2',
        fx.shas[0] as string,
        'nope',
        'main..HEAD',
        'refs/heads/main',
        '@{-1}',
        'HEAD~100',
      ),
    })
    .hint('shas', {
      arb: fc.array(fc.constantFrom(...fx.shas, 'HEAD', 'main~1', 'deadbeef', 'HEAD^{tree}'), { minLength: 1, maxLength: 4 }),
    })
    .hint('sha', { arb: fc.constantFrom(...fx.shas) })
    .hint('getCommits.sha', { arb: fc.constantFrom(...fx.shas, ...fx.shas.map((s) => s.slice(0, 7))) })
    .hint('getCommitsExport.sha', { arb: fc.constantFrom(...fx.shas, ...fx.shas.map((s) => s.slice(0, 7))) })
    .hint('config', { arb: fc.constantFrom<unknown>({ clients: 50 }, { clients: 1 }, [{ data_sizes: [16, 64], 'io-threads': 1 }], {}, []) })
    .hint('getBenchmarksRuns.config', { arb: fc.constantFrom(...fx.configIds.map(String)) })
    .hint('getBenchmarksSeries.config', { arb: fc.constantFrom(...fx.configIds.map(String)) })
    .hint('config_id', { arb: fc.constantFrom(...fx.configIds, 999_999) })
    .hint('task_uid', { arb: fc.constantFrom(...fx.uids) })
    .hint('getTasks.status', {
      arb: fc.oneof(
        fc.constantFrom('scheduled', 'processing', 'done', 'error', 'retry', 'cancelled', 'done,error', 'complete'),
        fc.subarray(['scheduled', 'done', 'error'], { minLength: 1 }),
      ),
    })
    .hint('getCommits.status', { arb: commitStatuses })
    .hint('getCommitsExport.status', { arb: commitStatuses })
    .hint('metric', { arb: fc.constantFrom(...fx.metrics) })
    .hint('field', { arb: pointer })
    .hint('$ptr', { arb: pointer })
    .hint('cursor', {
      arb: fc.oneof(
        fc.jsonValue({ maxDepth: 2 }).map(b64),
        fc.record({ i: fc.integer({ min: -1, max: 100 }) }).map(b64),
        fc.record({ c: dateTime(), i: fc.integer({ min: 0, max: 100 }) }).map(b64),
        fc.record({ a: dateTime(), i: fc.integer({ min: 0, max: 100 }) }).map(b64),
        fc.constantFrom(...SCHEDULE_NAMES).map((n) => Buffer.from(n).toString('base64url')),
        fc.constantFrom(b64({ i: 2 ** 63 }), b64({ i: '1' }), b64([1, 2]), b64(null), '!!!', 'eyJ', '===='),
      ),
    })
    .hint('data', {
      arb: fc.oneof(
        values.component('GithubActionBenchmarkResults'),
        values.component('BenchmarkResultsEventix'),
        fc.constantFrom<unknown>(...['github-action-benchmark.json', 'eventix.json', 'valkey-metrics.json'].map(benchmarkFixture)),
      ),
    })
    .hint('records', {
      arb: fc.array(
        fc.record(
          {
            sha: fc.constantFrom(...fx.shas),
            timestamp: dateTime(),
            status: fc.constantFrom('complete', 'failed', 'in_progress', 'benchmark_complete', 'done'),
            config: fc.constantFrom<unknown>({ clients: 50 }, { clients: 2 }),
            repo: fc.constantFrom(repo.dir, '/elsewhere'),
          },
          { requiredKeys: ['sha', 'timestamp', 'status'] },
        ),
        { maxLength: 4 },
      ),
    });
}

function benchmarkFixture(name: string): unknown {
  return JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/benchmarks', name), 'utf8'));
}

/** Path parameters by name, or by operation and name: mostly what exists (or existed), now and then anything. */
function pathParamHints(fx: Fixtures, ops: Operation[]): Record<string, fc.Arbitrary<string>> {
  const enc = (s: string) => encodeURIComponent(s);
  const named = (pool: string[]) =>
    fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...pool).map(enc) },
      { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,40}$/).map(enc) },
    );
  const out: Record<string, fc.Arbitrary<string>> = {
    uid: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...fx.uids) },
      { weight: 3, arbitrary: fc.constantFrom(...fx.running.map((r) => r.uid)) },
      { weight: 1, arbitrary: fc.constantFrom(...fx.uids).map((u) => u.toUpperCase()) },
      { weight: 2, arbitrary: fc.uuid() },
      { weight: 1, arbitrary: fc.constantFrom('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff') },
    ),
    name: named([...SCHEDULE_NAMES, ...TRIGGER_NAMES, ...SWEEP_NAMES]),
    namespace: fc.constantFrom('fz', 'default', 'fz-bench').map(enc),
    unique_key: fc.oneof(fc.constantFrom('fz-key-1', 'fz-key-2').map(enc), fc.string({ minLength: 1, maxLength: 20 }).map(enc)),
    id: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...fx.configIds.map(String)) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('0', '1', '99999999', '-1', '1.0', '0x1', '9007199254740993', '1e2', '0001', String(2 ** 53)),
      },
    ),
  };
  for (const op of ops) {
    if (op.path.startsWith('/schedules/')) out[`${op.id}.name`] = named(SCHEDULE_NAMES);
    else if (op.path.startsWith('/triggers/')) out[`${op.id}.name`] = named(TRIGGER_NAMES);
    else if (op.path.startsWith('/sweeps/')) out[`${op.id}.name`] = named(SWEEP_NAMES);
  }
  return out;
}

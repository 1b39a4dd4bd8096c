// What a run reports: the tables on stdout and the JSON in bench/results/latest.json.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { HttpResult } from './http.ts';
import { COMMON_DRIVING, METHODOLOGY, RATIO_CONVENTION, runCaption, scenarioCaption } from './methodology.ts';
import { type Options, PEERS_OF_RECORD } from './options.ts';
import { vacuumMs } from './quiet.ts';
import { summarize } from './stats.ts';
import type { SystemResult } from './system.ts';

/** What the report says about the server it ran on. */
export interface ReportContext {
  opts: Options;
  /** The database, as BenchServer.description names it. */
  database: string;
  settings: Record<string, string>;
}

export type Ratios = Record<
  string,
  { enqueue?: number; processed?: number; p50?: number; p95?: number; p99?: number; scenarios?: Record<string, number | undefined> }
>;

const fmtRate = (v: number | undefined) => (v === undefined ? '—' : Math.round(v).toLocaleString('en-US'));
const fmtMs = (v: number | undefined) => (v === undefined ? '—' : v < 10 ? v.toFixed(2) : v.toFixed(1));
const fmtRatio = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(2)}×`);

/** A plain-text table: the first column left-aligned, the others right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The median over rounds of eventix/peer in the same round: each round's two rates were measured minutes apart, not a run apart. */
function roundRatio(ev: readonly number[] | undefined, peer: readonly number[] | undefined): number | undefined {
  if (!ev || !peer) return undefined;
  const n = Math.min(ev.length, peer.length);
  const per: number[] = [];
  for (let i = 0; i < n; i++) if ((peer[i] as number) > 0) per.push((ev[i] as number) / (peer[i] as number));
  return per.length ? summarize(per).p50 : undefined;
}

/** Eventix against each peer of record that succeeded, by RATIO_CONVENTION; undefined when Eventix failed. */
export function ratios(results: SystemResult[]): Ratios | undefined {
  const ev = results.find((r) => r.key === 'eventix' && r.ok);
  if (!ev) return undefined;
  const out: Ratios = {};
  for (const peer of results) {
    if (peer.key === 'eventix' || !peer.ok || !PEERS_OF_RECORD.has(peer.key)) continue;
    const div = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? undefined : a / b);
    type Rates = { perSecond: number; samples: number[] } | undefined;
    const processed = (e: Rates, p: Rates) => roundRatio(e?.samples, p?.samples) ?? div(e?.perSecond, p?.perSecond);
    const scenarios = Object.keys(ev.scenarios ?? {});
    out[peer.key] = {
      enqueue: div(ev.enqueue?.perSecond, peer.enqueue?.perSecond),
      processed: processed(ev.process, peer.process),
      p50: div(peer.latency?.p50, ev.latency?.p50),
      p95: div(peer.latency?.p95, ev.latency?.p95),
      p99: div(peer.latency?.p99, ev.latency?.p99),
      ...(scenarios.length
        ? { scenarios: Object.fromEntries(scenarios.map((s) => [s, processed(ev.scenarios?.[s], peer.scenarios?.[s])])) }
        : {}),
    };
  }
  return out;
}

/** The ratio tables' rows: each peer's display name, the best at no-op processing first (so marked). */
function peerRows(results: SystemResult[], rat: Ratios): [string, Ratios[string]][] {
  const names = new Map(results.map((r) => [r.key, r.name]));
  const processed = new Map(results.map((r) => [r.key, r.process?.perSecond ?? -1]));
  // The best peer first: the fastest at processing is the one a team choosing for throughput compares with.
  const order = Object.entries(rat).sort(([a], [b]) => (processed.get(b) ?? -1) - (processed.get(a) ?? -1));
  return order.map(([k, v], i) => [`${names.get(k) ?? k}${i === 0 && order.length > 1 ? ' — best peer' : ''}`, v]);
}

/** The shapes of work after noop: processed/s per system and scenario, then Eventix's ratios. */
function printScenarios(opts: Options, results: SystemResult[], rat: Ratios | undefined): void {
  const names = opts.scenarios.filter((s) => s !== 'noop');
  if (names.length === 0) return;
  console.log(`\nShapes of work — ${scenarioCaption(opts)}\n`);
  const rows = results.map((r) => [r.name, ...names.map((s) => fmtRate(r.scenarios?.[s]?.perSecond))]);
  console.log(table(['system', ...names.map((s) => `${s} processed/s`)], rows));
  if (rat && Object.keys(rat).length) {
    console.log(`\nEventix vs peer, shapes of work — processed/s ratio = eventix / peer (> 1: Eventix better), median over rounds\n`);
    const peers = peerRows(results, rat).map(([name, v]) => [name, ...names.map((s) => fmtRatio(v.scenarios?.[s]))]);
    console.log(table(['peer', ...names], peers));
  }
}

/** The results, the ratios, the HTTP phase and how each system was driven, on stdout. */
export function printReport(ctx: ReportContext, results: SystemResult[], rat: Ratios | undefined, http: HttpResult | undefined): void {
  const { opts, database, settings: server } = ctx;
  const rows = results.map((r) => [
    r.name,
    fmtRate(r.enqueue?.perSecond),
    fmtRate(r.process?.perSecond),
    fmtMs(r.latency?.p50),
    fmtMs(r.latency?.p95),
    fmtMs(r.latency?.p99),
    r.exactlyOnce?.ok ? 'yes' : r.exactlyOnce ? 'NO' : '—',
    r.ok ? 'ok' : `FAILED: ${r.error ?? ''}`,
  ]);
  console.log(
    `\nEventix queue benchmark — PostgreSQL ${server.server_version}, ${database}, fsync=${server.fsync}, synchronous_commit=${server.synchronous_commit}`,
  );
  console.log(`${runCaption(opts)}\n`);
  console.log(table(['system', 'enqueue/s', 'processed/s', 'p50 ms', 'p95 ms', 'p99 ms', 'exactly-once', 'status'], rows));

  if (rat && Object.keys(rat).length) {
    console.log(`\nEventix vs peer — ${RATIO_CONVENTION}\n`);
    console.log(
      table(
        ['peer', 'enqueue/s', 'processed/s', 'p50', 'p95', 'p99'],
        peerRows(results, rat).map(([name, v]) => [
          name,
          fmtRatio(v.enqueue),
          fmtRatio(v.processed),
          fmtRatio(v.p50),
          fmtRatio(v.p95),
          fmtRatio(v.p99),
        ]),
      ),
    );
  }
  printScenarios(opts, results, rat);
  if (vacuumMs.size) {
    const each = [...vacuumMs].map(([db, ms]) => `${db} ${(ms / 1000).toFixed(2)} s`).join(', ');
    console.log(`\nVACUUM between rounds (bench/quiet.ts; in no rate), summed over the run per database: ${each}`);
  }
  if (http) {
    console.log(`\nEventix HTTP API — ${http.connections} connections, ${http.seconds} s per phase (autocannon in a worker thread)\n`);
    console.log(
      table(
        ['request', 'requests/s', 'tasks/s', 'p50 ms', 'p90 ms', 'p99 ms', 'non-2xx', 'errors', 'stored ≥ acknowledged'],
        http.phases.map((p) => [
          `POST ${p.path}${p.tasksPerRequest > 1 ? ` (${p.tasksPerRequest} tasks)` : ''}`,
          fmtRate(p.requestsPerSecond),
          fmtRate(p.tasksPerSecond),
          fmtMs(p.latencyMs.p50),
          fmtMs(p.latencyMs.p90),
          fmtMs(p.latencyMs.p99),
          String(p.non2xx),
          String(p.errors),
          p.ok ? 'yes' : 'NO',
        ]),
      ),
    );
  }
  console.log('\nHow each system was driven:');
  for (const r of results) for (const note of r.notes) console.log(`  ${r.name}: ${note}`);
  console.log(`  ${COMMON_DRIVING}`);
}

/** The whole run as JSON, in opts.out; says on stdout where it went. */
export async function writeJsonReport(
  ctx: ReportContext,
  results: SystemResult[],
  rat: Ratios | undefined,
  http: HttpResult | undefined,
): Promise<void> {
  const { opts } = ctx;
  const report = {
    generatedAt: new Date().toISOString(),
    command: `tsx bench/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
    environment: {
      node: process.version,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      database: ctx.database,
      postgres: ctx.settings,
    },
    parameters: {
      n: opts.n,
      concurrency: opts.concurrency,
      enqueueBatch: opts.batch,
      enqueueRounds: opts.enqueueRounds,
      latencySamples: opts.latency,
      latencyGapMs: opts.gapMs,
      warmupJobs: opts.warmup,
      systems: opts.systems,
      scenarios: opts.scenarios,
    },
    methodology: METHODOLOGY,
    results,
    vacuumMs: Object.fromEntries(vacuumMs),
    ratios: rat ?? null,
    http: http ?? null,
  };
  await mkdir(path.dirname(opts.out), { recursive: true });
  await writeFile(opts.out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nJSON: ${path.relative(process.cwd(), opts.out) || opts.out}`);
}

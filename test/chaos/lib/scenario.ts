import type { Managed } from './processes.ts';

export type Figure = number | string;

/** What a scenario gets from the runner. Everything it starts goes through `scope`, so Ctrl-C and failures clean up. */
export interface ScenarioContext {
  /** The shortened form that .ci/run uses: fewer kills, one restart. */
  short: boolean;
  log(message: string): void;
  /** Record a figure for the report. */
  figure(name: string, value: Figure): void;
  /** Record a failed check (the scenario goes on, so the report shows every loss, and then fails). */
  check(ok: boolean, message: string): void;
  /** Run `fn` when the scenario ends, however it ends; last registered runs first. */
  defer(fn: () => Promise<unknown> | unknown): void;
  /** Register a process: killed (its whole group) when the scenario ends. */
  track<P extends Managed>(p: P): P;
  /** Aborted on Ctrl-C: long loops should stop early and let `defer` clean up. */
  signal: AbortSignal;
}

export interface Scenario {
  name: string;
  summary: string;
  run(ctx: ScenarioContext): Promise<void>;
}

export interface ScenarioResult {
  name: string;
  ok: boolean;
  seconds: number;
  figures: Record<string, Figure>;
  failures: string[];
}

/** Runs one scenario with its own clean-up scope, collecting figures and failed checks. */
export async function runScenario(
  s: Scenario,
  opts: { short: boolean; signal: AbortSignal; log?: (m: string) => void },
): Promise<ScenarioResult> {
  const figures: Record<string, Figure> = {};
  const failures: string[] = [];
  const deferred: (() => Promise<unknown> | unknown)[] = [];
  const log = opts.log ?? ((m: string) => process.stdout.write(`[${s.name}] ${m}\n`));
  const started = Date.now();
  const ctx: ScenarioContext = {
    short: opts.short,
    log,
    signal: opts.signal,
    figure: (name, value) => {
      figures[name] = value;
    },
    check: (ok, message) => {
      if (!ok) {
        failures.push(message);
        log(`FAIL: ${message}`);
      }
    },
    defer: (fn) => void deferred.push(fn),
    track: (p) => {
      deferred.push(() => p.stop(5_000));
      return p;
    },
  };
  try {
    await s.run(ctx);
  } catch (err) {
    failures.push(`aborted: ${(err as Error)?.stack ?? String(err)}`);
    log(`FAIL: ${(err as Error)?.message ?? err}`);
  } finally {
    for (const fn of deferred.reverse()) {
      try {
        await fn();
      } catch (err) {
        log(`clean-up step failed: ${(err as Error)?.message ?? err}`);
      }
    }
  }
  if (opts.signal.aborted) failures.push('cancelled (Ctrl-C)');
  return { name: s.name, ok: failures.length === 0, seconds: (Date.now() - started) / 1000, figures, failures };
}

/** Poll until `check` holds or the deadline passes; never a bare sleep for synchronization. */
export async function until<T>(
  check: () => T | Promise<T>,
  opts: { timeoutMs: number; intervalMs?: number; message: string },
): Promise<NonNullable<T>> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out: ${opts.message}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

/** Pace a loop (a storm's kills are spread over time): not used to wait for anything to happen. */
export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Deterministic pseudo-random numbers (mulberry32), so a failing run can be repeated with its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

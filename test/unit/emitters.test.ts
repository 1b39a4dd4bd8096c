import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { isConnectionError, reconnectDelay } from '../../src/db/connection-errors.ts';
import { freePort } from '../../src/db/embedded.ts';
import { silentLogger } from '../../src/logger.ts';
import { Scheduler } from '../../src/scheduler/scheduler.ts';
import { Maintenance } from '../../src/worker/maintenance.ts';
import { Notifier } from '../../src/worker/notifier.ts';
import { WorkerPresence } from '../../src/worker/presence.ts';
import { defineTask } from '../../src/worker/registry.ts';
import { Worker } from '../../src/worker/worker.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Node throws an 'error' event that nobody listens to: one emitted from a socket handler or a
 * timer ends the process (`eventix start` exited 1 on a database restart, from the Notifier).
 * Our emitters report failures as typed events ('worker:error', 'listen:lost', ...) instead.
 */

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

/** Every class in src that is an EventEmitter, directly or through another of ours, with its file. */
function emitterClasses(): Map<string, string> {
  const files = sources(SRC).map((f) => ({ file: path.relative(SRC, f), text: readFileSync(f, 'utf8') }));
  const found = new Map<string, string>();
  let bases = new Set(['EventEmitter']);
  for (;;) {
    const before = found.size;
    for (const { file, text } of files) {
      for (const m of text.matchAll(/class\s+(\w+)(?:<[^{]*?>)?\s+extends\s+(\w+)/g)) {
        if (bases.has(m[2] as string)) found.set(m[1] as string, file);
      }
    }
    if (found.size === before) return found;
    bases = new Set(['EventEmitter', ...found.keys()]);
  }
}

describe('no emitter of ours emits an unlistened error event', () => {
  it('finds the emitters (the check below must not pass vacuously)', () => {
    expect([...emitterClasses().keys()].sort()).toEqual(
      expect.arrayContaining(['Maintenance', 'Notifier', 'RemoteWorker', 'Scheduler', 'Worker', 'WorkerPresence']),
    );
  });

  it("no class that extends EventEmitter declares or emits an 'error' event", () => {
    const offenders: string[] = [];
    for (const [name, file] of emitterClasses()) {
      const text = readFileSync(path.join(SRC, file), 'utf8');
      // An `error: [...]` entry in an event map, or a literal emit of 'error'.
      if (/^\s*['"]?error['"]?\s*:\s*\[/m.test(text)) offenders.push(`${name} (${file}) declares an 'error' event`);
      if (/emit\(\s*['"`]error['"`]/.test(text)) offenders.push(`${name} (${file}) emits 'error'`);
    }
    expect(offenders).toEqual([]);
  });

  it("src never emits 'error' on any emitter", () => {
    const hits = sources(SRC).filter((f) => /\.emit\(\s*['"`]error['"`]/.test(readFileSync(f, 'utf8')));
    expect(hits.map((f) => path.relative(SRC, f))).toEqual([]);
  });
});

describe('with the database unreachable (a port nobody listens on), with no listeners attached', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function deadUrl(): Promise<string> {
    return `postgres://eventix:x@127.0.0.1:${await freePort()}/eventix`;
  }

  /** Record every event an emitter emits, listeners or not. */
  function spy(emitter: { emit: (event: string | symbol, ...args: unknown[]) => boolean }): string[] {
    const events: string[] = [];
    const emit = emitter.emit.bind(emitter);
    emitter.emit = (event, ...args) => {
      events.push(String(event));
      return emit(event, ...args);
    };
    return events;
  }

  it('Notifier keeps retrying with backoff and never emits error', async () => {
    const n = new Notifier({ connectionString: await deadUrl() }, silentLogger, { baseRetryMs: 10, maxRetryMs: 40 });
    const events = spy(n as never);
    cleanup.push(() => n.stop());
    await n.start();
    await waitFor(() => events.filter((e) => e === 'listen:lost').length >= 3, { message: 'three failed attempts' });
    expect(n.listening).toBe(false);
    expect(events).not.toContain('error');
  });

  it('Maintenance passes fail, are reported as maintenance:error, and keep coming', async () => {
    const pool = new pg.Pool({ connectionString: await deadUrl() });
    cleanup.push(() => pool.end());
    const m = new Maintenance({ pool, logger: silentLogger, intervalMs: 10 });
    const events = spy(m as never);
    m.start();
    cleanup.push(() => m.stop());
    await waitFor(() => events.filter((e) => e === 'maintenance:error').length >= 3, { message: 'three failed passes' });
    expect(events).not.toContain('error');
  });

  it('WorkerPresence upserts fail, are reported as presence:error, keep coming, and stop() still resolves', async () => {
    const pool = new pg.Pool({ connectionString: await deadUrl() });
    cleanup.push(() => pool.end());
    const p = new WorkerPresence({
      pool,
      logger: silentLogger,
      workerId: 'dead:1:aa',
      namespaces: ['x'],
      tasks: ['x'],
      concurrency: 1,
      intervalMs: 10,
    });
    const events = spy(p as never);
    await p.start();
    await waitFor(() => events.filter((e) => e === 'presence:error').length >= 3, { message: 'three failed upserts' });
    await p.stop();
    expect(events).not.toContain('error');
  });

  it('Scheduler ticks fail and it keeps ticking', async () => {
    const pool = new pg.Pool({ connectionString: await deadUrl() });
    cleanup.push(() => pool.end());
    const s = new Scheduler({ pool, intervalMs: 10 });
    const events = spy(s as never);
    s.start();
    cleanup.push(() => s.stop());
    await waitFor(() => events.filter((e) => e === 'scheduler:error').length >= 3, { message: 'three failed ticks' });
    expect(s.status).toBe('running');
    expect(events).not.toContain('error');
  });

  it('Worker (LISTEN, maintenance, claims) keeps running and reports through worker:error only', async () => {
    const pool = new pg.Pool({ connectionString: await deadUrl() });
    pool.on('error', () => {});
    cleanup.push(() => pool.end());
    const w = new Worker({ pool, tasks: [defineTask('x', () => 1)], pollIntervalMs: 10, maintenanceIntervalMs: 10 });
    const events = spy(w as never);
    const during = new Set<string>();
    w.on('worker:error', (e) => during.add(e.during));
    await w.start();
    cleanup.push(() => w.stop());
    await waitFor(() => during.has('claim') && during.has('listen') && during.has('maintenance') && during.has('presence'), {
      message: `errors seen: ${[...during]}`,
    });
    expect(w.status).toBe('running');
    expect(events).not.toContain('error');
  });
});

describe('isConnectionError', () => {
  const pgError = (code: string) => Object.assign(new Error('x'), { code });
  it('says yes to what a restart, a killed backend or a refused connection produce', () => {
    for (const code of ['57P01', '57P02', '57P03', '08006', '08001', '08P01', '53300', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE'])
      expect(isConnectionError(pgError(code)), code).toBe(true);
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(new Error('Connection terminated due to connection timeout'))).toBe(true);
    expect(isConnectionError(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isConnectionError(new Error('Client has encountered a connection error and is not queryable'))).toBe(true);
    // Wrapped (drizzle's DrizzleQueryError keeps the driver's error as cause) or aggregated (several addresses).
    expect(isConnectionError(new Error('Failed query', { cause: pgError('57P01') }))).toBe(true);
    expect(isConnectionError(new AggregateError([pgError('ECONNREFUSED'), pgError('ECONNREFUSED')]))).toBe(true);
  });

  it('says no to errors of the statement or the data', () => {
    for (const code of ['23505', '22P02', '42P01', '40001', '57014']) expect(isConnectionError(pgError(code)), code).toBe(false);
    expect(isConnectionError(new Error('boom'))).toBe(false);
    expect(isConnectionError(undefined)).toBe(false);
    expect(isConnectionError('ECONNREFUSED')).toBe(false);
  });
});

describe('reconnectDelay', () => {
  it('doubles from the base up to the cap, each delay in the upper half of its step', () => {
    const low = (a: number) => reconnectDelay(a, { baseMs: 100, maxMs: 1000 }, () => 0);
    const high = (a: number) => reconnectDelay(a, { baseMs: 100, maxMs: 1000 }, () => 1);
    expect([1, 2, 3, 4, 5, 50].map(low)).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 50].map(high)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});

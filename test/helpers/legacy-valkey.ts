import type pg from 'pg';

/**
 * valkey-perf-benchmark's tables as utils/postgres_track_commits.py creates them (seed 000:
 * sha, timestamp, status, config jsonb, unique (sha, config); architecture added later; one table
 * per module), and benchmark_metrics with metrics.json's fields as columns.
 */
const SCHEMA = `
create table benchmark_commits (
  sha varchar(64) not null, timestamp timestamp, status varchar(32) not null, config jsonb not null, architecture varchar(32),
  unique (sha, config));
create table benchmark_commits_search (sha varchar(64) not null, timestamp timestamptz, status varchar(32) not null, config jsonb not null, unique (sha, config));
create table benchmark_commits_json (sha varchar(64) not null, timestamp timestamptz, status varchar(32) not null, config jsonb not null, unique (sha, config));
create table benchmark_metrics (
  id serial primary key, timestamp timestamp, commit varchar(64), repository varchar, command varchar, data_size int, pipeline int, clients int,
  requests bigint, rps double precision, avg_latency_ms double precision, p50_latency_ms double precision, p99_latency_ms double precision,
  architecture varchar, cluster_mode boolean, tls boolean, status varchar, config jsonb);
`;
export const A = 'a'.repeat(40);
export const B = 'b'.repeat(40);
export const C = 'c'.repeat(40);
const CFG = '{"requests": 10000000, "clients": [50], "pipelines": [1, 10]}';

export async function fillValkey(c: pg.ClientBase) {
  await c.query(SCHEMA);
  await c.query(
    `insert into benchmark_commits values
     ($1, '2026-05-01 10:00:00', 'complete', $4, 'x86_64'),
     ($2, '2026-05-02 10:00:00', 'complete', $4, 'x86_64'),
     ($3, '2026-05-03 10:00:00', 'in_progress', $4, 'x86_64'),
     ($3, '2026-05-03 10:00:00', 'failed', '{"requests": 1}', null),
     ('HEAD', '2026-05-03 10:00:00', 'complete', $4, null),
     ($1, '2026-05-01 10:00:00', 'done', '{"x": 1}', null)`,
    [A, B, C, CFG],
  );
  await c.query(`insert into benchmark_commits_search values ($1, '2026-04-01T00:00:00Z', 'complete', '{"suite": "vector"}')`, [
    'd'.repeat(40),
  ]);
  await c.query(`insert into benchmark_commits_json values ($1, '2026-04-01T00:00:00Z', 'complete', '{}')`, ['e'.repeat(40)]);
  await c.query(
    `insert into benchmark_metrics (timestamp, commit, command, data_size, pipeline, clients, requests, rps, avg_latency_ms, p50_latency_ms, p99_latency_ms, architecture, cluster_mode, tls, status, config) values
     ('2026-05-01 10:00:00', $1, 'SET', 16, 10, 50, 10000000, 182000.5, 0.261, 0.255, 0.415, 'x86_64', false, false, 'success', $3),
     ('2026-05-01 10:00:00', $1, 'GET', 16, 10, 50, 10000000, 201000.0, 0.231, 0.225, 0.395, 'x86_64', false, false, 'success', $3),
     ('2026-05-02 10:00:00', $2, 'SET', 16, 10, 50, 10000000, 150000.0, 0.301, 0.295, 0.515, 'x86_64', false, false, 'success', $3),
     ('2026-05-02 10:00:00', 'HEAD', 'SET', 16, 10, 50, 10000000, 150000.0, 0.301, 0.295, 0.515, 'x86_64', false, false, 'success', null),
     ('2026-05-02 10:00:00', $2, 'GET', 16, 10, 50, 10000000, null, null, null, null, 'x86_64', false, false, 'failed', null),
     ('2026-05-02 10:00:00', 'not-a-sha', 'GET', 16, 10, 50, 10000000, 1, 0.3, 0.3, 0.5, 'x86_64', false, false, 'success', null)`,
    [A, B, CFG],
  );
}

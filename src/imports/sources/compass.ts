import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { z } from 'zod';
import { type FieldIssue, ValidationError } from '../../errors.ts';
import { canonicalJson } from '../../tracking/canonical.ts';
import { branch as branchSchema, repo as repoSchema, sha as shaSchema } from '../../tracking/formats/normalized.ts';
import { prepareResults } from '../../tracking/ingest.ts';
import { issuesOf } from '../../validation/zod.ts';
import { runStateOf } from '../targets/benchmark-runs.ts';
import type { ImportSource, SourceItem } from '../types.ts';
import { derivedUid } from './python-eventix-records.ts';

/**
 * Compass (seed 002): `data/benchmarks.json` in its SQL-aligned schema (phase 1: model_hf_repo,
 * hardware, hardware_count, framework, itl_*, e2e_*, tokens_per_second, the traffic fields…),
 * a bare array or `{"benchmarks": [...]}`. Each record becomes one benchmark run, validated and
 * mapped by the results store's own `llm-profile` format, exactly as `eventix results push`
 * stores it; a record it refuses is refused here with its messages, named
 * `benchmarks.json[12].tpot_p90`.
 *
 * The records name no repository or commit: --repo and --sha do, as for the push.
 *
 * Each run's uid is derived from what the record *is*, not where it sits: the repository, the
 * commit, and the record's profile (every field that is not a metric: model, hardware, count,
 * framework and version, the traffic characteristics, any other tag), the set a nearest-profile
 * lookup tells profiles apart by. So the file may gain records, lose them or be reordered, and
 * a re-import creates only the new profiles and leaves the rest unchanged; a record whose
 * numbers changed for the same profile is refused (runs are append-only). A file path is not
 * part of it either: the same file moved is the same data. Two records of one profile in one
 * file are one run: the second is refused, naming the first.
 */
export interface CompassOptions {
  file: string;
  repo: string;
  sha: string;
  branch?: string | undefined;
}

const BATCH = 500;
/** The namespace of the derived run uids: the data's identity, the same from any copy of the file. */
const NAMESPACE = 'compass';

/** A flag checked by the results store's own rule for the field, named as the flag. */
export function checked<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ValidationError(issuesOf(r.error, field, field));
  return r.data;
}

function recordsOf(data: unknown): unknown[] {
  if (Array.isArray(data)) return data;
  if (typeof data === 'object' && data !== null) {
    const doc = data as Record<string, unknown>;
    if (doc.format !== undefined && doc.format !== 'llm-profile') {
      throw new ValidationError([
        { field: 'file', message: `names format ${JSON.stringify(doc.format)}: only Compass's benchmarks.json (llm-profile) is read here` },
      ]);
    }
    if (Array.isArray(doc.benchmarks)) return doc.benchmarks;
  }
  throw new ValidationError([{ field: 'file', message: 'must be a JSON array of benchmark records, or {"benchmarks": [...]}' }]);
}

/** One record → a benchmark run, or its refusal with the results store's own messages. */
export function mapCompassRecord(record: unknown, o: { path: string; repo: string; sha: string; branch: string | undefined }): SourceItem {
  try {
    const prepared = prepareResults(
      { data: [record], format: 'llm-profile', repo: o.repo, sha: o.sha, branch: o.branch },
      { root: o.path },
    );
    const run = prepared.runs[0];
    if (!run) return { kind: 'benchmark_run', path: o.path, skipped: prepared.skipped[0]?.message ?? 'holds no measurement' };
    // Every metric of a record carries the record's tags: they are its profile.
    const profile = run.metrics[0]?.tags ?? {};
    const key = derivedUid(NAMESPACE, [o.repo, o.sha, canonicalJson(profile)].join('\u001f'));
    return { kind: 'benchmark_run', path: o.path, key, state: runStateOf(run) };
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    // The format names the one record `0` (`0.tpot_p90`): it is the file's record at o.path.
    const field = (f: string) => (f === '0' ? o.path : f.startsWith('0.') ? `${o.path}${f.slice(1)}` : `${o.path}.${f}`);
    return { kind: 'benchmark_run', path: o.path, refused: err.issues.map((i: FieldIssue) => ({ ...i, field: field(i.field) })) };
  }
}

export async function compassFile(o: CompassOptions): Promise<ImportSource> {
  const repo = checked(repoSchema, o.repo, 'repo');
  const sha = checked(shaSchema, o.sha, 'sha');
  const branch = o.branch === undefined ? undefined : checked(branchSchema, o.branch, 'branch');
  const file = resolve(o.file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ValidationError([{ field: 'file', message: `cannot be read: ${(err as Error).message}` }]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ValidationError([{ field: 'file', message: `is not JSON: ${(err as Error).message}` }]);
  }
  const records = recordsOf(data);
  const name = basename(file);
  return {
    name: 'compass',
    sourceKey: `compass:${file}`,
    options: { file, repo, sha, branch: branch ?? null, format: 'llm-profile' },
    async count() {
      return records.length;
    },
    async *batches() {
      for (let start = 0; start < records.length; start += BATCH) {
        yield records
          .slice(start, start + BATCH)
          .map((record, i) => mapCompassRecord(record, { path: `${name}[${start + i}]`, repo, sha, branch }));
      }
    },
    async close() {},
  };
}

import type pg from 'pg';
import type { FieldIssue } from '../errors.ts';

/** The tables an import writes, each through its Target (targets/). */
export type ImportKind =
  | 'task'
  | 'schedule'
  | 'trigger'
  | 'event'
  | 'commit_status'
  | 'benchmark_run'
  | 'benchmark_snapshot'
  | 'benchmark_baseline';

/**
 * A row as an import compares it: plain JSON, timestamps as ISO 8601 in UTC with milliseconds.
 * The source's mapped record and the target's current row are both put in this form, so "the row
 * already holds what the source says" is one comparison of canonical JSON.
 */
export type RowState = Record<string, unknown>;

/**
 * One record read from a legacy store: mapped to the row it becomes (`state`), or refused (it
 * fails validation; each issue names the field by its path in the source), or skipped (it is not
 * imported by design, such as a trigger whose code is Python, and the reason says what to do).
 */
export type SourceItem =
  | { kind: ImportKind; path: string; key: string; state: RowState }
  | { kind: ImportKind; path: string; refused: FieldIssue[] }
  | { kind: ImportKind; path: string; skipped: string };

/** A legacy store, read in batches. Opened by its importer (sources/), closed by the runner. */
export interface ImportSource {
  /** The importer's name, as `eventix import <name>` takes it. */
  readonly name: string;
  /** Which store: an address without its password, or a file's absolute path. Imports of one key are serialized. */
  readonly sourceKey: string;
  /** The options recorded with the import (never a secret). */
  readonly options: Record<string, unknown>;
  /** How many records there are, when the store can say cheaply: the progress total. */
  count(): Promise<number | undefined>;
  /** The records, in batches of a few hundred; the runner checks for Ctrl-C between batches. */
  batches(): AsyncIterable<SourceItem[]>;
  close(): Promise<void>;
}

/**
 * How an import reads and writes one table. Every method runs on the import's (or rollback's)
 * connection, inside its transaction; `current` locks the rows it reads, so nothing changes them
 * between the comparison and the write.
 */
export interface Target {
  readonly kind: ImportKind;
  /** false: rows are never changed once written (benchmark runs are append-only): a differing source record is refused. */
  readonly updatable: boolean;
  /** The current state of the rows with these keys, locked FOR UPDATE. Keys without a row are absent. */
  current(client: pg.ClientBase, keys: readonly string[]): Promise<Map<string, RowState>>;
  /** Why a row could not be written as it stands, checked against the database before writing (a unique key a waiting task holds). */
  conflicts?(client: pg.ClientBase, rows: readonly { key: string; state: RowState }[]): Promise<Map<string, string>>;
  insert(client: pg.ClientBase, rows: readonly { key: string; state: RowState }[]): Promise<void>;
  update(client: pg.ClientBase, rows: readonly { key: string; state: RowState }[]): Promise<void>;
  remove(client: pg.ClientBase, keys: readonly string[]): Promise<void>;
}

export interface ImportCounts {
  created: number;
  updated: number;
  unchanged: number;
  refused: number;
  skipped: number;
}

/** A refusal or skip as reported: which record, which field, why. */
export interface ImportNotice {
  kind: ImportKind;
  outcome: 'refused' | 'skipped';
  field: string;
  message: string;
}

export interface ImportProgress extends ImportCounts {
  read: number;
  total: number | undefined;
}

export interface ImportReport extends ImportCounts {
  /** The recorded import; null for a dry run, and for an import refused whole. */
  id: number | null;
  source: string;
  sourceKey: string;
  dryRun: boolean;
  /** false when refused records kept anything from being written (pass skipInvalid to write the rest). */
  written: boolean;
  byKind: Partial<Record<ImportKind, ImportCounts>>;
  /** The first refusals and skips (at most REPORT_LIMIT); the counts say how many there were. */
  notices: ImportNotice[];
}

import { readFile } from 'node:fs/promises';
import { ValidationError } from '../../errors.ts';
import { type Format, type NormalizedRun, parseResults } from '../formats/index.ts';
import {
  type BenchmarkRepository,
  type Candidate,
  type CandidateQuery,
  exactTags,
  parametersOf,
  stableJson,
  tagMatches,
} from './repository.ts';

export interface JsonFileOptions {
  /** The file's format; absent or 'auto': detected from its shape (seed 002's benchmarks.json is llm-profile). */
  format?: Format | 'auto' | undefined;
  /** How to name the file itself in a validation error (the CLI's `--file`). */
  field?: string;
}

/**
 * Seed 002's JSON backend: a results file read straight from disk, no database. The file goes
 * through the same parser as `eventix results push`, so a file that would be refused there is
 * refused here with the same field paths (`benchmarks.3.ttft_mean`), and a file that can be
 * pushed gives here the answer the database gives after the push.
 */
export class JsonFileRepository implements BenchmarkRepository {
  readonly source = 'file' as const;
  #runs: Promise<NormalizedRun[]> | undefined;
  /** A document handed over in memory instead of a path to read. */
  #document: { data: unknown } | undefined;

  constructor(
    readonly path: string,
    private readonly opts: JsonFileOptions = {},
  ) {}

  /** The same over a document already in memory (tests, library users with their own loading). */
  static fromDocument(data: unknown, opts: JsonFileOptions = {}): JsonFileRepository {
    const repo = new JsonFileRepository('(document)', opts);
    repo.#document = { data };
    return repo;
  }

  async #load(): Promise<NormalizedRun[]> {
    if (this.#document) return parseResults(this.#document.data, { format: this.opts.format, root: '(file)' }).runs;
    const field = this.opts.field ?? 'file';
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      throw new ValidationError([{ field, message: `cannot read ${this.path}: ${(err as Error).message}` }]);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw new ValidationError([{ field, message: `malformed JSON in ${this.path}: ${(err as Error).message}` }]);
    }
    return parseResults(data, { format: this.opts.format, root: '(file)' }).runs;
  }

  async candidates(query: CandidateQuery): Promise<Candidate[]> {
    // Read once: a long-lived repository answers many lookups from one parse, as seed 002's did.
    this.#runs ??= this.#load();
    const runs = await this.#runs;
    const wanted = exactTags(query.exact);
    // tag set → candidate; a later run's profile replaces an earlier one's (the file's last word).
    const latest = new Map<string, Candidate>();
    runs.forEach((run, index) => {
      if (query.repo !== undefined && run.repo !== query.repo) return;
      const profiles = new Map<string, Candidate>();
      const refused = new Set<string>();
      for (const m of run.metrics) {
        const tags = m.tags ?? {};
        const key = stableJson(tags);
        if (refused.has(key)) continue;
        let c = profiles.get(key);
        if (!c) {
          const matches = wanted.every((w) => tagMatches(Object.hasOwn(tags, w.key) ? tags[w.key] : undefined, w));
          const parameters = matches ? parametersOf(tags, query.params) : undefined;
          if (!parameters) {
            refused.add(key);
            continue;
          }
          c = { tags, parameters, metrics: [], run: null, record: index };
          profiles.set(key, c);
        }
        c.metrics.push({ name: m.name, value: m.value, unit: m.unit ?? null, direction: m.direction ?? null });
      }
      for (const [key, c] of profiles) latest.set(key, c);
    });
    return [...latest.values()];
  }
}

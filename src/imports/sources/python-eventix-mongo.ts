import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { EJSON, ObjectId } from 'bson';
import { ValidationError } from '../../errors.ts';
import type { ImportSource, SourceItem } from '../types.ts';
import { mapPythonTask } from './python-eventix-model.ts';
import { mapPythonEvent, mapPythonSchedule, mapPythonTrigger } from './python-eventix-records.ts';
import { checkTimezone } from './values.ts';

/**
 * The Python Eventix on MongoDB (pydantic-db-backend), from a `mongoexport` dump: one file per
 * collection, `task`, `schedule`, `trigger` and `event`, as JSON lines (the default) or one
 * JSON array (`--jsonArray`), in MongoDB Extended JSON (`{"$date": …}`, `{"$oid": …}`), which
 * bson's EJSON reads. No MongoDB server is needed. Only the task file is required.
 *
 * The documents have the PostgreSQL table's field names; the task's UUID is `uid`, or `_id` when
 * that is a UUID string; a missing created_at is the ObjectId's creation time.
 */
const COLLECTIONS = ['schedule', 'trigger', 'task', 'event'] as const;
type Collection = (typeof COLLECTIONS)[number];
const BATCH = 500;

function fileOf(dir: string, c: Collection): string | undefined {
  for (const ext of ['.json', '.jsonl', '.ndjson']) {
    const p = resolve(dir, c + ext);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** The file's first character that is not white space: `[` for --jsonArray. */
function firstCharacter(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(256);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').trimStart().slice(0, 1);
  } finally {
    closeSync(fd);
  }
}

/** Each document of a dump file with its line number; a line that is not Extended JSON comes as an error. */
async function* documents(path: string): AsyncGenerator<{ line: number; doc?: Record<string, unknown>; error?: string }> {
  if (firstCharacter(path) === '[') {
    // --jsonArray: small enough to have been written in one piece, so read in one piece.
    let docs: unknown;
    try {
      docs = EJSON.parse(readFileSync(path, 'utf8'), { relaxed: true });
    } catch (err) {
      yield { line: 1, error: `is not Extended JSON: ${(err as Error).message}` };
      return;
    }
    let i = 0;
    for (const d of docs as unknown[]) yield { line: ++i, doc: d as Record<string, unknown> };
    return;
  }
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  for await (const text of lines) {
    n++;
    if (!text.trim()) continue;
    try {
      const doc = EJSON.parse(text, { relaxed: true });
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) yield { line: n, error: 'is not a document (a JSON object)' };
      else yield { line: n, doc: doc as Record<string, unknown> };
    } catch (err) {
      yield { line: n, error: `is not Extended JSON: ${(err as Error).message}` };
    }
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The document as the shared mappers read it: `uid` from `_id` when needed, created_at from the ObjectId. */
function normalized(doc: Record<string, unknown>): Record<string, unknown> {
  const out = { ...doc };
  const id = doc._id;
  if (out.uid === undefined && typeof id === 'string' && UUID.test(id)) out.uid = id;
  if (out.created_at === undefined && id instanceof ObjectId) out.created_at = id.getTimestamp();
  return out;
}

export async function pythonEventixMongo(o: { dir: string; timezone?: string | undefined }): Promise<ImportSource> {
  const timezone = checkTimezone(o.timezone);
  const dir = resolve(o.dir);
  const files = new Map<Collection, string>();
  for (const c of COLLECTIONS) {
    const f = fileOf(dir, c);
    if (f) files.set(c, f);
  }
  if (!files.has('task')) {
    throw new ValidationError([{ field: 'dir', message: `has no task.json (mongoexport --collection=task) in ${dir}` }]);
  }
  return {
    name: 'python-eventix-mongo',
    sourceKey: `python-eventix-mongo:${dir}`,
    options: { dir, timezone: timezone ?? null, collections: [...files.keys()] },
    async count() {
      let n = 0;
      for (const f of files.values()) for await (const _ of documents(f)) n++;
      return n;
    },
    async *batches() {
      for (const c of COLLECTIONS) {
        const file = files.get(c);
        if (!file) continue;
        const name = `${c}${file.slice(file.lastIndexOf('.'))}`;
        let batch: SourceItem[] = [];
        for await (const d of documents(file)) {
          const path = `${name}:${d.line}`;
          if (!d.doc) {
            batch.push({ kind: c, path, refused: [{ field: path, message: d.error ?? 'unreadable' }] });
          } else {
            const raw = normalized(d.doc);
            const id = d.doc._id instanceof ObjectId ? d.doc._id.toHexString() : String(d.doc._id ?? d.line);
            batch.push(
              c === 'task'
                ? mapPythonTask(raw, { path, timezone })
                : c === 'schedule'
                  ? mapPythonSchedule(raw, { path })
                  : c === 'trigger'
                    ? mapPythonTrigger(raw, { path })
                    : mapPythonEvent(raw, { path, sourceKey: 'python-eventix-mongo', recordId: `event:${id}`, timezone }),
            );
          }
          if (batch.length >= BATCH) {
            yield batch;
            batch = [];
          }
        }
        if (batch.length) yield batch;
      }
    },
    async close() {},
  };
}

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonInput, readJsonInput, readTextInput } from '../../src/cli/read-input.ts';
import { ValidationError } from '../../src/errors.ts';

/** The issues of the ValidationError `promise` rejects with. */
async function issuesOf(promise: Promise<unknown>): Promise<unknown> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  return (err as ValidationError).issues;
}

describe('CLI file-or-stdin input', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'eventix-read-input-'));
    await writeFile(path.join(dir, 'ok.json'), '{"a": [1, 2]}');
    await writeFile(path.join(dir, 'bad.json'), '{"a": ');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file as text and as JSON', async () => {
    expect(await readTextInput(path.join(dir, 'ok.json'))).toBe('{"a": [1, 2]}');
    expect(await readJsonInput(path.join(dir, 'ok.json'), '(file)')).toEqual({ a: [1, 2] });
  });

  it('reports malformed JSON on the field, naming the source only when given one', async () => {
    const bad = path.join(dir, 'bad.json');
    const [named] = (await issuesOf(readJsonInput(bad, '--config-file'))) as { field: string; message: string }[];
    expect(named?.field).toBe('--config-file');
    expect(named?.message).toMatch(new RegExp(`^malformed JSON in ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    expect(() => parseJsonInput('{', 'payload')).toThrow(/^Invalid input: payload: malformed JSON: /);
  });

  it('reports an unreadable file on the field, with or without "cannot read <file>"', async () => {
    const missing = path.join(dir, 'missing.json');
    expect(await issuesOf(readJsonInput(missing, '(file)'))).toEqual([
      { field: '(file)', message: expect.stringMatching(/^cannot read .*missing\.json: ENOENT/) },
    ]);
    expect(await issuesOf(readJsonInput(missing, '<file>', { unreadable: 'bare' }))).toEqual([
      { field: '<file>', message: expect.stringMatching(/^ENOENT: .*missing\.json/) },
    ]);
    // The plain text reader leaves the system error as it is: its callers report it themselves.
    await expect(readTextInput(missing)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

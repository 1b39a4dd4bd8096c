import { readFile } from 'node:fs/promises';
import { ValidationError } from '../errors.ts';
import { coerceError } from '../logger.ts';

/** The file's text, or all of stdin when `file` is '-' (the convention of every file flag). */
export async function readTextInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

/**
 * JSON.parse, with malformed input a ValidationError on `field` (so the CLI prints
 * `eventix: Invalid input: <field>: malformed JSON…` and exits 1), naming `source` if given.
 */
export function parseJsonInput(text: string, field: string, source?: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError([
      { field, message: `malformed JSON${source === undefined ? '' : ` in ${source}`}: ${coerceError(err).message}` },
    ]);
  }
}

export interface ReadJsonOptions {
  /**
   * How a file that cannot be read is reported, on `field`: 'named' says `cannot read <file>: …`,
   * 'bare' gives the system's message alone (which names the path already). Commands keep the
   * wording they always printed.
   */
  unreadable?: 'named' | 'bare';
}

/** A JSON document from a file or stdin ('-'); unreadable or malformed input is a ValidationError on `field`. */
export async function readJsonInput(file: string, field: string, opts: ReadJsonOptions = {}): Promise<unknown> {
  let text: string;
  try {
    text = await readTextInput(file);
  } catch (err) {
    const message = coerceError(err).message;
    throw new ValidationError([{ field, message: opts.unreadable === 'bare' ? message : `cannot read ${file}: ${message}` }]);
  }
  return parseJsonInput(text, field, file);
}

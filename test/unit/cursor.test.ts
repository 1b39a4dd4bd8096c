import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cursorOrderAt, cursorTimestamp, jsonCursor, textCursor } from '../../src/db/cursor.ts';
import { ValidationError } from '../../src/errors.ts';
import { decodeCursor, encodeCursor } from '../../src/queue/list.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64url');

function expectInvalid(fn: () => unknown, message = 'is not a cursor this API issued'): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues).toEqual([{ field: 'cursor', message }]);
    return;
  }
  throw new Error('expected the cursor to be refused');
}

describe('cursor codecs', () => {
  const pair = jsonCursor(z.object({ c: cursorTimestamp, i: z.int() }));

  it('encodes JSON as base64url, byte for byte what the lists issued before the codec', () => {
    // Cursors already handed out keep working: the encoding is the same as the hand-written one's.
    expect(pair.encode({ c: '2026-01-02 03:04:05.123456+00', i: 42 })).toBe(b64('{"c":"2026-01-02 03:04:05.123456+00","i":42}'));
    expect(encodeCursor('2026-01-02 03:04:05+00', 7)).toBe(b64('{"c":"2026-01-02 03:04:05+00","i":7}'));
    expect(textCursor(z.string()).encode('nightly.build')).toBe(b64('nightly.build'));
  });

  it('decodes what it encoded', () => {
    expect(pair.decode(pair.encode({ c: '2026-01-02T03:04:05Z', i: 9 }))).toEqual({ c: '2026-01-02T03:04:05Z', i: 9 });
    expect(decodeCursor(encodeCursor('2026-01-02 03:04:05+00', 7))).toEqual({ c: '2026-01-02 03:04:05+00', i: 7 });
    const order = jsonCursor(z.object({ a: cursorOrderAt }));
    expect(order.decode(order.encode({ a: '-infinity' }))).toEqual({ a: '-infinity' });
    const names = textCursor(z.string().regex(/^[a-z.]+$/));
    expect(names.decode(names.encode('nightly.build'))).toBe('nightly.build');
  });

  it('refuses garbled, non-JSON, wrongly shaped or out-of-range cursors with one 400 on cursor', () => {
    expectInvalid(() => pair.decode('not base64 at all!'));
    expectInvalid(() => pair.decode(b64('{"c":')));
    expectInvalid(() => pair.decode(b64('null')));
    expectInvalid(() => pair.decode(b64('[1,2]')));
    expectInvalid(() => pair.decode(b64('{"c":"yesterday","i":1}')));
    expectInvalid(() => pair.decode(b64('{"c":"2026-01-02","i":1.5}')));
    expectInvalid(() => pair.decode(b64(`{"c":"2026-01-02","i":${2 ** 60}}`)));
    expectInvalid(() => jsonCursor(z.object({ a: cursorOrderAt })).decode(b64('{"a":"+infinity"}')));
    expectInvalid(() => textCursor(z.string().regex(/^[a-z]+$/)).decode(b64('semi;colon')));
  });

  it('says what the codec was told to say', () => {
    const page = jsonCursor(z.object({ i: z.int() }), 'is not a cursor this page issued');
    expectInvalid(() => page.decode(b64('{}')), 'is not a cursor this page issued');
    expect(page.invalid().issues).toEqual([{ field: 'cursor', message: 'is not a cursor this page issued' }]);
  });

  it('blames the cursor for a data exception of the query it fed, and nothing else', () => {
    const badDate = Object.assign(new Error('date/time field value out of range'), { code: '22008' });
    const lost = Object.assign(new Error('connection terminated'), { code: '08006' });
    expect(pair.queryError(badDate)).toBeInstanceOf(ValidationError);
    expect(pair.queryError(lost)).toBe(lost);
    expect(pair.queryError(null)).toBe(null);
  });
});

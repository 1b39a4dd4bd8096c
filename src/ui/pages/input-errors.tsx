import type { ErrorHandler } from 'hono';
import { EventixError, ValidationError } from '../../errors.ts';
import { Empty } from '../components.tsx';
import type { UiEnv } from '../context.ts';
import { Layout, type Section } from '../layout.tsx';

/**
 * The error handler of a page module: a bad query string (a filter, a cursor, a uid) or a name
 * that does not exist answers with a page of the dashboard that says what was wrong, as a 400 or
 * 404, instead of the API's JSON problem. Anything else (a database outage, a bug) goes on to
 * the app's own handler, which logs it and answers 5xx.
 */
export function pageErrors(section: Section, back: { href: string; label: string }): ErrorHandler<UiEnv> {
  return (err, c) => {
    const notFound = err instanceof EventixError && err.code.endsWith('NotFound');
    if (!(err instanceof ValidationError) && !notFound) throw err;
    const message =
      err instanceof ValidationError ? `Invalid ${err.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}` : err.message;
    return c.html(
      <Layout title={notFound ? 'Not found' : 'Bad request'} section={section} viewer={c.get('viewer')} error={message}>
        <Empty title={notFound ? 'Nothing here by that name.' : 'This page’s address has a value the dashboard cannot use.'}>
          <a href={back.href}>{back.label}</a>
        </Empty>
      </Layout>,
      notFound ? 404 : 400,
    );
  };
}

/** A query parameter, trimmed; absent or blank is undefined, so an empty filter field means "any". */
export function queryText(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v ? v : undefined;
}

/** `value` if it matches `pattern`; otherwise a ValidationError naming the parameter. */
export function checked(field: string, value: string | undefined, pattern: RegExp, message: string): string | undefined {
  if (value !== undefined && !pattern.test(value)) throw new ValidationError([{ field, message }]);
  return value;
}

import type { ErrorHandler, Handler } from 'hono';
import { isConnectionError } from '../../db/connection-errors.ts';
import { EventixError, issuesText, ValidationError } from '../../errors.ts';
import { Empty } from '../components.tsx';
import type { UiContext, UiEnv } from '../context.ts';
import { Layout, type Section } from '../layout.tsx';

/**
 * The error handler of a page module: a refusal the viewer can act on (a bad filter, a cursor or
 * a uid in the address, a name that does not exist, a ref that cannot be resolved) answers with a
 * page of the dashboard that says what was wrong, with the status the API would answer (400, 404,
 * 409), instead of the API's JSON problem. Anything else (a database outage, a bug) goes on to
 * the app's own handler, which logs it and answers 5xx.
 */
export function pageErrors(section: Section, back: { href: string; label: string }): ErrorHandler<UiEnv> {
  return (err, c) => {
    if (!(err instanceof EventixError) || isConnectionError(err)) throw err;
    const status = err.code.endsWith('NotFound') ? 404 : err.code.endsWith('Conflict') ? 409 : 400;
    const message = err instanceof ValidationError ? `Invalid ${issuesText(err.issues)}` : err.message;
    return c.html(
      <Layout
        title={status === 404 ? 'Not found' : status === 409 ? 'Conflict' : 'Bad request'}
        section={section}
        viewer={c.get('viewer')}
        error={message}
      >
        <Empty title={status === 404 ? 'Nothing here by that name.' : 'This page’s address has a value the dashboard cannot use.'}>
          <a href={back.href}>{back.label}</a>
        </Empty>
      </Layout>,
      status,
    );
  };
}

/**
 * pageErrors for one route, where the routes of a module each have their own way back (the
 * benchmark views): the route's refusals become the same page, linking to `reset`.
 */
export function uiPage(section: Section, reset: string, handler: (c: UiContext) => Promise<Response>): Handler<UiEnv> {
  const onError = pageErrors(section, { href: reset, label: 'Start again without filters' });
  return async (c) => {
    try {
      return await handler(c);
    } catch (err) {
      return onError(err as Error, c);
    }
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

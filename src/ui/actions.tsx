import type { Handler } from 'hono';
import { grants } from '../api/auth.ts';
import type { ApiScope } from '../config.ts';
import { isConnectionError } from '../db/connection-errors.ts';
import { EventixError, issuesText, ValidationError } from '../errors.ts';
import type { UiContext, UiEnv } from './context.ts';
import { Layout } from './layout.tsx';
import { CSRF_FIELD, csrfMatches, originAllowed } from './session.ts';

/** A submitted form: every field as a string, repeated fields (checkboxes) as arrays. */
export type Form = Record<string, string | string[]>;

export const field = (form: Form, name: string): string | undefined => {
  const v = form[name];
  return Array.isArray(v) ? v[0] : v;
};
export const fields = (form: Form, name: string): string[] => {
  const v = form[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
};

/** Only a path inside the dashboard: a `back` field can never redirect off the site. */
export function safeBack(back: string | undefined, fallback = '/ui'): string {
  return back && /^\/ui(\/|\?|$)/.test(back) && !back.startsWith('//') ? back : fallback;
}

/** `back`, with this action's outcome as the flash message, replacing any earlier one. */
export function withFlash(back: string, kind: 'notice' | 'error', message: string): string {
  const url = new URL(back, 'http://x');
  url.searchParams.delete('notice');
  url.searchParams.delete('error');
  url.searchParams.set(kind, message);
  return url.pathname + url.search;
}

/** The flash withFlash put in this page's URL, for its Layout: `<Layout {...flashOf(c)}>`. */
export function flashOf(c: UiContext): { notice: string | undefined; error: string | undefined } {
  return { notice: c.req.query('notice'), error: c.req.query('error') };
}

export function forbidden(c: UiContext, detail: string) {
  return c.html(
    <Layout title="Forbidden" section="overview" viewer={c.get('viewer')} error={detail}>
      <p>
        <a href="/ui">Back to the overview</a>
      </p>
    </Layout>,
    403,
  );
}

/** What an action returns: a flash notice for `back`, or a whole response of its own (a confirmation page). */
export type ActionResult = string | Response;

/**
 * Every dashboard POST goes through here: the Origin must be ours, the CSRF value must match the
 * cookie and the viewer's scope must grant `scope` (all three answer 403), then `run` does the
 * change through the same library calls as the API, so the same state rules hold. A refusal from
 * those rules (an invalid transition, a missing task) comes back as a flash error on the page,
 * not as an error page; a database outage is a 503 as everywhere else.
 */
export function uiAction(scope: ApiScope, run: (c: UiContext, form: Form) => Promise<ActionResult>): Handler<UiEnv> {
  return async (c) => {
    if (!originAllowed(c)) return forbidden(c, 'This form was sent from another site.');
    const form = (await c.req.parseBody({ all: true })) as Record<string, string | string[] | File | File[]>;
    const clean: Form = {};
    for (const [k, v] of Object.entries(form)) {
      if (typeof v === 'string') clean[k] = v;
      else if (Array.isArray(v)) clean[k] = v.filter((x): x is string => typeof x === 'string');
    }
    if (!csrfMatches(c, field(clean, CSRF_FIELD))) {
      return forbidden(c, 'The form’s security token is missing or stale. Reload the page and try again.');
    }
    const principal = c.get('principal');
    if (!grants(principal, scope)) {
      return forbidden(c, `Token '${principal?.name}' has scope '${principal?.scope}', which does not allow this action.`);
    }
    const back = safeBack(field(clean, 'back'));
    try {
      const result = await run(c, clean);
      if (typeof result !== 'string') return result;
      return c.redirect(withFlash(back, 'notice', result), 303);
    } catch (err) {
      if (err instanceof ValidationError) {
        return c.redirect(withFlash(back, 'error', issuesText(err.issues)), 303);
      }
      if (err instanceof EventixError && !isConnectionError(err)) return c.redirect(withFlash(back, 'error', err.message), 303);
      throw err;
    }
  };
}

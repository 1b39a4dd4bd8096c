import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { App } from '../../src/api/app.ts';
import type { ApiScope, ApiToken } from '../../src/config.ts';

/**
 * What the dashboard tests share: the tokens they log in with, a browser-like session over
 * app.request, and ways to read what a page or an action answered.
 */

/** A read token and a submit token: what a page shows and refuses depends on the scope. */
export const READ_TOKEN: ApiToken = { name: 'reader', scope: 'read', secret: 'reader-secret-0123456789' };
export const SUBMIT_TOKEN: ApiToken = { name: 'ci', scope: 'submit', secret: 'submit-secret-0123456789' };
export const UI_TOKENS: ApiToken[] = [READ_TOKEN, SUBMIT_TOKEN];

/** A token with a random secret of its own, for tests that look for the secret where it must never be. */
export function freshToken(name: string, scope: ApiScope): ApiToken {
  return { name, scope, secret: `${name}-${randomBytes(18).toString('base64url')}` };
}

/** Cookie header value from a response's Set-Cookie lines, merged over `jar`. */
export function mergeCookies(jar: string, res: Response): string {
  const map = new Map(
    jar
      .split(/;\s*/)
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
  );
  for (const line of res.headers.getSetCookie()) {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (/max-age=0/i.test(line) || value === '') map.delete(name);
    else map.set(name, value);
  }
  return [...map].map(([k, v]) => `${k}=${v}`).join('; ');
}

/** The `_csrf` value of the first form on a page. */
const CSRF_VALUE = /name="_csrf" value="([^"]+)"/;

/** A browser-like session: a cookie jar, GET, and form POSTs that carry the page's CSRF value. */
export class UiSession {
  jar = '';
  csrf = '';
  /** `app` may be a function, for a session made before the app (in a describe, for its beforeAll to create). */
  constructor(private readonly appOf: App | (() => App)) {}

  private get app(): App {
    return typeof this.appOf === 'function' ? this.appOf() : this.appOf;
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const res = await this.app.request(path, { headers: { accept: 'text/html', cookie: this.jar, ...headers } });
    this.jar = mergeCookies(this.jar, res);
    return res;
  }

  /** GET the page and remember its CSRF value; returns the HTML. */
  async page(path: string): Promise<string> {
    const res = await this.get(path);
    const html = await res.text();
    const m = CSRF_VALUE.exec(html);
    // A page without a form still sets the CSRF cookie, whose value is what forms repeat.
    this.csrf = m ? (m[1] as string) : (/(?:^|; )eventix_csrf=([^;]+)/.exec(this.jar)?.[1] ?? '');
    return html;
  }

  /** POST a form; `_csrf` is the remembered value unless the fields set it (or set it to null to omit it). */
  async post(path: string, fields: Record<string, string | string[] | null>, headers: Record<string, string> = {}): Promise<Response> {
    const body = new URLSearchParams();
    const all = { _csrf: this.csrf, ...fields };
    for (const [k, v] of Object.entries(all)) {
      if (v === null) continue;
      for (const one of Array.isArray(v) ? v : [v]) body.append(k, one);
    }
    const res = await this.app.request(path, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: this.jar, ...headers },
    });
    this.jar = mergeCookies(this.jar, res);
    return res;
  }

  /** Log in with a token's secret through the login form. */
  async login(secret: string): Promise<Response> {
    await this.page('/ui/login');
    return this.post('/ui/login', { token: secret, next: '/ui' });
  }

  /** A new session on `app`, logged in as `token`; the login must succeed (303). */
  static async as(app: App, token: ApiToken): Promise<UiSession> {
    const s = new UiSession(app);
    expect((await s.login(token.secret)).status, `login as ${token.name}`).toBe(303);
    return s;
  }
}

/** A response read whole: its status, its body, and where it redirects ('' when it does not). */
export async function reply(res: Response | Promise<Response>): Promise<{ status: number; location: string; text: string }> {
  const r = await res;
  return { status: r.status, location: r.headers.get('location') ?? '', text: await r.text() };
}

/** Where the 303 after a dashboard action goes, and the flash message it carries (null when absent). */
export function redirectOf(res: Response | string): { path: string; notice: string | null; error: string | null } {
  const url = new URL(typeof res === 'string' ? res : (res.headers.get('location') ?? ''), 'http://x');
  return { path: url.pathname, notice: url.searchParams.get('notice'), error: url.searchParams.get('error') };
}

/** The part of a page from the element with `id` to the end of its card. */
export function sectionOf(html: string, id: string): string {
  const start = html.indexOf(`id="${id}"`);
  expect(start, `section #${id}`).toBeGreaterThan(-1);
  return html.slice(start, html.indexOf('</section>', start));
}

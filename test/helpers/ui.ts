import type { App } from '../../src/api/app.ts';

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
export function csrfIn(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no _csrf field on the page');
  return m[1] as string;
}

/** A browser-like session: a cookie jar, GET, and form POSTs that carry the page's CSRF value. */
export class UiSession {
  jar = '';
  csrf = '';
  constructor(private readonly app: App) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const res = await this.app.request(path, { headers: { accept: 'text/html', cookie: this.jar, ...headers } });
    this.jar = mergeCookies(this.jar, res);
    return res;
  }

  /** GET the page and remember its CSRF value; returns the HTML. */
  async page(path: string): Promise<string> {
    const res = await this.get(path);
    const html = await res.text();
    const m = /name="_csrf" value="([^"]+)"/.exec(html);
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
}

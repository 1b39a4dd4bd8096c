import type { App } from '../../src/api/app.ts';
import { claim, complete, fail, submit, submitMany } from '../../src/queue/index.ts';
import type { TestDatabase } from '../helpers/db.ts';

/** What the task page tests share: a cookie-keeping form client and a few ways to put tasks in a state. */

/** A browser in miniature: keeps cookies, sends forms the way a browser does. */
export class Session {
  cookies = new Map<string, string>();
  constructor(private app: () => App) {}
  private headers(extra: Record<string, string> = {}): Headers {
    const h = new Headers(extra);
    if (this.cookies.size) h.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    return h;
  }
  private keep(res: Response) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
  }
  async get(path: string) {
    const res = await this.app().request(path, { headers: this.headers() });
    this.keep(res);
    return { status: res.status, location: res.headers.get('location'), text: await res.text() };
  }
  get csrf(): string {
    return this.cookies.get('eventix_csrf') ?? '';
  }
  /** POST a form; `_csrf` is added unless the test gives its own (or null for none). */
  async post(path: string, form: [string, string][], opts: { csrf?: string | null; origin?: string } = {}) {
    const body = new URLSearchParams(form);
    const csrf = opts.csrf === undefined ? this.csrf : opts.csrf;
    if (csrf !== null) body.set('_csrf', csrf);
    const extra: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (opts.origin) extra.origin = opts.origin;
    const res = await this.app().request(path, { method: 'POST', headers: this.headers(extra), body: body.toString() });
    this.keep(res);
    return { status: res.status, location: res.headers.get('location') ?? '', text: await res.text() };
  }
}

export const notice = (location: string) => new URL(location, 'http://x').searchParams.get('notice') ?? '';
export const flashError = (location: string) => new URL(location, 'http://x').searchParams.get('error') ?? '';

export function taskFixtures(db: () => TestDatabase) {
  const pool = () => db().pool;
  let n = 0;
  const ns = (label: string) => `ui-${label}-${++n}`;
  const make = async (namespace: string, count: number, extra: Record<string, unknown> = {}) =>
    (
      await submitMany(
        pool(),
        Array.from({ length: count }, () => ({ task: 'job', namespace, ...extra })),
      )
    ).map((r) => r.task.uid);
  const statusOf = async (uid: string) =>
    (await pool().query<{ status: string; cancel_requested: boolean }>('select status, cancel_requested from tasks where uid = $1', [uid]))
      .rows[0];
  const claimIn = async (namespace: string, limit = 1) =>
    claim(pool(), { workerId: 'w-ui', namespaces: [namespace], tasks: ['job'], limit, leaseSeconds: 60 });
  /** A task of its own ('finisher') taken to done or error, so the other tasks of the namespace stay as they are. */
  const finish = async (namespace: string, outcome: 'done' | 'error', extra: Record<string, unknown> = {}) => {
    await submit(pool(), { task: 'finisher', namespace, ...extra });
    const [t] = await claim(pool(), { workerId: 'w-ui', namespaces: [namespace], tasks: ['finisher'], limit: 1, leaseSeconds: 60 });
    const lease = { uid: t!.uid, workerId: t!.workerId, fencingToken: t!.fencingToken };
    if (outcome === 'done') await complete(pool(), { ...lease, result: { ok: 1 } });
    else {
      const error = { class: 'BoomError', message: 'it went boom', stack: 'BoomError: it went boom\n    at handler (job.ts:1:1)' };
      await fail(pool(), { ...lease, error, retryable: false });
    }
    return t!.uid;
  };
  const finishDone = (namespace: string) => finish(namespace, 'done');
  const finishError = (namespace: string, extra: Record<string, unknown> = {}) => finish(namespace, 'error', extra);
  const linked = (text: string) => [...text.matchAll(/href="\/ui\/tasks\/([0-9a-f-]{36})" class="mono"/g)].map((m) => m[1] as string);
  return { ns, make, statusOf, claimIn, finish, finishDone, finishError, linked };
}

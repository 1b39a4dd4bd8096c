import { Empty } from '../components.tsx';
import type { UiContext } from '../context.ts';
import { Layout } from '../layout.tsx';
import { CSRF_FIELD } from '../session.ts';

/** Only a local path: `next` can never send a freshly logged-in browser to another site. */
export function safeNext(next: string | undefined): string {
  return next?.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/ui';
}

export function loginPage(c: UiContext, opts: { next?: string | undefined; error?: string }) {
  const viewer = c.get('viewer');
  return (
    <Layout title="Log in" section="login" viewer={viewer} error={opts.error}>
      <form method="post" action="/ui/login" class="login card">
        <input type="hidden" name={CSRF_FIELD} value={viewer.csrf} />
        <input type="hidden" name="next" value={safeNext(opts.next)} />
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
        <p class="hint">
          One of the secrets in <code>EVENTIX_API_TOKENS</code> (<code>name:scope:secret</code>). Its scope decides what you can do here: a{' '}
          <code>read</code> token shows everything and changes nothing.
        </p>
        <button type="submit" class="btn primary">
          Log in
        </button>
      </form>
      <Empty title="Why a login?">
        This server has API tokens configured, so the dashboard asks for one. The session lasts 12 hours in an HttpOnly cookie.
      </Empty>
    </Layout>
  );
}

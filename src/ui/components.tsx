import type { Child, PropsWithChildren } from 'hono/jsx';
import type { ApiScope } from '../config.ts';
import type { Viewer } from './context.ts';
import { formatCount, formatRelative, formatUtc } from './format.ts';
import { CSRF_FIELD } from './session.ts';

/**
 * The dashboard's building blocks, each defined once. A status badge, a time, an action button
 * and an empty state look and behave the same on every page.
 */

/** Every status the dashboard shows, queue and commit alike; the colour of each is in app.css. */
export function Status({ status }: { status: string }) {
  return <span class={`status status-${status.replaceAll('_', '-')}`}>{status}</span>;
}

/** An absolute time in UTC, with the relative age beside it. */
export function Time({ at, now }: { at: Date | string | null | undefined; now?: Date }) {
  if (at === null || at === undefined) return <span class="muted">—</span>;
  const d = typeof at === 'string' ? new Date(at) : at;
  return (
    <time datetime={d.toISOString()} title={formatRelative(d, now)}>
      {formatUtc(d)}
    </time>
  );
}

/** A count, with its unit spelled out. */
export function Count({ n, unit }: { n: number | null | undefined; unit?: string }) {
  return (
    <span class="num">
      {formatCount(n)}
      {unit ? ` ${unit}` : ''}
    </span>
  );
}

/** What to show where a list is empty: what it would hold, and how to fill it. */
export function Empty({ title, children }: PropsWithChildren<{ title: string }>) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children ? <div class="empty-hint">{children}</div> : null}
    </div>
  );
}

export function Card({ title, children, id }: PropsWithChildren<{ title: Child; id?: string }>) {
  return (
    <section class="card" id={id} aria-labelledby={id ? `${id}-title` : undefined}>
      <h2 id={id ? `${id}-title` : undefined}>{title}</h2>
      {children}
    </section>
  );
}

export function CsrfField({ viewer }: { viewer: Viewer }) {
  return <input type="hidden" name={CSRF_FIELD} value={viewer.csrf} />;
}

/**
 * A button that POSTs one action. Drawn only when the viewer's scope grants `scope`, so a read
 * token sees none; the route checks the scope again, so hiding is never the only guard.
 */
export function Action(props: {
  viewer: Viewer;
  scope: ApiScope;
  action: string;
  label: string;
  fields?: Record<string, string>;
  danger?: boolean;
  /** Asked in the browser before submitting: "Cancel this task?" */
  confirm?: string;
  testId?: string;
}) {
  if (!props.viewer.can(props.scope)) return null;
  return (
    <form method="post" action={props.action} class="inline" data-confirm={props.confirm}>
      <CsrfField viewer={props.viewer} />
      <input type="hidden" name="back" value={props.viewer.here} />
      {Object.entries(props.fields ?? {}).map(([k, v]) => (
        <input type="hidden" name={k} value={v} />
      ))}
      <button type="submit" class={props.danger ? 'btn danger' : 'btn'} data-testid={props.testId}>
        {props.label}
      </button>
    </form>
  );
}

/** Data for a page's script, as JSON that can never close the script element early. */
export function DataScript({ id, data }: { id: string; data: unknown }) {
  const json = JSON.stringify(data).replaceAll('<', '\\u003c').replaceAll('>', '\\u003e').replaceAll('&', '\\u0026');
  return <script type="application/json" id={id} dangerouslySetInnerHTML={{ __html: json }} />;
}

/** JSON, pretty-printed and escaped. */
export function JsonBlock({ value, label }: { value: unknown; label?: string }) {
  return (
    <pre class="json" title={label} tabindex={0}>
      {value === undefined ? '—' : JSON.stringify(value, null, 2)}
    </pre>
  );
}

/** Key–value rows of a detail page. */
export function Fields({ rows }: { rows: [string, Child][] }) {
  return (
    <dl class="fields">
      {rows.map(([k, v]) => (
        <div>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The link to the next page of a keyset-paginated list: the same URL with the cursor replaced. */
export function NextPage({ viewer, cursor }: { viewer: Viewer; cursor: string | null }) {
  if (!cursor) return null;
  const url = new URL(viewer.here, 'http://x');
  url.searchParams.set('cursor', cursor);
  return (
    <nav class="pager" aria-label="Pagination">
      <a href={url.pathname + url.search} rel="next">
        Next page →
      </a>
    </nav>
  );
}

/** A notice carried in the URL after an action (POST, then redirect, then GET). */
export function Flash({ notice, error }: { notice?: string | undefined; error?: string | undefined }) {
  return (
    <>
      {notice ? (
        <p class="flash ok" role="status">
          {notice}
        </p>
      ) : null}
      {error ? (
        <p class="flash bad" role="alert">
          {error}
        </p>
      ) : null}
    </>
  );
}

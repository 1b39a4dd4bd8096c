import type { Child, PropsWithChildren } from 'hono/jsx';
import type { ApiScope } from '../config.ts';
import type { Viewer } from './context.ts';
import { formatCount, formatRelative, formatUtc } from './format.ts';
import { CSRF_FIELD } from './session.ts';

/**
 * The dashboard's building blocks, each defined once. A status badge, a time, an action button,
 * a table's header row, a filter form and an empty state look and behave the same on every page.
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

/**
 * A column heading: its label, or `[label, class]` for a column of numbers (`num`, right-aligned)
 * or one a phone leaves out (`hide-narrow`); null for a column this viewer does not get.
 */
export type Heading = string | readonly [label: string, cls: string] | null;

/**
 * A table's header row. `lead` is a first heading that is not text (a tick-all box); `actions`
 * names a last column of buttons for screen readers only, since the buttons say what they do.
 */
export function Head({ cols, lead, actions }: { cols: readonly Heading[]; lead?: Child; actions?: string }) {
  return (
    <thead>
      <tr>
        {lead ? <th scope="col">{lead}</th> : null}
        {cols.map((h) =>
          h === null ? null : typeof h === 'string' ? (
            <th scope="col">{h}</th>
          ) : (
            <th scope="col" class={h[1]}>
              {h[0]}
            </th>
          ),
        )}
        {actions ? (
          <th scope="col">
            <span class="visually-hidden">{actions}</span>
          </th>
        ) : null}
      </tr>
    </thead>
  );
}

/**
 * A list page's filter form: GET to the page itself, so a filtered view is a URL to share. The
 * fields come first, then the button, then (when `reset` names it) a link to the page unfiltered.
 */
export function FilterForm(
  props: PropsWithChildren<{ action: string; label: string; submit: string; primary?: boolean; reset?: string | false; after?: Child }>,
) {
  return (
    <form method="get" action={props.action} class="filters" aria-label={props.label}>
      {props.children}
      <button type="submit" class={props.primary ? 'btn primary' : 'btn'}>
        {props.submit}
      </button>
      {props.reset ? <a href={props.action}>{props.reset}</a> : null}
      {props.after}
    </form>
  );
}

/** A free-text filter; left empty it filters nothing, which the placeholder says. */
export function TextFilter(props: {
  label: string;
  name: string;
  value: string | undefined;
  size?: number;
  placeholder?: string;
  pattern?: string;
}) {
  return (
    <label>
      {props.label}
      <input
        name={props.name}
        value={props.value ?? ''}
        size={props.size}
        pattern={props.pattern}
        placeholder={props.placeholder ?? 'any'}
      />
    </label>
  );
}

/** A filter chosen from a list; `options` are values, or `[value, text]`; the first option is "any" (value ''). */
export function SelectFilter(props: {
  label: string;
  name: string;
  value: string | undefined;
  options: readonly (string | readonly [value: string, text: string])[];
  any?: string;
}) {
  return (
    <label>
      {props.label}
      <select name={props.name}>
        <option value="">{props.any ?? 'any'}</option>
        {props.options.map((o) => {
          const [value, text] = typeof o === 'string' ? [o, o] : o;
          return (
            <option value={value} selected={props.value === value}>
              {text}
            </option>
          );
        })}
      </select>
    </label>
  );
}

/** What a filtered list says when nothing matches: that the filters did it, and the way back to everything. */
export function NoMatch({ what, href }: { what: string; href: string }) {
  return (
    <Empty title={`No ${what} match these filters.`}>
      <a href={href}>Show all {what}</a>
    </Empty>
  );
}

/** A headline number with what it counts; with `href`, a link to the list it counts (`current` when that list is shown). */
export function Kpi(props: { label: string; value: Child; href?: string; current?: boolean; testId?: string }) {
  const body = (
    <>
      <div class="v">{props.value}</div>
      <div class="l">{props.label}</div>
    </>
  );
  if (!props.href) {
    return (
      <div class="kpi" data-testid={props.testId}>
        {body}
      </div>
    );
  }
  return (
    <a class="kpi" href={props.href} aria-current={props.current ? 'true' : undefined} data-testid={props.testId}>
      {body}
    </a>
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

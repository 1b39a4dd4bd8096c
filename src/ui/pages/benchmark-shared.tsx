import type { Context, Handler } from 'hono';
import type { z } from 'zod';
import type { Alert } from '../../benchmarks/alerts/store.ts';
import { isConnectionError } from '../../db/connection-errors.ts';
import { EventixError, ValidationError } from '../../errors.ts';
import { issuesOf } from '../../queue/input.ts';
import { Action } from '../components.tsx';
import type { UiContext, UiEnv, Viewer } from '../context.ts';
import { Layout, type Section } from '../layout.tsx';

/**
 * What the commit and benchmark pages share: reading a page's query string with the API's own
 * schemas, the error page a bad query gets, and the small pieces (a sha link, a config label, a
 * link to a trend chart, the alert buttons) that look the same on every one of those pages.
 */

/** Query parameters that are the page's own business, never a filter: the flash of an action. */
const PAGE_PARAMS = new Set(['notice', 'error']);
const TAG_PARAM = /^tags\[(.+)\]$/;

/**
 * The query string, validated by `schema` as the API validates it. A GET form sends an empty
 * field for "any", so empty values are dropped; `tags[name]=value` gather into `tags`, as
 * readTaggedQuery does for the API. A bad value throws a ValidationError naming the field.
 */
export function readUiQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const raw = new Map<string, unknown>();
  const tags = new Map<string, string[]>();
  for (const [key, all] of Object.entries(c.req.queries())) {
    const values = all.filter((v) => v !== '');
    if (PAGE_PARAMS.has(key) || values.length === 0) continue;
    const tag = TAG_PARAM.exec(key);
    if (tag) tags.set(tag[1] as string, [...(tags.get(tag[1] as string) ?? []), ...values]);
    else raw.set(key, values.length === 1 ? values[0] : values);
  }
  if (tags.size) raw.set('tags', Object.fromEntries(tags));
  const parsed = schema.safeParse(Object.fromEntries(raw));
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error, '', '(query)'));
  return parsed.data;
}

function statusOf(err: EventixError): 400 | 404 | 409 {
  if (err.code.endsWith('NotFound')) return 404;
  if (err.code.endsWith('Conflict')) return 409;
  return 400;
}

function messageOf(err: EventixError): string {
  if (err instanceof ValidationError) return err.issues.map((i) => `${i.field}: ${i.message}`).join('; ');
  return err.message;
}

/**
 * A page handler whose refusals (a bad filter, an unknown sha or baseline) become a page saying
 * what was wrong, with the status the API would answer, instead of an error document. A database
 * outage still goes to the app's error handler (503).
 */
export function uiPage(section: Section, title: string, reset: string, handler: (c: UiContext) => Promise<Response>): Handler<UiEnv> {
  return async (c) => {
    try {
      return await handler(c);
    } catch (err) {
      if (!(err instanceof EventixError) || isConnectionError(err)) throw err;
      return c.html(
        <Layout title={title} section={section} viewer={c.get('viewer')} error={messageOf(err)}>
          <p>
            <a href={reset}>Start again without filters</a>
          </p>
        </Layout>,
        statusOf(err),
      );
    }
  };
}

export const shortSha = (sha: string) => sha.slice(0, 10);

export function commitHref(sha: string, repo?: string | null): string {
  return `/ui/commits/${encodeURIComponent(sha)}${repo ? `?repo=${encodeURIComponent(repo)}` : ''}`;
}

/** A sha as a link to its commit page, short, with the full sha on hover. */
export function ShaLink({ sha, repo }: { sha: string; repo?: string | null | undefined }) {
  return (
    <a href={commitHref(sha, repo)} class="mono" title={sha}>
      {shortSha(sha)}
    </a>
  );
}

export interface ConfigInfo {
  id: number;
  name?: string | null | undefined;
}

/** `config #3 (arm)`, or `no config` for runs pushed without one. */
export function configLabel(config: ConfigInfo | null | undefined): string {
  if (!config) return 'no config';
  return config.name ? `${config.name} (#${config.id})` : `config #${config.id}`;
}

/** A tag value as text, the way tag filters match it (`->>`): strings as they are, the rest as JSON. */
export const tagValue = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

export function tagText(tags: Record<string, unknown>): string {
  const keys = Object.keys(tags).sort();
  return keys.length ? keys.map((k) => `${k}=${tagValue(tags[k])}`).join(' ') : 'no tags';
}

/** The trend chart of one series (or of every series of a metric, without tags). */
export function trendHref(s: {
  repo: string;
  metric: string;
  configId?: number | null | undefined;
  architecture?: string | null | undefined;
  tags?: Record<string, unknown> | undefined;
}): string {
  const q = new URLSearchParams({ repo: s.repo, metric: s.metric });
  if (s.configId !== null && s.configId !== undefined) q.set('config', String(s.configId));
  if (s.architecture) q.set('architecture', s.architecture);
  for (const k of Object.keys(s.tags ?? {}).sort()) q.append(`tags[${k}]`, tagValue(s.tags?.[k]));
  return `/ui/benchmarks?${q}`;
}

/** The tabs of the benchmark section. */
export function BenchNav({ current }: { current: 'trends' | 'alerts' | 'compare' }) {
  const tabs: [typeof current, string, string][] = [
    ['trends', 'Trends', '/ui/benchmarks'],
    ['alerts', 'Alerts', '/ui/benchmarks/alerts'],
    ['compare', 'Compare with a baseline', '/ui/benchmarks/compare'],
  ];
  return (
    <nav class="subnav" aria-label="Benchmark views">
      {tabs.map(([key, label, href]) => (
        <a href={href} aria-current={key === current ? 'page' : undefined}>
          {label}
        </a>
      ))}
    </nav>
  );
}

/**
 * The buttons a person sets an alert's status with: the same change as PATCH
 * /benchmarks/alerts/{id} (scope submit), sending the revision shown, so a change made since
 * is refused rather than overwritten.
 */
export function AlertActions({ viewer, alert }: { viewer: Viewer; alert: Alert }) {
  const act = (status: string, label: string, danger = false) => (
    <Action
      viewer={viewer}
      scope="submit"
      action={`/ui/benchmarks/alerts/${alert.id}`}
      label={label}
      danger={danger}
      fields={{ status, revision: String(alert.revision) }}
      testId={`alert-${alert.id}-${status}`}
    />
  );
  const open = alert.status === 'open';
  return (
    <span class="actions tight">
      {open ? act('acknowledged', 'Acknowledge') : null}
      {open || alert.status === 'acknowledged' ? act('false_positive', 'False positive', true) : null}
      {!open ? act('open', 'Reopen') : null}
    </span>
  );
}

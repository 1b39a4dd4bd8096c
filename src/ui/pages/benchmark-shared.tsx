import type { Context } from 'hono';
import type { z } from 'zod';
import { ValidationError } from '../../errors.ts';
import type { Alert } from '../../tracking/alerts/store.ts';
import { issuesOf } from '../../validation/zod.ts';
import { Action } from '../components.tsx';
import type { Viewer } from '../context.ts';

/**
 * What the commit and benchmark pages share: reading a page's query string with the API's own
 * schemas, and the small pieces (a sha link, a config label, a link to a trend chart, the alert
 * and re-queue buttons) that look the same on every one of those pages.
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

/** A series' config and architecture in words: `config #3 · arm64`. */
export function configArch(config: ConfigInfo | null | undefined, architecture: string | null | undefined): string {
  return `${configLabel(config)}${architecture ? ` · ${architecture}` : ''}`;
}

/** A repository key's last segment (`valkey` for `github.com/valkey-io/valkey`): the full key goes in a title. */
export const repoName = (repo: string) => repo.split('/').filter(Boolean).at(-1) ?? repo;

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

/** An alert's series: its metric, linking to the series' trend chart, then its tags. */
export function AlertSeries({ a }: { a: Alert }) {
  return (
    <>
      <a href={trendHref({ repo: a.repo, metric: a.metric, configId: a.config?.id, architecture: a.architecture, tags: a.tags })}>
        {a.metric}
      </a>{' '}
      <span class="muted">{tagText(a.tags)}</span>
    </>
  );
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

/** A pair of commit status: one commit under one config and architecture. */
export interface PairKey {
  repo: string;
  sha: string;
  config_id: number;
  architecture: string | null;
}

/**
 * Re-queue a failed pair, on the commit page and below the matrix alike: the same scope as
 * POST /commits/requeue, the API's way of sending a failed pair back to waiting.
 */
export function RequeueButton({ viewer, pair }: { viewer: Viewer; pair: PairKey }) {
  return (
    <Action
      viewer={viewer}
      scope="submit"
      action="/ui/commits/requeue"
      label="Re-queue"
      confirm="Re-queue this failed pair? It goes back to waiting, with a fresh retry budget."
      fields={{ repo: pair.repo, sha: pair.sha, config_id: String(pair.config_id), architecture: pair.architecture ?? '' }}
      testId={`requeue-${shortSha(pair.sha)}-${pair.config_id}`}
    />
  );
}

import type { Context, MiddlewareHandler } from 'hono';
import { type AppEnv, grants } from '../api/auth.ts';
import type { ApiScope, ApiToken } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { TriggerDefinition } from '../events/define.ts';
import type { Logger } from '../logger.ts';
import type { SubmitResult } from '../queue/submit.ts';
import type { AlertSettings } from '../tracking/alerts/settings.ts';
import { csrfToken } from './session.ts';

/** What every page knows about the viewer: who they are, what they may do, the form token. */
export interface Viewer {
  /** The logged-in token; undefined when no tokens are configured (the open, loopback-only UI). */
  principal: ApiToken | undefined;
  /** Are tokens configured? Then there is a login and a logout. */
  authEnabled: boolean;
  /** May the viewer do what `scope` grants? Decides which buttons a page draws. */
  can: (scope: ApiScope) => boolean;
  /** The CSRF value every mutating form carries as `_csrf`. */
  csrf: string;
  /** The request's path and query, for links back here and the live refresh. */
  here: string;
}

export type UiEnv = AppEnv & { Variables: AppEnv['Variables'] & { viewer: Viewer } };
export type UiContext = Context<UiEnv>;

/** What the dashboard's pages are built from, passed down once from createApp. */
export interface UiDeps {
  database: Database;
  logger: Logger;
  /** The configured API tokens (EVENTIX_API_TOKENS); empty means the open UI. */
  apiTokens: readonly ApiToken[];
  /** The repositories that commit tracking knows (EVENTIX_REPOS), for links and git order. */
  repos?: readonly string[] | undefined;
  /** Change points and alerts: direction overrides and the minimum effect, as the API uses them. */
  alerts?: AlertSettings | undefined;
  /** Triggers defined in code (defineTrigger), shown beside the stored ones. */
  codeTriggers?: readonly TriggerDefinition[] | undefined;
  /** Tasks the dashboard submits (a schedule's Run now), for the submitted-tasks counter, as the API counts them. */
  onSubmitted?: ((results: readonly SubmitResult[]) => void) | undefined;
}

export function viewerMiddleware(authEnabled: boolean): MiddlewareHandler<UiEnv> {
  return async function setViewer(c, next) {
    const principal = c.get('principal');
    const url = new URL(c.req.url);
    c.set('viewer', {
      principal,
      authEnabled,
      can: (scope) => grants(principal, scope),
      csrf: csrfToken(c),
      here: url.pathname + url.search,
    });
    return next();
  };
}

import { raw } from 'hono/html';
import type { PropsWithChildren } from 'hono/jsx';
import { assetUrl } from './assets.ts';
import { CsrfField, Flash } from './components.tsx';
import type { Viewer } from './context.ts';

export type Section = 'overview' | 'tasks' | 'schedules' | 'events' | 'commits' | 'benchmarks' | 'login';

const NAV: [Section, string, string][] = [
  ['overview', 'Overview', '/ui'],
  ['tasks', 'Tasks', '/ui/tasks'],
  ['schedules', 'Schedules', '/ui/schedules'],
  ['events', 'Events', '/ui/events'],
  ['commits', 'Commits', '/ui/commits'],
  ['benchmarks', 'Benchmarks', '/ui/benchmarks'],
];

export interface LayoutProps {
  title: string;
  section: Section;
  viewer: Viewer;
  /** Refresh the main region every this many milliseconds without a reload (overview, task lists). */
  liveMs?: number;
  /** Load uPlot and the chart code. */
  charts?: boolean;
  notice?: string | undefined;
  error?: string | undefined;
}

/** Every page's frame: the navigation, who is logged in, the flash message and the live region. */
export function Layout(props: PropsWithChildren<LayoutProps>) {
  const { viewer } = props;
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="color-scheme" content="light dark" />
          <title>{`${props.title} · Eventix`}</title>
          <link rel="icon" href={assetUrl('icon.svg')} type="image/svg+xml" />
          <link rel="stylesheet" href={assetUrl('app.css')} />
          {props.charts ? <link rel="stylesheet" href={assetUrl('uplot.css')} /> : null}
          {props.charts ? <script src={assetUrl('uplot.js')} defer /> : null}
          {props.charts ? <script src={assetUrl('charts.js')} defer /> : null}
          <script src={assetUrl('app.js')} defer />
        </head>
        <body>
          <a class="skip" href="#main">
            Skip to content
          </a>
          <header class="top">
            <a class="brand" href="/ui">
              Eventix
            </a>
            <nav aria-label="Sections">
              <ul>
                {NAV.map(([key, label, href]) => (
                  <li>
                    <a href={href} aria-current={props.section === key ? 'page' : undefined}>
                      {label}
                    </a>
                  </li>
                ))}
                <li>
                  <a href="/docs">API docs</a>
                </li>
              </ul>
            </nav>
            {viewer.authEnabled && viewer.principal ? (
              <form method="post" action="/ui/logout" class="who">
                <span>
                  {viewer.principal.name} <span class="muted">({viewer.principal.scope})</span>
                </span>
                <CsrfField viewer={viewer} />
                <button type="submit" class="btn link">
                  Log out
                </button>
              </form>
            ) : null}
          </header>
          <main id="main" data-live={props.liveMs ? String(props.liveMs) : undefined}>
            <h1>{props.title}</h1>
            <Flash notice={props.notice} error={props.error} />
            {props.children}
          </main>
        </body>
      </html>
    </>
  );
}

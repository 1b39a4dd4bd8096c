import { Hono } from 'hono';
import { Empty } from '../components.tsx';
import type { UiDeps, UiEnv } from '../context.ts';
import { Layout } from '../layout.tsx';

export function overviewPages(_deps: UiDeps) {
  return new Hono<UiEnv>().get('/', (c) =>
    c.html(
      <Layout title="Overview" section="overview" viewer={c.get('viewer')}>
        <Empty title="Not built yet" />
      </Layout>,
    ),
  );
}

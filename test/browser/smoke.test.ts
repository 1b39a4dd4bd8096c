import { describe, expect, it } from 'vitest';
import { checkPage, noBrowser, useUiServer } from './harness.ts';

describe.skipIf(noBrowser)('dashboard frame', () => {
  const ui = useUiServer();

  it('redirects / to the overview and passes axe in light and dark mode', async () => {
    for (const colorScheme of ['light', 'dark'] as const) {
      const page = await ui.newPage({ colorScheme });
      const res = await page.goto('/');
      expect(res?.status()).toBe(200);
      expect(new URL(page.url()).pathname).toBe('/ui');
      await expect.poll(() => page.locator('h1').textContent()).toBe('Overview');
      await checkPage(page, `frame-${colorScheme}`);
    }
  });
});

import { expect, test, type Page, type Response } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { ChartPage } from './pages';

const python = (code: string) => execFileSync('python3', ['-c', code]).toString().trim();

/** The tile answers the page gets, as they come. */
function tileAnswers(page: Page): Response[] {
  const seen: Response[] = [];
  page.on('response', (r) => {
    if (r.url().includes('/api/tiles/')) seen.push(r);
  });
  return seen;
}

/** The listed ETag of `name`, without the quotes: the version tile URLs name. */
async function version(page: Page, name: string): Promise<string> {
  const listing = await (await page.request.get('/api/arrays')).json();
  const entry = listing.arrays.find((a: { name: string }) => a.name === name);
  return entry.etag.replaceAll('"', '');
}

/** Which tile URLs the page fetched, and whether each came from the browser's cache. */
async function fetchedTiles(page: Page): Promise<{ name: string; cached: boolean }[]> {
  return page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .filter((e) => e.name.includes('/api/tiles/'))
      .map((e) => ({ name: e.name, cached: (e as PerformanceResourceTiming).transferSize === 0 })),
  );
}

test('the chart draws from versioned tiles any cache may keep, and a view seen again costs no request', async ({
  page,
}) => {
  const answers = tileAnswers(page);
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/pass/rssi');
  await expect(chart.host).toHaveAttribute('data-settled', 'true');
  const [rssi, t] = [await version(page, 'demo/pass/rssi'), await version(page, 'demo/pass/t')];

  // On a time axis: tiles in time, naming the versions of the series and of its timestamps.
  expect(answers.length).toBeGreaterThan(0);
  const inTime = answers.filter((r) => r.url().includes('by=time'));
  expect(inTime.length).toBeGreaterThan(0);
  for (const answer of answers) {
    const url = new URL(answer.url());
    expect(answer.status()).toBe(200);
    expect(answer.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(url.searchParams.get('v')).toBe(rssi);
    expect(url.searchParams.get('time')).toBe('demo/pass/t');
    expect(url.searchParams.get('tv')).toBe(t);
  }

  // Zoom in, then back out: the first view's tiles come again from the browser's cache.
  const first = new Set((await fetchedTiles(page)).map((e) => e.name));
  const before = (await fetchedTiles(page)).length;
  await chart.host.focus();
  await page.keyboard.press('+');
  await expect(chart.host).toHaveAttribute('data-settled', 'true');
  await page.keyboard.press('0');
  await expect(chart.host).toHaveAttribute('data-settled', 'true');
  await expect.poll(async () => (await fetchedTiles(page)).length).toBeGreaterThan(before);
  const again = (await fetchedTiles(page)).slice(before).filter((e) => first.has(e.name));
  expect(again.length).toBeGreaterThan(0);
  expect(again.every((e) => e.cached)).toBe(true);
});

test('after an append the chart asks for the new version, led by the event', async ({ page, baseURL }) => {
  python(`
import io, urllib.request, numpy as np
buf = io.BytesIO(); np.save(buf, np.sin(np.arange(5000, dtype="<f8") / 50))
req = urllib.request.Request("${baseURL}/api/arrays/tiles/feed", data=buf.getvalue(), method="PUT",
                             headers={"Content-Type": "application/x-npy"})
urllib.request.urlopen(req)`);
  const answers = tileAnswers(page);
  const chart = new ChartPage(page);
  await chart.goto('/view/tiles/feed');
  await expect(chart.host).toHaveAttribute('data-settled', 'true');
  const old = await version(page, 'tiles/feed');
  expect(answers.every((r) => new URL(r.url()).searchParams.get('v') === old)).toBe(true);

  python(`
import io, urllib.request, numpy as np
buf = io.BytesIO(); np.save(buf, np.zeros(1000, dtype="<f8"))
req = urllib.request.Request("${baseURL}/api/arrays/tiles/feed", data=buf.getvalue(), method="POST",
                             headers={"Content-Type": "application/x-npy"})
urllib.request.urlopen(req)`);
  const now = await version(page, 'tiles/feed');
  expect(now).not.toBe(old);
  await expect.poll(() => answers.some((r) => new URL(r.url()).searchParams.get('v') === now)).toBe(true);
  // The event brought the version first: no tile URL was refused as stale.
  expect(answers.filter((r) => r.status() !== 200).map((r) => r.url())).toEqual([]);
});

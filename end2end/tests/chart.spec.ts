import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { ChartPage, waitForHydration } from './pages';

/** Non-background pixels on the canvas. */
async function inkedPixels(page: Page): Promise<number> {
  return page.getByTestId('chart-canvas').evaluate((canvas: HTMLCanvasElement) => {
    const ctx = canvas.getContext('2d')!;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let inked = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 0 && (data[i] < 200 || data[i + 1] < 200 || data[i + 2] < 200)) inked++;
    }
    return inked;
  });
}

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the full-range chart arrives as SVG', async ({ page }) => {
    await page.goto('/view/demo/vibration');
    const svg = page.getByTestId('chart-svg').locator('svg');
    await expect(svg).toBeVisible();
    // The line of the whole series: about one column of min/max per pixel.
    const points = (await svg.locator('polyline').first().getAttribute('points')) ?? '';
    expect(points.trim().split(/\s+/).length).toBeGreaterThan(500);
    await expect(svg).toContainText('vibration');
  });
});

test('the hydrated canvas draws, and wheel zoom refines from the server', async ({ page }) => {
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/vibration');
  expect(await inkedPixels(page)).toBeGreaterThan(2000);
  const [a, b] = await chart.window();
  expect([a, b]).toEqual([0, 50_000_000]);
  const ticksBefore = await chart.xTicks.textContent();
  const { x, y } = await chart.center();
  await page.mouse.move(x, y);
  // The full view's tiles are of a level with bins of ~40,000 samples; zoomed, of a lower one.
  const level = (url: string) => Number(new URL(url).searchParams.get('level'));
  const lod = page.waitForRequest((r) => r.url().includes('/api/tiles/demo/vibration') && level(r.url()) < 14);
  await page.mouse.wheel(0, -600);
  await lod;
  const [c, d] = await chart.window();
  expect(d - c).toBeLessThan((b - a) / 2);
  await expect(chart.xTicks).not.toHaveText(ticksBefore ?? '');
});

test('pan, box zoom, reset and keys change the view as they should', async ({ page }) => {
  const chart = new ChartPage(page);
  // By index: every window holds samples (the demo pass, in time, has gaps to zoom into).
  await chart.goto('/view/demo/vibration');
  const full = await chart.window();
  const { x, y } = await chart.center();

  await chart.host.focus();
  await page.keyboard.press('+');
  const zoomed = await chart.window();
  expect(zoomed[1] - zoomed[0]).toBeLessThan(full[1] - full[0]);

  // Drag left: the window moves right, same width.
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x - 200, y, { steps: 5 });
  await page.mouse.up();
  const panned = await chart.window();
  expect(panned[0]).toBeGreaterThan(zoomed[0]);
  expect(panned[1] - panned[0]).toBeCloseTo(zoomed[1] - zoomed[0], -1);

  await page.keyboard.press('ArrowLeft');
  const left = await chart.window();
  expect(left[0]).toBeLessThan(panned[0]);

  // Shift-drag: zoom to the box.
  await page.keyboard.down('Shift');
  await page.mouse.move(x - 100, y);
  await page.mouse.down();
  await page.mouse.move(x + 50, y, { steps: 5 });
  await page.mouse.up();
  await page.keyboard.up('Shift');
  const boxed = await chart.window();
  expect(boxed[1] - boxed[0]).toBeLessThan(left[1] - left[0]);
  expect(boxed[0]).toBeGreaterThanOrEqual(left[0]);

  await page.mouse.dblclick(x, y);
  expect(await chart.window()).toEqual(full);

  await page.keyboard.press('-');
  await page.keyboard.press('0');
  expect(await chart.window()).toEqual(full);
});

test('the hover readout shows the exact sample NumPy reads, at its exact time', async ({ page }) => {
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/pass/bus_voltage');
  const { x, y } = await chart.center();
  await page.mouse.move(x, y);
  const value = page.getByTestId('readout-value').first();
  await expect(value).toHaveAttribute('data-index', /\d+/);
  const index = Number(await value.getAttribute('data-index'));
  const data = process.env.DOWNLINK_E2E_DATA!;
  const want = execFileSync('python3', ['-c', `
import numpy as np
z = np.load("${data}/demo/pass.npz")
print(str(z["bus_voltage"][${index}]))
print(np.datetime_as_string(z["t"][${index}], unit="ns") + "Z")
`]).toString().trim().split('\n');
  await expect(value.locator('code')).toHaveText(want[0]);
  expect(await value.getAttribute('data-time')).toBe(want[1]);
  await expect(page.getByTestId('readout-when').first()).toContainText(`${want[1]} · sample ${index}`);
});

test('a reload restores the view from the URL', async ({ page }) => {
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/pass');
  await chart.host.focus();
  await page.keyboard.press('+');
  await page.keyboard.press('ArrowRight');
  const before = await chart.window();
  await page.getByTestId('series-toggle').filter({ hasText: 'rssi' }).click();
  // A group with timestamps is charted in time: the URL holds instants.
  await expect(page).toHaveURL(/t0=\d+&t1=\d+.*hide=rssi/);
  await page.reload();
  await waitForHydration(page);
  expect(await chart.window()).toEqual(before);
  await expect(page.getByTestId('series-toggle').filter({ hasText: 'rssi' })).toHaveClass(/off/);
});

test('the chart uses the width of the screen, follows resizes and honours the pixel ratio', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 2400, height: 1200 }, deviceScaleFactor: 2 });
  const page = await context.newPage();
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/vibration');
  const canvas = page.getByTestId('chart-canvas');
  const size = () =>
    canvas.evaluate((c: HTMLCanvasElement) => ({ css: c.getBoundingClientRect().width, px: c.width }));
  // On a 2400 px screen the chart is 2400 px less the page's margins, not a fixed 1090.
  await expect.poll(async () => (await size()).css).toBeGreaterThan(2200);
  let { css, px } = await size();
  expect(px).toBe(Math.round(css * 2));
  await page.setViewportSize({ width: 900, height: 1000 });
  await expect.poll(async () => (await size()).css).toBeLessThan(900);
  ({ css, px } = await size());
  expect(css).toBeGreaterThan(700);
  expect(px).toBe(Math.round(css * 2));
  // And it still draws after the resize.
  expect(await inkedPixels(page)).toBeGreaterThan(1000);
  await context.close();
});

test('every series of a group has a colour of its own, in the legend and on the canvas', async ({ page }) => {
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/pass');
  const swatches = page.getByTestId('series-toggle').locator('.swatch');
  const colours = await swatches.evaluateAll((els) => els.map((el) => getComputedStyle(el).backgroundColor));
  expect(colours.length).toBeGreaterThanOrEqual(10);
  expect(new Set(colours).size).toBe(colours.length);
  // The legend's colours are the ones the chart draws with: each is on the canvas (a pixel
  // the line covers whole has it, give or take rounding).
  const missing = await page.evaluate((want) => {
    const canvas = document.querySelector('canvas')!;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    return want.filter((colour) => {
      const [r, g, b] = colour.match(/\d+/g)!.map(Number);
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) <= 6) return false;
      }
      return true;
    });
  }, colours);
  expect(missing).toEqual([]);
});

test('a group stacks its members and toggles series', async ({ page }) => {
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/pass');
  const toggles = page.getByTestId('series-toggle');
  expect(await toggles.count()).toBeGreaterThanOrEqual(10); // 6 series + 4 attitude columns
  const tall = (await chart.host.boundingBox())!.height;
  await toggles.filter({ hasText: 'temp_obc' }).click();
  await expect.poll(async () => (await chart.host.boundingBox())!.height).toBeLessThan(tall);
});

test('export downloads the visible window as .npy that NumPy loads', async ({ page }) => {
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/pass/rssi');
  await chart.host.focus();
  await page.keyboard.press('+');
  const [a, b] = await chart.window();
  const download = page.waitForEvent('download');
  await page.getByTestId('export-npy').click();
  const file = await (await download).path();
  const length = execFileSync('python3', ['-c', `import numpy as np; print(len(np.load("${file}")))`]).toString().trim();
  expect(Number(length)).toBe(b - a);
  const png = page.waitForEvent('download');
  await page.getByTestId('export-png').click();
  const pngPath = await (await png).path();
  expect(fs.readFileSync(pngPath).subarray(1, 4).toString()).toBe('PNG');
});

test('export downloads the visible window as CSV, with its time column, that NumPy reads back exactly', async ({ page, baseURL }) => {
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/pass/rssi');
  await chart.host.focus();
  await page.keyboard.press('+');
  await page.keyboard.press('ArrowRight');
  const [a, b] = await chart.window();
  expect(a).toBeGreaterThan(0);
  const download = page.waitForEvent('download');
  await page.getByTestId('export-csv').click();
  const file = await (await download).path();
  const rows = execFileSync('python3', ['-c', `
import csv, io, urllib.request, numpy as np
with open("${file}") as f:
    table = list(csv.reader(f))
head, body = table[0], table[1:]
get = lambda name: np.load(io.BytesIO(urllib.request.urlopen("${baseURL}/api/arrays/demo/pass/" + name).read()))
rssi, t = get("rssi"), get("t")
assert head == ["time", "rssi"], head
times = np.array([np.datetime64(row[0].rstrip("Z"), "ns") for row in body])
np.testing.assert_array_equal(times, t[${a}:${b}])
np.testing.assert_array_equal(np.array([row[1] for row in body], dtype=rssi.dtype), rssi[${a}:${b}])
print(len(body))`]).toString().trim();
  expect(Number(rows)).toBe(b - a);
});

test('a gappy group shows its gap where the time is, and the readout at a tick reads that time', async ({ page }) => {
  const chart = new ChartPage(page);
  await chart.goto('/view/fixtures/gappy');
  await expect(chart.host).toHaveAttribute('data-settled', 'true');
  // Two five-minute passes an hour apart: on a true time axis the gap is 60 of 70 minutes.
  const columns = await page.getByTestId('chart-canvas').evaluate((canvas: HTMLCanvasElement) => {
    const ctx = canvas.getContext('2d')!;
    const ratio = canvas.width / canvas.getBoundingClientRect().width;
    // Rows through the middle of the single panel.
    const { data, width } = ctx.getImageData(0, Math.round(60 * ratio), canvas.width, Math.round(80 * ratio));
    const rows = data.length / 4 / width;
    const inked: number[] = [];
    for (let x = 0; x < width; x++) {
      for (let y = 0; y < rows; y++) {
        const i = (y * width + x) * 4;
        if (data[i + 3] > 0 && data[i] < 120 && data[i + 1] > 120) {
          inked.push(x / ratio);
          break;
        }
      }
    }
    return inked;
  });
  expect(columns.length).toBeGreaterThan(20);
  const [left, right] = [columns[0], columns[columns.length - 1]];
  let gap = [0, 0];
  for (let k = 1; k < columns.length; k++) {
    if (columns[k] - columns[k - 1] > gap[1] - gap[0]) gap = [columns[k - 1], columns[k]];
  }
  const span = 70 * 60; // seconds from the first sample to the last, about
  expect((gap[0] - left) / (right - left)).toBeCloseTo(300 / span, 1);
  expect((gap[1] - left) / (right - left)).toBeCloseTo(3900 / span, 1);

  // Hover a tick that falls inside the first pass: the readout's time is the tick's, to
  // within the time one pixel spans.
  const ticks = chart.xTicks.locator('li');
  const positions = await ticks.evaluateAll((items) =>
    items.map((li) => ({ px: Number(li.getAttribute('data-px')), ns: BigInt(li.getAttribute('data-ns') ?? '0') })));
  const box = (await chart.host.boundingBox())!;
  const inside = positions.find((t) => t.px > left + 2 && t.px < gap[0] - 2);
  expect(inside).toBeDefined();
  await page.mouse.move(box.x + inside!.px, box.y + 70);
  // The nearest sample's own time, not the cursor's.
  const value = page.getByTestId('readout-value').first();
  await expect(value).toHaveAttribute('data-time', /Z$/);
  const iso = /(\d{4}-\d\d-\d\dT[\d:.]+)Z/.exec((await value.getAttribute('data-time')) ?? '')![1];
  const [whole, fraction = ''] = iso.split('.');
  const readNs = BigInt(Date.parse(whole + 'Z')) * 1_000_000n + BigInt((fraction + '000000000').slice(0, 9));
  const nsPerPx = (70n * 60n * 1_000_000_000n) / BigInt(Math.round(right - left));
  const off = readNs > inside!.ns ? readNs - inside!.ns : inside!.ns - readNs;
  expect(off <= 2n * nsPerPx).toBe(true);
});

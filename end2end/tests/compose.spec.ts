import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { ChartPage, waitForHydration } from './pages';

const python = (code: string) => execFileSync('python3', ['-c', code]).toString().trim();

/** An ISO 8601 instant with nanoseconds (`…T09:26:53.020000000Z`) as ns since the epoch. */
function ns(iso: string): bigint {
  const [, whole, fraction] = /^(.*?T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso)!;
  return BigInt(Date.parse(whole + 'Z')) * 1_000_000n + BigInt(((fraction ?? '') + '000000000').slice(0, 9));
}

const abs = (v: bigint) => (v < 0n ? -v : v);

/** The window of the page as its address bar holds it: [t0, t1) in ns. */
function windowOf(page: Page): [bigint, bigint] {
  const url = new URL(page.url());
  return [BigInt(url.searchParams.get('t0')!), BigInt(url.searchParams.get('t1')!)];
}

/** Hover `x` px into the chart and wait for a readout of every visible series. */
async function readAt(page: Page, chart: ChartPage, x: number, series: number) {
  const box = (await chart.host.boundingBox())!;
  // Move onto x (from a pixel beside it, so a pointer already there moves again).
  await page.mouse.move(box.x + x - 1, box.y + 60);
  await page.mouse.move(box.x + x, box.y + 60);
  await expect(page.getByTestId('readout-value')).toHaveCount(series);
  const at = ns((await page.getByTestId('readout-at').textContent())!.trim());
  const values = await page.getByTestId('readout-value').evaluateAll((spans) =>
    spans.map((s) => ({
      key: s.getAttribute('data-key')!,
      index: Number(s.getAttribute('data-index')),
      time: s.getAttribute('data-time')!,
      value: s.querySelector('code')!.textContent!,
    })));
  return { at, values };
}

test('a two-rate view composed with the picker zooms and pans in sync, with a readout for each series', async ({ page }) => {
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/pass/rssi');
  // Add the 1 Hz housekeeping channel (its own timestamps, t_hk in ms) to the 50 Hz series.
  await page.getByTestId('picker-input').fill('demo/pass/hk_solar_a');
  await page.getByTestId('picker-add').click();
  await expect(page).toHaveURL(/add=demo\/pass\/hk_solar_a/);
  await waitForHydration(page);
  await expect(chart.svg).toHaveClass(/hidden/);
  await expect(page.getByTestId('series-toggle')).toHaveText(['rssi', 'demo/pass/hk_solar_a']);

  // Zoom into the second pass, then pan: one x axis, so both series follow.
  await chart.host.focus();
  for (let i = 0; i < 6; i++) await page.keyboard.press('+');
  await expect(chart.host).toHaveAttribute('data-settled', 'true');
  const data = process.env.DOWNLINK_E2E_DATA!;
  const spacing: Record<string, bigint> = { rssi: 20_000_000n, 'demo/pass/hk_solar_a': 1_000_000_000n };
  for (const pan of [false, true]) {
    if (pan) {
      const before = page.url();
      await chart.host.focus();
      await page.keyboard.press('ArrowRight');
      await expect(chart.host).toHaveAttribute('data-settled', 'true');
      // The address bar follows the view once it rests (debounced): wait for the panned
      // window there, or the check below compares the new view with the old window.
      await expect(page).not.toHaveURL(before);
    }
    await expect(page).toHaveURL(/t0=\d+&t1=\d+/);
    const [t0, t1] = windowOf(page);
    const width = (await chart.host.boundingBox())!.width;
    const nsPerPx = (t1 - t0) / BigInt(Math.round(width));
    // The readout's time is set at once, each series' exact value once its bytes arrive:
    // read until every value belongs to the cursor's time.
    const near = (r: Awaited<ReturnType<typeof readAt>>) =>
      r.values.every((v) => abs(ns(v.time) - r.at) <= spacing[v.key] / 2n + 2n * nsPerPx);
    await expect.poll(async () => near(await readAt(page, chart, width / 2, 2))).toBe(true);
    const { at, values } = await readAt(page, chart, width / 2, 2);
    expect(at >= t0 && at < t1).toBe(true);
    expect(values.map((v) => v.key)).toEqual(['rssi', 'demo/pass/hk_solar_a']);
    for (const v of values) {
      // Each series reads its own sample nearest the cursor's time, at its own rate.
      const off = abs(ns(v.time) - at);
      expect(off <= spacing[v.key] / 2n + 2n * nsPerPx, `${v.key} ${off} ns off`).toBe(true);
      const leaf = v.key.replace('demo/pass/', '');
      const times = leaf === 'rssi' ? 't' : 't_hk';
      const want = python(`
import numpy as np
z = np.load("${data}/demo/pass.npz")
print(str(z["${leaf}"][${v.index}]))
print(np.datetime_as_string(z["${times}"][${v.index}], unit="ns") + "Z")`).split('\n');
      expect([v.value, v.time]).toEqual(want);
    }
  }

  // Overlay the housekeeping on the panel above: one panel, in the URL; then remove it.
  const tall = (await chart.host.boundingBox())!.height;
  await page.getByTestId('series-join').click();
  await expect.poll(async () => (await chart.host.boundingBox())!.height).toBeLessThan(tall);
  await expect(page).toHaveURL(/join=demo\/pass\/hk_solar_a/);
  await page.getByTestId('series-remove').click();
  await expect(page).not.toHaveURL(/add=/);
  await waitForHydration(page);
  await expect(page.getByTestId('series-toggle')).toHaveText(['rssi']);
});

test('a group export holds every visible series with its time, as .npz and as CSV', async ({ page }) => {
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/pass');
  for (const hidden of ['temp_obc', 'hk_eclipse']) {
    await page.getByTestId('series-toggle').filter({ hasText: new RegExp(`^${hidden}$`) }).click();
  }
  await chart.host.focus();
  for (let i = 0; i < 3; i++) await page.keyboard.press('+');
  await expect(chart.host).toHaveAttribute('data-settled', 'true');
  await expect(page).toHaveURL(/t0=\d+&t1=\d+.*hide=temp_obc,hk_eclipse/);
  const [t0, t1] = windowOf(page);
  const data = process.env.DOWNLINK_E2E_DATA!;
  // What the window holds of each visible array, by its own timestamps.
  const expected = `
import numpy as np
full = np.load("${data}/demo/pass.npz")
visible = [m for m in full.files if m not in ("t", "t_hk", "temp_obc", "hk_eclipse")]
def times(m):
    return full["t_hk"] if m.startswith("hk_") else full["t"]
def window(m):
    t = times(m).astype("datetime64[ns]").astype(np.int64)
    return np.searchsorted(t, ${t0}, "left"), np.searchsorted(t, ${t1}, "left")
`;

  const npz = page.waitForEvent('download');
  await page.getByTestId('export-npz').click();
  const npzFile = await (await npz).path();
  expect(python(expected + `
z = np.load("${npzFile}")
assert sorted(z.files) == sorted(visible + ["t_" + m for m in visible]), z.files
for m in visible:
    a, b = window(m)
    assert b > a, m
    np.testing.assert_array_equal(z[m], full[m][a:b])
    np.testing.assert_array_equal(z["t_" + m], times(m)[a:b])
    assert z["t_" + m].dtype == times(m).dtype
print("ok")`)).toBe('ok');

  const csv = page.waitForEvent('download');
  await page.getByTestId('export-csv').click();
  const csvFile = await (await csv).path();
  expect(python(expected + `
import csv
with open("${csvFile}") as f:
    table = list(csv.reader(f))
head, body = table[0], table[1:]
columns = [m for m in visible if m != "attitude"] + ["attitude.%d" % c for c in range(4)]
assert head[0] == "time" and sorted(head[1:]) == sorted(columns), head
stamps = np.array([np.datetime64(r[0].rstrip("Z"), "ns") for r in body]).astype(np.int64)
assert (np.diff(stamps) >= 0).all() and stamps[0] >= ${t0} and stamps[-1] < ${t1}
# Each series has a value in exactly the rows at its own sample times.
for m in ("rssi", "hk_battery_adc"):
    a, b = window(m)
    col = head.index(m)
    filled = [i for i, r in enumerate(body) if r[col] != ""]
    want = times(m)[a:b].astype("datetime64[ns]").astype(np.int64)
    np.testing.assert_array_equal(stamps[filled], want)
    np.testing.assert_array_equal(np.array([body[i][col] for i in filled], dtype=full[m].dtype), full[m][a:b])
print("ok")`)).toBe('ok');
});

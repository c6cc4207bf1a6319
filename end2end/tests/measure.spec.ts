import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { ChartPage } from './pages';

const python = (code: string) => execFileSync('python3', ['-c', code]).toString().trim();

type Stats = Record<'count' | 'min' | 'max' | 'mean' | 'rms' | 'std', number> & { samples: number };

/** The statistics row of the first series once it describes `samples` samples. */
async function statsOf(page: Page, samples: number): Promise<Stats> {
  const row = page.getByTestId('stats-row').first();
  await expect(row.locator('[data-stat="samples"]')).toHaveText(String(samples));
  return row.evaluate((tr) => {
    const out: Record<string, number> = {};
    for (const td of tr.querySelectorAll('td[data-stat]')) {
      const raw = td.getAttribute('data-value') ?? td.textContent ?? '';
      out[td.getAttribute('data-stat')!] = Number(raw);
    }
    return out as Stats;
  });
}

/** NumPy's statistics of `expr[a:b]` (NaN left out, ddof 0), as JSON. */
function numpyStats(load: string, a: number, b: number): Stats {
  return JSON.parse(python(`
import json, numpy as np
x = ${load}[${a}:${b}]
w = x[~np.isnan(x)].astype(np.float64)
print(json.dumps(dict(count=int(w.size), min=float(w.min()), max=float(w.max()), mean=float(w.mean()),
                      rms=float(np.sqrt(np.mean(w * w))), std=float(w.std()))))
`));
}

function expectClose(got: Stats, want: Stats) {
  expect(got.count).toBe(want.count);
  expect(got.min).toBe(want.min);
  expect(got.max).toBe(want.max);
  for (const k of ['mean', 'rms', 'std'] as const) {
    expect(Math.abs(got[k] - want[k])).toBeLessThanOrEqual(1e-9 * Math.abs(want[k]) + 1e-12);
  }
}

test('the statistics of the visible window match NumPy, and follow a zoom', async ({ page }) => {
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/pass/bus_voltage');
  const data = process.env.DOWNLINK_E2E_DATA!;
  const load = `np.load("${data}/demo/pass.npz")["bus_voltage"]`;
  for (let zoom = 0; zoom < 2; zoom++) {
    if (zoom) {
      await chart.host.focus();
      for (let i = 0; i < 4; i++) await page.keyboard.press('+');
    }
    const [a, b] = await chart.window();
    expectClose(await statsOf(page, b - a), numpyStats(load, a, b));
  }
});

test('the statistics of a 50M-sample window are exact too', async ({ page }) => {
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/vibration');
  // The demo's accelerometer has a clock: its axis reads in time, its spectrum in Hz.
  await expect(chart.xTicks).toContainText('09:30');
  await page.getByTestId('spectrum-toggle').click();
  await expect(page.getByTestId('spectrum')).toContainText('rate 25.6 kHz');
  const [a, b] = await chart.window();
  expect(b - a).toBe(50_000_000);
  const data = process.env.DOWNLINK_E2E_DATA!;
  const want = numpyStats(`np.load("${data}/demo/vibration.npy", mmap_mode="r")`, a, b);
  expectClose(await statsOf(page, b - a), want);
});

test('the spectrum of a tone peaks at its frequency, with a readout', async ({ page }) => {
  const data = process.env.DOWNLINK_E2E_DATA!;
  // 2 kHz telemetry of a 317 Hz tone in noise, with its timestamps (so the rate is known).
  python(`
import numpy as np, os
os.makedirs("${data}/measure", exist_ok=True)
n = 200_000
t = np.datetime64("2026-03-14T09:00:00", "ns") + (np.arange(n) * 500_000).astype("timedelta64[ns]")
rng = np.random.default_rng(3)
x = np.sin(2 * np.pi * 317.0 * np.arange(n) / 2000.0) + 0.2 * rng.standard_normal(n)
np.savez("${data}/measure/.tone.npz", t=t, x=x.astype(np.float32))
os.replace("${data}/measure/.tone.npz", "${data}/measure/tone.npz")
`);
  const chart = new ChartPage(page);
  await chart.goto('/view/measure/tone/x');
  await page.getByTestId('spectrum-toggle').click();
  const peak = page.getByTestId('spectrum-peak');
  await expect(peak).toHaveAttribute('data-frequency', /\d/);
  const f = Number(await peak.getAttribute('data-frequency'));
  expect(Math.abs(f - 317)).toBeLessThanOrEqual(2000 / 4096);
  await expect(page.getByTestId('spectrum')).toContainText('from the timestamps');

  // Hovering the peak reads its frequency and density.
  const canvas = page.getByTestId('spectrum-canvas');
  await canvas.scrollIntoViewIfNeeded();
  const box = (await canvas.boundingBox())!;
  const px = await canvas.evaluate((c, f) => {
    // The plot spans [64, width - 16] CSS px over [0, 1000] Hz (see src/chart/spectrum.rs).
    const w = c.getBoundingClientRect().width;
    return 64 + (f / 1000) * (w - 16 - 64);
  }, f);
  // (Moved again until the panel has been drawn and reads.)
  await expect(async () => {
    await page.mouse.move(box.x + px - 1, box.y + box.height / 2);
    await page.mouse.move(box.x + px, box.y + box.height / 2);
    await expect(page.getByTestId('spectrum-readout')).toContainText(/31[5-8]\.\d+ Hz · PSD/, { timeout: 500 });
  }).toPass();

  // A shorter segment length gives a coarser spectrum with the same peak.
  await page.getByTestId('spectrum-nperseg').selectOption('256');
  await expect(page.getByTestId('spectrum')).toContainText('256-sample segments');
  const coarse = Number(await peak.getAttribute('data-frequency'));
  expect(Math.abs(coarse - 317)).toBeLessThanOrEqual(2000 / 256);
});

test('a rate typed in gives the spectrum of a plain array in Hz', async ({ page }) => {
  const data = process.env.DOWNLINK_E2E_DATA!;
  // 1,000,000 samples with no timestamps and no clock: two tones and noise.
  python(`
import numpy as np, os
os.makedirs("${data}/plain", exist_ok=True)
i = np.arange(1_000_000)
x = np.sin(2 * np.pi * 0.05 * i) + 0.3 * np.sin(2 * np.pi * 0.11 * i) + 0.1 * np.random.default_rng(1).standard_normal(i.size)
np.save("${data}/plain/.tones.npy", x.astype(np.float32))
os.replace("${data}/plain/.tones.npy", "${data}/plain/tones.npy")
`);
  const chart = new ChartPage(page);
  await chart.goto('/view/plain/tones');
  await page.getByTestId('spectrum-toggle').click();
  await expect(page.getByTestId('spectrum')).toContainText('cycles per sample');
  const peak = page.getByTestId('spectrum-peak');
  await expect(peak).toHaveAttribute('data-frequency', /\d/);
  const perSample = Number(await peak.getAttribute('data-frequency'));
  await page.getByTestId('spectrum-rate').fill('25600');
  await page.getByTestId('spectrum-rate').press('Enter');
  await expect(page.getByTestId('spectrum')).toContainText('rate 25.6 kHz');
  // The same peak, in Hz.
  await expect.poll(async () => Number(await peak.getAttribute('data-frequency'))).toBeCloseTo(perSample * 25600, 6);
});

test('a clock set from the page makes a plain array read in time and its spectrum in Hz', async ({ page }) => {
  const data = process.env.DOWNLINK_E2E_DATA!;
  python(`
import numpy as np, os
os.makedirs("${data}/clocked", exist_ok=True)
x = np.sin(2 * np.pi * 1000.0 * np.arange(256_000) / 25600.0).astype(np.float32)
np.save("${data}/clocked/.accel.npy", x)
os.replace("${data}/clocked/.accel.npy", "${data}/clocked/accel.npy")
`);
  const chart = new ChartPage(page);
  await chart.goto('/view/clocked/accel');
  await expect(chart.xTicks.locator('li').first()).toHaveText('0');
  await page.getByTestId('clock-toggle').click();
  await page.getByTestId('clock-start').fill('2026-03-14T09:00:00Z');
  await page.getByTestId('clock-rate').fill('25600');
  await page.getByTestId('clock-save').click();
  // The page loads again: the axis is in time (10 s of samples), the spectrum in Hz.
  await expect(chart.xTicks.locator('li').first()).toHaveText(/09:00:0\d/);
  await chart.goto('/view/clocked/accel');
  await expect(chart.xTicks).toContainText('09:00:0');
  await page.getByTestId('spectrum-toggle').click();
  await expect(page.getByTestId('spectrum')).toContainText('rate 25.6 kHz');
  const f = Number(await page.getByTestId('spectrum-peak').getAttribute('data-frequency'));
  expect(Math.abs(f - 1000)).toBeLessThanOrEqual(25600 / 4096);
  // The readout gives each sample's time.
  const box = (await chart.host.boundingBox())!;
  await page.mouse.move(box.x + 400, box.y + 60);
  await page.mouse.move(box.x + 401, box.y + 60);
  await expect(page.getByTestId('readout-at')).toContainText(/2026-03-14T09:00:0\d\.\d{9}Z · sample \d+/);
  // Removed again from the page.
  await page.getByTestId('clock-toggle').click();
  await page.getByTestId('clock-clear').click();
  await expect(chart.xTicks.locator('li').first()).toHaveText('0');
});

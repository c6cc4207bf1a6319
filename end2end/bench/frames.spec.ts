import { test } from '@playwright/test';

// Frame time of a redraw on zoom and pan with 4 stacked series at 2,000 px, and the time from
// a wheel event to the refined data on the screen, from the app's own performance marks.
// Prints a table; asserts nothing (a benchmark, not a test).
test('frame and refine times', async ({ page }) => {
  await page.setViewportSize({ width: 2200, height: 1200 });
  await page.goto('/view/demo/pass?hide=attitude.0,attitude.1,attitude.2,attitude.3,temp_battery,temp_panel_mx');
  await page.addStyleTag({ content: 'main { max-width: none !important; }' });
  await page.evaluate(() => window.dispatchEvent(new Event('resize')));
  await page.locator('body[data-hydrated="true"]').waitFor();
  await page.locator('[data-testid="chart-svg"].hidden').waitFor({ state: 'attached' });
  const host = page.getByTestId('chart');
  const box = (await host.boundingBox())!;
  const width = await page.getByTestId('chart-canvas').evaluate((c: HTMLCanvasElement) => c.clientWidth);
  const y = box.y + 100;
  // Warm-up, not measured: the first zooms fetch the overview and let V8 tier the wasm up.
  for (let i = 0; i < 6; i++) {
    await page.mouse.move(box.x + box.width * 0.5, y);
    await page.mouse.wheel(0, i % 2 ? 240 : -300);
    await page.waitForTimeout(150);
  }
  await page.evaluate(() => performance.clearMeasures());
  for (let i = 0; i < 20; i++) {
    await page.mouse.move(box.x + box.width * (0.3 + 0.02 * i), y);
    await page.mouse.wheel(0, i % 2 ? 240 : -300);
    await page.waitForTimeout(150);
  }
  await page.mouse.move(box.x + box.width / 2, y);
  await page.mouse.down();
  for (let i = 0; i < 30; i++) await page.mouse.move(box.x + box.width / 2 - i * 12, y);
  await page.mouse.up();
  await page.waitForTimeout(300);
  const stats = await page.evaluate(() => {
    const pick = (name: string) =>
      performance.getEntriesByName(name).map((e) => e.duration).sort((a, b) => a - b);
    const summary = (v: number[]) => ({
      n: v.length,
      p50: v[Math.floor((v.length - 1) / 2)] ?? NaN,
      p95: v[Math.floor((v.length - 1) * 0.95)] ?? NaN,
      max: v[v.length - 1] ?? NaN,
    });
    return { draw: summary(pick('dl-draw')), refine: summary(pick('dl-wheel-to-refined')) };
  });
  const row = (name: string, s: { n: number; p50: number; p95: number; max: number }) =>
    `| ${name} | ${s.n} | ${s.p50.toFixed(1)} | ${s.p95.toFixed(1)} | ${s.max.toFixed(1)} |`;
  console.log(
    [
      '',
      `Browser (Chromium, canvas ${width} px wide, 4 stacked series of demo/pass)`,
      '',
      '| measure | n | p50 ms | p95 ms | max ms |',
      '|---|---:|---:|---:|---:|',
      row('redraw on zoom/pan', stats.draw),
      row('wheel event → refined data drawn', stats.refine),
    ].join('\n'),
  );
});

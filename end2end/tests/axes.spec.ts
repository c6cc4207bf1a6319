import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { ChartPage } from './pages';

const python = (code: string) => execFileSync('python3', ['-c', code]).toString().trim();

/** The y tick labels of panel `i` as the page lists them. */
const yTicks = (page: Page, i = 0) =>
  page.locator(`[data-testid="panel-y"][data-panel="${i}"] [data-testid="y-ticks"] li`);

async function setRange(page: Page, lo: string, hi: string) {
  const panel = page.locator('[data-testid="panel-y"][data-panel="0"]');
  await panel.getByTestId('y-max').fill(hi);
  await panel.getByTestId('y-max').press('Enter');
  await panel.getByTestId('y-min').fill(lo);
  await panel.getByTestId('y-min').press('Enter');
}

test('a manual and a log y range, and Alt+wheel zooms y', async ({ page }) => {
  const data = process.env.DOWNLINK_E2E_DATA!;
  // Six decades, 1e-3 to 1e3.
  python(`
import numpy as np, os
os.makedirs("${data}/axes", exist_ok=True)
np.save("${data}/axes/.decades.npy", np.logspace(-3, 3, 100_000))
os.replace("${data}/axes/.decades.npy", "${data}/axes/decades.npy")
`);
  const chart = new ChartPage(page);
  await chart.goto('/view/axes/decades');
  const panel = page.locator('[data-testid="panel-y"][data-panel="0"]');
  await expect(panel).toHaveAttribute('data-manual', 'false');

  // A manual linear range: its ticks run from its bottom to its top.
  await setRange(page, '-10', '1010');
  await expect(panel).toHaveAttribute('data-manual', 'true');
  await expect(yTicks(page).first()).toHaveText('0');
  await expect(yTicks(page).last()).toHaveText('1000');

  // Log: the manual range is not positive, so it autoscales over the six decades.
  await panel.getByTestId('y-log').click();
  await expect(panel.getByTestId('y-log')).toHaveAttribute('aria-pressed', 'true');
  await expect(yTicks(page)).toHaveText(['0.001', '0.01', '0.1', '1', '10', '100', '1000']);
  // A manual log range of two decades.
  await setRange(page, '1', '100');
  await expect(yTicks(page)).toHaveText(['1', '10', '100']);
  await expect(panel.getByTestId('y-min')).toHaveValue('1');

  // Autoscale again, then Alt+wheel over the panel zooms y about the pointer.
  await panel.getByTestId('y-auto').click();
  await expect(panel).toHaveAttribute('data-manual', 'false');
  await expect(yTicks(page)).toHaveCount(7);
  const bounds = async () =>
    [Number(await panel.getByTestId('y-min').inputValue()), Number(await panel.getByTestId('y-max').inputValue())];
  const [lo, hi] = await bounds();
  const box = (await chart.host.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + 80);
  await page.keyboard.down('Alt');
  for (let i = 0; i < 3; i++) await page.mouse.wheel(0, -120);
  await page.keyboard.up('Alt');
  await expect(panel).toHaveAttribute('data-manual', 'true');
  // Zoomed in by decades on both sides of the pointer.
  const [lo2, hi2] = await bounds();
  expect(lo2).toBeGreaterThan(lo * 10);
  expect(hi2).toBeLessThan(hi / 10);
  // The x window did not move.
  expect(await chart.window()).toEqual([0, 100_000]);

  // The address keeps the y scale, so a reload (or a shared link) shows it again.
  await expect(page).toHaveURL(/[?&]y=[^&]+:log:[-\d.e]+:[-\d.e]+/);
  await chart.goto(page.url().replace(/^https?:\/\/[^/]+/, ''));
  await expect(panel.getByTestId('y-log')).toHaveAttribute('aria-pressed', 'true');
  await expect(panel).toHaveAttribute('data-manual', 'true');
  const [lo3, hi3] = await bounds();
  expect(Math.abs(lo3 / lo2 - 1)).toBeLessThan(1e-4);
  expect(Math.abs(hi3 / hi2 - 1)).toBeLessThan(1e-4);
});

test('two cursors read Δt and Δy exactly, and a cursor drags', async ({ page }) => {
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/pass/bus_voltage');
  const box = (await chart.host.boundingBox())!;
  const y = box.y + 90;
  await page.mouse.click(box.x + 300, y);
  await expect(page.getByTestId('cursors')).toContainText('click again to place B');
  await page.mouse.click(box.x + 700, y);
  const delta = page.getByTestId('cursor-delta').first();
  await expect(delta).toHaveAttribute('data-dy', /\d/);
  const data = process.env.DOWNLINK_E2E_DATA!;
  const check = async () => {
    const a = Number(await delta.getAttribute('data-index-a'));
    const b = Number(await delta.getAttribute('data-index-b'));
    expect(b).toBeGreaterThan(a);
    const [dy, dt] = python(`
import numpy as np
z = np.load("${data}/demo/pass.npz")
x, t = z["bus_voltage"], z["t"].astype(np.int64)
print(float(x[${b}]) - float(x[${a}]))
print(int(t[${b}] - t[${a}]))
`).split('\n');
    expect(Math.abs(Number(await delta.getAttribute('data-dy')) - Number(dy))).toBeLessThan(1e-5);
    const span = page.getByTestId('cursor-span');
    expect(await span.getAttribute('data-dt-ns')).toBe(dt);
    await expect(span).toContainText('1/Δt');
    return a;
  };
  const before = await check();
  const window = await chart.window();

  // Drag A's line 100 px to the right: A moves, B stays.
  const lineA = page.locator('[data-testid="cursor-line"][data-name="A"]');
  const ax = (await lineA.boundingBox())!.x;
  await page.mouse.move(ax, y);
  await page.mouse.down();
  await page.mouse.move(ax + 50, y);
  await page.mouse.move(ax + 100, y);
  await page.mouse.up();
  await expect.poll(async () => Number(await delta.getAttribute('data-index-a'))).toBeGreaterThan(before);
  await check();
  // The window did not pan.
  expect(await chart.window()).toEqual(window);

  // Escape clears them.
  await chart.host.focus();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('cursors')).toHaveCount(0);
});

test('Ctrl+wheel (a pinch) zooms from 50M samples to a few in 16 notches', async ({ page }) => {
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/vibration');
  const box = (await chart.host.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + 80);
  await page.keyboard.down('Control');
  for (let i = 0; i < 16; i++) await page.mouse.wheel(0, -100);
  await page.keyboard.up('Control');
  await expect.poll(async () => {
    const [a, b] = await chart.window();
    return b - a;
  }).toBeLessThanOrEqual(16);
});

test('the crosshair snaps to the nearest sample and marks it on each series', async ({ page }) => {
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/pass');
  const box = (await chart.host.boundingBox())!;
  await page.mouse.move(box.x + 401, box.y + 60);
  await page.mouse.move(box.x + 400, box.y + 60);
  const values = page.getByTestId('readout-value');
  await expect(values.first()).toHaveAttribute('data-index', /\d+/);
  const count = await values.count();
  await expect(page.getByTestId('snap-dot')).toHaveCount(count);
  // The crosshair stands on the first series' sample, where its dot is.
  const dotX = await page.getByTestId('snap-dot').first().evaluate((d) => d.getBoundingClientRect().left + 5);
  const lineX = await page.locator('.crosshair').evaluate((d) => d.getBoundingClientRect().left);
  expect(Math.abs(dotX - lineX)).toBeLessThanOrEqual(1.5);
});

test('panel heights follow the density menu and the drag handle, and are kept', async ({ page }) => {
  // Tall enough for 13 tall panels, so the drag stays on the page.
  await page.setViewportSize({ width: 1280, height: 4200 });
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/pass');
  const height = () => chart.host.evaluate((h) => h.getBoundingClientRect().height);
  const panels = await page.locator('[data-testid="panel-y"]').count();
  expect(panels).toBeGreaterThan(4);
  // Five or more panels get 124 px each by default, plus 44 px of x axis.
  expect(await height()).toBe(panels * 124 + 44);
  await page.getByTestId('density').selectOption('tall');
  await expect.poll(height).toBe(panels * 280 + 44);
  await page.getByTestId('density').selectOption('compact');
  await expect.poll(height).toBe(panels * 80 + 44);
  // The canvas is redrawn at the new height.
  await expect.poll(() => page.getByTestId('chart-canvas').evaluate((c) => c.getBoundingClientRect().height)).toBe(panels * 80 + 44);

  // Dragging the handle 10 px a panel down makes each panel 10 px taller.
  const handle = page.getByTestId('chart-resize');
  await handle.scrollIntoViewIfNeeded();
  const box = (await handle.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + 4);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2, box.y + 4 + panels * 5);
  await page.mouse.move(box.x + box.width / 2, box.y + 4 + panels * 10);
  await page.mouse.up();
  await expect.poll(height).toBe(panels * 90 + 44);
  await expect(page.getByTestId('density')).toHaveValue('custom');

  // The choice is kept for the next visit.
  await chart.goto('/view/demo/pass');
  await expect.poll(height).toBe(panels * 90 + 44);
  await page.getByTestId('density').selectOption('auto');
  await expect.poll(height).toBe(panels * 124 + 44);
});

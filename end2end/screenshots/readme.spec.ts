import { expect, test } from '@playwright/test';
import * as path from 'node:path';
import { ChartPage } from '../tests/pages';

const out = (name: string) => path.resolve(__dirname, '../../public/docs', name);

test('a group view with cursors, statistics and a spectrum', async ({ page }) => {
  await page.setViewportSize({ width: 1600, height: 1000 });
  const chart = new ChartPage(page);
  // The first pass of the demo telemetry, its 50 Hz channels and the 1 Hz housekeeping.
  await chart.goto('/view/demo/pass?t0=1773480413000000000&t1=1773480713000000000&hide=temp_obc,temp_panel_px,temp_panel_mx,hk_eclipse,attitude.1,attitude.2,attitude.3');
  await page.getByTestId('density').selectOption('compact');
  await expect(chart.host).toHaveAttribute('data-settled', 'true');
  const box = (await chart.host.boundingBox())!;
  await page.mouse.click(box.x + box.width * 0.3, box.y + 60);
  await page.mouse.click(box.x + box.width * 0.62, box.y + 60);
  await expect(page.getByTestId('cursor-delta').first()).toHaveAttribute('data-dy', /\d/);
  await page.getByTestId('spectrum-series').selectOption({ label: 'rssi' });
  await page.getByTestId('spectrum-nperseg').selectOption('1024');
  await page.getByTestId('spectrum-toggle').click();
  await expect(page.getByTestId('spectrum-peak')).toHaveAttribute('data-frequency', /\d/);
  await expect(page.getByTestId('stats')).toHaveAttribute('data-settled', 'true');
  await page.mouse.move(box.x + box.width * 0.5, box.y + 140);
  await expect(page.getByTestId('snap-dot').first()).toBeVisible();
  await page.waitForTimeout(300);
  await page.locator('.explorer').screenshot({ path: out('group-view.png') });
});

test('the spectrum of the vibration series', async ({ page }) => {
  await page.setViewportSize({ width: 1600, height: 1000 });
  const chart = new ChartPage(page);
  await chart.goto('/view/demo/vibration?start=0&stop=2560000');
  await page.getByTestId('spectrum-toggle').click();
  await expect(page.getByTestId('spectrum')).toContainText('rate 25.6 kHz');
  await expect(page.getByTestId('spectrum-peak')).toHaveAttribute('data-frequency', /\d/);
  await page.locator('.explorer').screenshot({ path: out('vibration-spectrum.png') });
});

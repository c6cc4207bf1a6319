import { expect, test } from '@playwright/test';
import { IndexPage, waitForHydration } from './pages';

test.describe('index without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the server renders every array with its metadata', async ({ page }) => {
    const index = new IndexPage(page);
    await index.goto();
    await expect(index.link('demo/vibration')).toBeVisible();
    await expect(index.link('demo/pass/t')).toBeVisible();
    await expect(index.link('fixtures/ramp')).toBeVisible();
    const row = index.rows.filter({ has: index.link('demo/vibration') });
    await expect(row).toContainText('<f4');
    await expect(row).toContainText('(50000000,)');
    await expect(row).toContainText('200.0 MB');
    // Files Downlink must skip are not listed.
    await expect(page.getByText('garbage')).toHaveCount(0);
    await expect(page.getByText('.hidden')).toHaveCount(0);
  });
});

test('the filter narrows the list once hydrated', async ({ page }) => {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  const index = new IndexPage(page);
  await index.goto();
  await waitForHydration(page);
  const total = await index.rows.count();
  expect(total).toBeGreaterThan(10);
  await index.filter.fill('pass temp');
  await expect(index.rows).toHaveCount(4);
  await expect(index.count).toHaveText(`4 of ${total} arrays`);
  await index.filter.fill('>i2');
  await expect(index.rows).toHaveCount(1);
  await expect(index.link('fixtures/big_endian')).toBeVisible();
  await index.filter.fill('');
  await expect(index.rows).toHaveCount(total);
  expect(errors).toEqual([]);
});

test('a link leads to the array page after hydration', async ({ page }) => {
  const index = new IndexPage(page);
  await index.goto();
  await waitForHydration(page);
  await index.link('fixtures/matrix_f').click();
  await expect(page).toHaveURL(/\/view\/fixtures\/matrix_f$/);
  await expect(page.getByTestId('shape')).toHaveText('(3, 4)');
});

import { expect, test } from '@playwright/test';
import { ArrayPage, waitForHydration } from './pages';

test('an array page shows the right metadata and first values', async ({ page }) => {
  const view = new ArrayPage(page);
  await view.goto('fixtures/cube');
  await waitForHydration(page);
  await expect(view.name).toHaveText('fixtures/cube');
  await expect(view.dtype).toHaveText('>f8');
  await expect(view.shape).toHaveText('(4, 3, 2)');
  await expect(view.count).toHaveText('24');
  await expect(view.preview).toHaveCount(24);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a Fortran-order array previews in C order', async ({ page }) => {
    const view = new ArrayPage(page);
    await view.goto('fixtures/matrix_f');
    await expect(view.dtype).toHaveText('<f4');
    await expect(view.preview.first()).toHaveText('0.0');
    await expect(view.preview.nth(1)).toHaveText('1.0');
    await expect(view.preview).toHaveCount(12);
  });

  test('the demo telemetry timestamps read as datetimes', async ({ page }) => {
    const view = new ArrayPage(page);
    await view.goto('demo/pass/t');
    await expect(view.dtype).toHaveText('<M8[ns]');
    await expect(view.preview.first()).toHaveText('2026-03-14T09:26:53.000000000');
  });

  test('a missing array is a 404 page', async ({ page }) => {
    const response = await page.goto('/view/fixtures/nope');
    expect(response?.status()).toBe(404);
    await expect(page.getByRole('alert')).toContainText("no array named 'fixtures/nope'");
  });
});

import { expect, type Locator, type Page } from '@playwright/test';

/** Wait until the wasm bundle has hydrated every island on the page (then <body data-hydrated>). */
export async function waitForHydration(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

/** The index page: the list of arrays and its filter. */
export class IndexPage {
  readonly rows: Locator;
  readonly filter: Locator;
  readonly count: Locator;

  constructor(readonly page: Page) {
    this.rows = page.getByTestId('array-row');
    this.filter = page.getByRole('searchbox', { name: 'Filter arrays' });
    this.count = page.getByTestId('count');
  }

  async goto() {
    await this.page.goto('/');
  }

  link(name: string): Locator {
    return this.page.locator(`a[href="/view/${name}"]`);
  }
}

/** An array's page. */
export class ArrayPage {
  readonly name: Locator;
  readonly dtype: Locator;
  readonly shape: Locator;
  readonly count: Locator;
  readonly preview: Locator;

  constructor(readonly page: Page) {
    this.name = page.getByTestId('array-name');
    this.dtype = page.getByTestId('dtype');
    this.shape = page.getByTestId('shape');
    this.count = page.getByTestId('count');
    this.preview = page.getByTestId('preview').locator('li');
  }

  async goto(name: string) {
    await this.page.goto(`/view/${name}`);
  }
}

/** The chart page's parts. */
export class ChartPage {
  readonly host: Locator;
  readonly svg: Locator;
  readonly windowText: Locator;
  readonly xTicks: Locator;

  constructor(readonly page: Page) {
    this.host = page.getByTestId('chart');
    this.svg = page.getByTestId('chart-svg');
    this.windowText = page.getByTestId('window');
    this.xTicks = page.getByTestId('x-ticks');
  }

  async goto(path: string) {
    await this.page.goto(path);
    await waitForHydration(this.page);
    // The canvas replaces the server's SVG once it has drawn real data.
    await expect(this.svg).toHaveClass(/hidden/);
  }

  /** The visible window [start, stop) of samples as the toolbar states it, once the view's
   * bins have arrived (on a time axis the server says which samples a window holds). */
  async window(): Promise<[number, number]> {
    await expect(this.host).toHaveAttribute('data-settled', 'true');
    const text = (await this.windowText.textContent()) ?? '';
    const [a, b] = text.replace('samples', '').split('–').map((s) => Number(s.trim()));
    return [a, b];
  }

  async center(): Promise<{ x: number; y: number }> {
    const box = (await this.host.boundingBox())!;
    return { x: box.x + box.width / 2, y: box.y + 60 };
  }
}

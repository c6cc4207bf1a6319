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

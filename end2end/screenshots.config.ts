import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// The README's screenshots (`npx playwright test --config screenshots.config.ts`): same server
// and browser as the tests; the pictures are written to public/docs/.
export default defineConfig({ ...base, testDir: './screenshots', retries: 0, timeout: 120_000 });

import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// The browser benchmark (`./dev bench`): same server and browser as the tests, its own folder.
export default defineConfig({ ...base, testDir: './bench', retries: 0, timeout: 120_000 });

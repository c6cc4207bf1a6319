import { defineConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// The release server, started on its own port with a fresh data directory: on first start it
// writes the demo data set, and the global setup adds NumPy-written fixtures beside it.
const port = Number(process.env.DOWNLINK_E2E_PORT ?? 3917);
const baseURL = `http://127.0.0.1:${port}`;
// A directory made here (with its 200 MB demo series) is removed by the global teardown.
if (!process.env.DOWNLINK_E2E_DATA) {
  process.env.DOWNLINK_E2E_DATA = fs.mkdtempSync(path.join(os.tmpdir(), 'downlink-e2e-'));
  process.env.DOWNLINK_E2E_DATA_MADE = '1';
}
const dataDir = process.env.DOWNLINK_E2E_DATA;
const repo = path.resolve(__dirname, '..');

export default defineConfig({
  testDir: './tests',
  globalSetup: './global-setup.ts',
  globalTeardown: './global-teardown.ts',
  fullyParallel: false,
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    command: `${path.join(repo, 'target/release/downlink')} --data ${dataDir} --addr 127.0.0.1:${port}`,
    url: `${baseURL}/api/arrays`,
    cwd: repo,
    env: { LEPTOS_SITE_ROOT: path.join(repo, 'target/site'), RUST_LOG: 'warn' },
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});

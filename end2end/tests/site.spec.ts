import { expect, test } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitForHydration } from './pages';

const pkg = path.resolve(__dirname, '../../target/site/pkg');

test('the browser gets the hashed wasm brotli-compressed and immutable, and the page hydrates from it', async ({ page, request }) => {
  const hashes = fs.readFileSync(path.resolve(__dirname, '../../target/release/hash.txt'), 'utf8');
  const wasmName = `downlink.${/wasm: (\S+)/.exec(hashes)![1]}.wasm`;
  const identity = fs.statSync(path.join(pkg, wasmName)).size;
  // The server precompresses its site in the background after it starts.
  await expect
    .poll(async () => (await request.get(`/pkg/${wasmName}`, { headers: { 'Accept-Encoding': 'br' } })).headers()['content-encoding'], {
      timeout: 60_000,
    })
    .toBe('br');
  const wasm = page.waitForResponse((r) => r.url().endsWith(`/pkg/${wasmName}`));
  await page.goto('/');
  const response = await wasm;
  const sent = (await response.request().allHeaders())['accept-encoding'];
  expect(sent, 'Chromium offers brotli').toContain('br');
  const headers = await response.allHeaders();
  expect(headers['content-encoding']).toBe('br');
  expect(headers['cache-control']).toBe('public, max-age=31536000, immutable');
  const transferred = Number(headers['content-length']);
  expect(transferred).toBeLessThan(identity * 0.5);
  await waitForHydration(page);
});

import { expect, test } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';

// The documented JavaScript decoder, run in the browser against a live bundle.
const decoder = fs.readFileSync(path.resolve(__dirname, '../../clients/bundle.js'), 'utf8');

test('the JavaScript bundle decoder views arrays in place', async ({ page }) => {
  await page.goto('/');
  const result = await page.evaluate(async (source) => {
    const module = await import(`data:text/javascript,${encodeURIComponent(source)}`);
    const names = ['fixtures/ramp', 'fixtures/big_endian', 'demo/pass/bus_voltage'];
    const query = names.map((n) => `name=${encodeURIComponent(n)}`).join('&');
    const response = await fetch(`/api/bundle?${query}&dtype=%3Cf4&slice=0:5`);
    const arrays = module.decodeBundle(await response.arrayBuffer());
    return names.map((n) => ({
      name: n,
      kind: arrays[n].data.constructor.name,
      aligned: arrays[n].data.byteOffset % 64,
      values: Array.from(arrays[n].data as Float32Array),
    }));
  }, decoder);
  expect(result[0]).toEqual({ name: 'fixtures/ramp', kind: 'Float32Array', aligned: 0, values: [0, 1, 2, 3, 4] });
  expect(result[1].values).toEqual([-50, -49, -48, -47, -46]);
  expect(result[2].values.length).toBe(5);
  expect(result[2].values.every((v: number) => v > 26 && v < 29)).toBe(true);
});

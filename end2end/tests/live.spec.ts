import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChartPage, IndexPage, waitForHydration } from './pages';

const python = (code: string) => execFileSync('python3', ['-c', code]).toString().trim();

/** NumPy POSTs the float64 rows start, start + 1, … (n of them) to the array `name`. */
function append(baseURL: string, name: string, start: number, n: number): string {
  return python(`
import io, urllib.request, numpy as np
buf = io.BytesIO(); np.save(buf, np.arange(${start}, ${start + n}, dtype="<f8"))
req = urllib.request.Request("${baseURL}/api/arrays/${name}", data=buf.getvalue(), method="POST",
                             headers={"Content-Type": "application/x-npy"})
print(urllib.request.urlopen(req).status)`);
}

/** An .npy written by NumPy into a temporary file. */
function npyFile(name: string, expression: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dl-upload-')), name);
  python(`import numpy as np; np.save("${file}", ${expression})`);
  return file;
}

test('a dropped file uploads with a progress bar and appears in the index', async ({ page }) => {
  const index = new IndexPage(page);
  await index.goto();
  await waitForHydration(page);
  const file = npyFile('dropped wave.npy', 'np.sin(np.arange(200000, dtype="<f4") / 100)');
  const buffer = fs.readFileSync(file).toString('base64');
  // A real drop: a DataTransfer holding the file, dispatched on the drop zone.
  const transfer = await page.evaluateHandle((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'dropped wave.npy', { type: 'application/octet-stream' }));
    return dt;
  }, buffer);
  await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer: transfer });
  const row = page.getByTestId('upload').first();
  await expect(row.getByTestId('upload-progress')).toBeVisible();
  await expect(row.getByTestId('upload-status')).toHaveText('uploaded');
  await expect(row.getByTestId('upload-progress')).toHaveJSProperty('value', 1);
  await expect(index.link('uploads/dropped_wave')).toBeVisible();
});

test('the file picker uploads an .npz as a folder, and bad files show an error', async ({ page }) => {
  const index = new IndexPage(page);
  await index.goto();
  await waitForHydration(page);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-npz-'));
  const npz = path.join(dir, 'run7.npz');
  python(`import numpy as np; np.savez("${npz}", a=np.arange(5, dtype="<i4"), b=np.eye(2))`);
  const bad = path.join(dir, 'bad.npy');
  fs.writeFileSync(bad, 'not an npy file');
  await page.getByTestId('file-input').setInputFiles([npz, bad]);
  await expect(page.getByTestId('upload-status').filter({ hasText: 'not a valid .npy upload' })).toBeVisible();
  await expect(index.link('uploads/run7/a')).toBeVisible();
  await expect(index.link('uploads/run7/b')).toBeVisible();
  // A failure looks like one: marked failed, announced, its reason in the danger colour;
  // the good upload beside it looks done.
  const failed = page.getByTestId('upload').filter({ hasText: 'not a valid .npy upload' });
  await expect(failed).toHaveAttribute('data-state', 'failed');
  await expect(failed).toHaveClass(/\bfailed\b/);
  await expect(failed.getByRole('alert')).toContainText('not a valid .npy upload');
  const danger = await page.evaluate(() =>
    getComputedStyle(document.documentElement).getPropertyValue('--danger').trim());
  const red = await failed.getByTestId('upload-status').evaluate((el) => getComputedStyle(el).color);
  expect(red).toBe(await page.evaluate((c) => {
    const probe = document.createElement('span');
    probe.style.color = c;
    document.body.appendChild(probe);
    const rgb = getComputedStyle(probe).color;
    probe.remove();
    return rgb;
  }, danger));
  const done = page.getByTestId('upload').filter({ hasText: 'uploads/run7/' });
  await expect(done).toHaveAttribute('data-state', 'uploaded');
  expect(await done.getByTestId('upload-status').evaluate((el) => getComputedStyle(el).color)).not.toBe(red);
});

/** The server's anonymous resident memory in MB, read from outside (/proc/PID/status). */
function serverRssAnonMB(): number {
  const port = process.env.DOWNLINK_E2E_PORT ?? '3917';
  // The downlink process itself, not a shell that started it.
  const pid = execFileSync('pgrep', ['-f', '--', `addr 127.0.0.1:${port}`])
    .toString()
    .trim()
    .split('\n')
    .find((p) => path.basename(fs.readlinkSync(`/proc/${p}/exe`)) === 'downlink');
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('RssAnon:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

test('a compressed .npz uploads from the page, is charted, and never sits in server memory', async ({ page }) => {
  const index = new IndexPage(page);
  await index.goto();
  await waitForHydration(page);
  // 64 MB of float32 once inflated, about 1 MB as np.savez_compressed writes it.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-npzc-'));
  const npz = path.join(dir, 'squeezed.npz');
  python(`import numpy as np
x = np.tile(np.sin(np.arange(4096, dtype="<f4") / 50), 4096)
np.savez_compressed("${npz}", x=x, t=np.arange(3, dtype="<i8"))`);
  expect(fs.statSync(npz).size).toBeLessThan(4 << 20);
  const before = serverRssAnonMB();
  await page.getByTestId('file-input').setInputFiles([npz]);
  const row = page.getByTestId('upload').first();
  await expect(row.getByTestId('upload-status')).toHaveText('uploaded');
  await expect(row).toContainText('uploads/squeezed/ (2 arrays)');
  await expect(index.link('uploads/squeezed/x')).toBeVisible();
  await page.goto('/view/uploads/squeezed/x');
  await waitForHydration(page);
  await expect(page.getByTestId('chart')).toHaveAttribute('data-settled', 'true');
  const grown = serverRssAnonMB() - before;
  expect(grown, `the server grew by ${grown.toFixed(1)} MB`).toBeLessThan(32);
  // NumPy reads the stored member back exactly.
  const data = process.env.DOWNLINK_E2E_DATA!;
  expect(python(`import numpy as np
x = np.load("${data}/uploads/squeezed/x.npy")
print(x.dtype.str, x.shape[0], bool((x == np.tile(np.sin(np.arange(4096, dtype="<f4") / 50), 4096)).all()))`)).toBe('<f4 16777216 True');
});

test('"save window" stores the visible window with its timestamps, and NumPy confirms them', async ({ page }) => {
  await page.goto('/view/demo/pass/rssi');
  await waitForHydration(page);
  await page.getByTestId('chart').focus();
  await page.keyboard.press('+');
  await expect(page.getByTestId('chart')).toHaveAttribute('data-settled', 'true');
  const text = (await page.getByTestId('window').textContent()) ?? '';
  const [lo, hi] = text.replace('samples', '').split('–').map((s) => Number(s.trim()));
  page.once('dialog', (dialog) => dialog.accept('saved/rssi_window'));
  await page.getByTestId('save-window').click();
  await expect(page.getByTestId('saved')).toContainText('saved/rssi_window');
  const data = process.env.DOWNLINK_E2E_DATA!;
  // A series with timestamps is saved as a group: the values and the times they were taken.
  const same = python(`
import numpy as np
rssi = np.load("${data}/saved/rssi_window/rssi.npy")
t = np.load("${data}/saved/rssi_window/t.npy")
full = np.load("${data}/demo/pass.npz")
print(rssi.dtype.str, rssi.shape[0], bool((rssi == full["rssi"][${lo}:${hi}]).all()), bool((t == full["t"][${lo}:${hi}]).all()))`);
  expect(same).toBe(`<f4 ${hi - lo} True True`);
  // Opened, the saved group charts in time again.
  await page.goto('/view/saved/rssi_window');
  await waitForHydration(page);
  await expect(page.getByTestId('x-ticks').locator('li').first()).toHaveAttribute('data-ns', /^\d+$/);
});

test('appends from a script show up on an open page, and follow keeps the newest in view', async ({ page, baseURL }) => {
  const post = (start: number, n: number) => append(baseURL!, 'live/feed', start, n);
  expect(['200', '201']).toContain(post(0, 5000));
  await page.goto('/view/live/feed');
  await waitForHydration(page);
  await expect(page.getByTestId('window')).toHaveText('samples 0 – 5000');
  await page.getByTestId('follow').click();
  post(5000, 3000);
  await expect(page.getByTestId('window')).toHaveText(/– 8000$/);
  post(8000, 2000);
  await expect(page.getByTestId('window')).toHaveText(/– 10000$/);

  // On the index, a new array appears without a reload.
  const index = new IndexPage(page);
  await index.goto();
  await waitForHydration(page);
  await expect(index.link('live/other')).toHaveCount(0);
  python(`
import io, urllib.request, numpy as np
buf = io.BytesIO(); np.save(buf, np.ones(3))
urllib.request.urlopen(urllib.request.Request("${baseURL}/api/arrays/live/other", data=buf.getvalue(), method="PUT", headers={"Content-Type": "application/x-npy"}))`);
  await expect(index.link('live/other')).toBeVisible();
});

test('a pan or a zoom turns follow off, visibly, and the next append leaves the view alone', async ({ page, baseURL }) => {
  const post = (start: number, n: number) => append(baseURL!, 'live/roam', start, n);
  post(0, 5000);
  const chart = new ChartPage(page);
  await chart.goto('/view/live/roam');
  const follow = page.getByTestId('follow');
  await follow.click();
  await expect(follow).toHaveAttribute('aria-pressed', 'true');
  post(5000, 1000);
  await expect(chart.windowText).toHaveText(/– 6000$/);
  // Zoom in with the wheel: follow lets go.
  const { x, y } = await chart.center();
  await page.mouse.move(x, y);
  await page.mouse.wheel(0, -300);
  await expect(follow).toHaveAttribute('aria-pressed', 'false');
  await expect(follow).not.toHaveClass(/\bon\b/);
  const zoomed = await chart.window();
  post(6000, 1000);
  const rows = async () =>
    (await page.request.head(`${baseURL}/api/arrays/live/roam?format=raw`)).headers()['x-array-shape'];
  await expect.poll(rows).toBe('7000');
  await page.waitForTimeout(500);
  expect(await chart.window()).toEqual(zoomed);
  // A click turns it on again and jumps to the newest; a drag pan turns it off.
  await follow.click();
  await expect(chart.windowText).toHaveText(/– 7000$/);
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + 200, y, { steps: 5 });
  await page.mouse.up();
  await expect(follow).toHaveAttribute('aria-pressed', 'false');
  const panned = await chart.window();
  expect(panned[1]).toBeLessThan(7000);
  post(7000, 1000);
  await expect.poll(rows).toBe('8000');
  await page.waitForTimeout(500);
  expect(await chart.window()).toEqual(panned);
});

test("a group view's Members table follows appends, new members and deletions", async ({ page, baseURL }) => {
  append(baseURL!, 'live/grp/a', 0, 300);
  append(baseURL!, 'live/grp/b', 0, 200);
  await page.goto('/view/live/grp');
  await waitForHydration(page);
  const row = (name: string) => page.locator(`[data-testid="member"][data-name="${name}"]`);
  await expect(row('live/grp/a').getByTestId('member-shape')).toHaveText(/\b300\b/);
  append(baseURL!, 'live/grp/a', 300, 700);
  await expect(row('live/grp/a').getByTestId('member-shape')).toHaveText(/\b1000\b/);
  append(baseURL!, 'live/grp/c', 0, 5);
  await expect(row('live/grp/c')).toBeVisible();
  python(`
import urllib.request
urllib.request.urlopen(urllib.request.Request("${baseURL}/api/arrays/live/grp/b", method="DELETE"))`);
  await expect(row('live/grp/b')).toHaveCount(0);
  await expect(page.getByTestId('member')).toHaveCount(2);
});

test('a page catches up on appends made before its live stream connected', async ({ page, baseURL }) => {
  const post = (start: number, n: number) => append(baseURL!, 'live/late', start, n);
  post(0, 5000);
  // Hold the page's connection to /api/events until after the next append.
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/api/events', async (route) => {
    await held;
    await route.continue();
  });
  await page.goto('/view/live/late');
  await waitForHydration(page);
  await page.getByTestId('follow').click();
  await expect(page.getByTestId('window')).toHaveText('samples 0 – 5000');
  post(5000, 1000);
  // The append is on the server, but the page, its stream held, has not heard of it.
  const rows = async () =>
    (await page.request.head(`${baseURL}/api/arrays/live/late?format=raw`)).headers()['x-array-shape'];
  await expect.poll(rows).toBe('6000');
  await expect(page.getByTestId('window')).toHaveText('samples 0 – 5000');
  release();
  await expect(page.getByTestId('window')).toHaveText('samples 1000 – 6000');
});

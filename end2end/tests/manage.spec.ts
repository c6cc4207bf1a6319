import { expect, test, type Dialog } from '@playwright/test';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IndexPage, waitForHydration } from './pages';

// Managing arrays from the index page: an upload asks before it replaces, Delete removes an
// array after a confirmation, and both use the server's write token, asked for once.

const python = (code: string) => execFileSync('python3', ['-c', code]).toString().trim();

/** NumPy PUTs `expression` to the array `name`. */
function put(baseURL: string, name: string, expression: string) {
  python(`
import io, urllib.request, numpy as np
buf = io.BytesIO(); np.save(buf, ${expression})
req = urllib.request.Request("${baseURL}/api/arrays/${name}", data=buf.getvalue(), method="PUT",
                             headers={"Content-Type": "application/x-npy"})
urllib.request.urlopen(req)`);
}

/** The array `name` as NumPy loads it from the server, printed as a list; or the HTTP status. */
function load(baseURL: string, name: string): string {
  return python(`
import io, urllib.request, urllib.error, numpy as np
try:
    body = urllib.request.urlopen("${baseURL}/api/arrays/${name}").read()
    print(np.load(io.BytesIO(body)).tolist())
except urllib.error.HTTPError as e:
    print(e.code)`);
}

/** An .npy written by NumPy into a temporary file. */
function npyFile(name: string, expression: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dl-manage-')), name);
  python(`import numpy as np; np.save("${file}", ${expression})`);
  return file;
}

test('an upload asks before it replaces a stored array, and keeps it when told no', async ({ page, baseURL }) => {
  put(baseURL!, 'uploads/replace_me', 'np.arange(3, dtype="<i4")');
  const index = new IndexPage(page);
  await index.goto();
  await waitForHydration(page);
  await expect(index.link('uploads/replace_me')).toBeVisible();
  const questions: string[] = [];
  let answer = false;
  page.on('dialog', (dialog: Dialog) => {
    questions.push(`${dialog.type()}: ${dialog.message()}`);
    void (answer ? dialog.accept() : dialog.dismiss());
  });
  const file = npyFile('replace me.npy', 'np.arange(7, dtype="<i4")');

  // No: nothing is sent, the stored array stays.
  await page.getByTestId('file-input').setInputFiles(file);
  await expect.poll(() => questions.length).toBe(1);
  expect(questions[0]).toBe('confirm: uploads/replace_me already exists. Replace it?');
  await expect(page.getByTestId('upload')).toHaveCount(0);
  expect(load(baseURL!, 'uploads/replace_me')).toBe('[0, 1, 2]');

  // Yes: it uploads and replaces.
  answer = true;
  await page.getByTestId('file-input').setInputFiles(file);
  await expect(page.getByTestId('upload').first().getByTestId('upload-status')).toHaveText('uploaded');
  expect(questions).toHaveLength(2);
  expect(load(baseURL!, 'uploads/replace_me')).toBe('[0, 1, 2, 3, 4, 5, 6]');

  // A new name uploads without a question.
  await page.getByTestId('file-input').setInputFiles(npyFile('brand new.npy', 'np.ones(2)'));
  await expect(index.link('uploads/brand_new')).toBeVisible();
  expect(questions).toHaveLength(2);

  // An .npz over an existing group asks about the group.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-manage-'));
  const npz = path.join(dir, 'grp.npz');
  python(`import numpy as np; np.savez("${npz}", a=np.arange(2))`);
  await page.getByTestId('file-input').setInputFiles(npz);
  await expect(index.link('uploads/grp/a')).toBeVisible();
  expect(questions).toHaveLength(2);
  answer = false;
  await page.getByTestId('file-input').setInputFiles(npz);
  await expect.poll(() => questions.length).toBe(3);
  expect(questions[2]).toBe('confirm: The group uploads/grp/ already exists. Replace all of its arrays?');
});

test('Delete removes an array after a confirmation, and a read-only one says why not', async ({ page, baseURL }) => {
  put(baseURL!, 'uploads/delete_me', 'np.arange(4.0)');
  const index = new IndexPage(page);
  await index.goto();
  await waitForHydration(page);
  const row = index.rows.filter({ has: index.link('uploads/delete_me') });
  await expect(row).toHaveCount(1);
  const questions: string[] = [];
  let answer = false;
  page.on('dialog', (dialog: Dialog) => {
    questions.push(dialog.message());
    void (answer ? dialog.accept() : dialog.dismiss());
  });

  await row.getByTestId('delete').click();
  await expect.poll(() => questions).toEqual(['Delete uploads/delete_me? This cannot be undone.']);
  await expect(row).toHaveCount(1);
  expect(load(baseURL!, 'uploads/delete_me')).toBe('[0.0, 1.0, 2.0, 3.0]');

  answer = true;
  await row.getByTestId('delete').click();
  await expect(row).toHaveCount(0);
  expect(load(baseURL!, 'uploads/delete_me')).toBe('404');
  await page.reload();
  await waitForHydration(page);
  await expect(index.link('demo/vibration')).toBeVisible();
  await expect(index.link('uploads/delete_me')).toHaveCount(0);

  // A member of a stored .npz is read-only: the server's reason is shown, and it stays.
  const member = index.rows.filter({ has: index.link('demo/pass/t') });
  await expect(member).toHaveCount(1);
  await member.getByTestId('delete').click();
  await expect(page.getByTestId('index-error')).toContainText('demo/pass/t was not deleted');
  await expect(member).toHaveCount(1);
});

test('with a write token configured, the page asks for it once and sends it', async ({ page }) => {
  // A second server with a token, on a small data directory of its own.
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-token-'));
  python(`import numpy as np; np.save("${data}/a.npy", np.arange(3)); np.save("${data}/b.npy", np.arange(2))`);
  const port = 3000 + Math.floor(Math.random() * 900) + 4000;
  const base = `http://127.0.0.1:${port}`;
  const repo = path.resolve(__dirname, '../..');
  const server = spawn(
    path.join(repo, 'target/release/downlink'),
    ['--data', data, '--addr', `127.0.0.1:${port}`, '--write-token', 's3cret'],
    { env: { ...process.env, LEPTOS_SITE_ROOT: path.join(repo, 'target/site'), RUST_LOG: 'warn' }, stdio: 'ignore' },
  );
  try {
    await expect
      .poll(async () => (await fetch(`${base}/api/arrays`).catch(() => null))?.status ?? 0, { timeout: 30_000 })
      .toBe(200);
    const index = new IndexPage(page);
    await page.goto(base);
    await waitForHydration(page);
    const prompts: string[] = [];
    const tokens = ['wrong', 's3cret'];
    page.on('dialog', (dialog: Dialog) => {
      if (dialog.type() === 'prompt') {
        prompts.push(dialog.message());
        void dialog.accept(tokens.shift());
      } else {
        void dialog.accept();
      }
    });

    // A wrong token: the server's 401 is shown and the token is forgotten.
    const rowA = index.rows.filter({ has: index.link('a') });
    await rowA.getByTestId('delete').click();
    await expect(page.getByTestId('index-error')).toContainText('a was not deleted');
    expect(prompts).toEqual(['This server needs its write token to change arrays. Token:']);
    expect(load(base, 'a')).toBe('[0, 1, 2]');

    // Asked again, the right one: the delete goes through.
    await rowA.getByTestId('delete').click();
    await expect(rowA).toHaveCount(0);
    expect(prompts).toHaveLength(2);
    expect(load(base, 'a')).toBe('404');

    // The tab keeps it: an upload and another delete ask nothing more.
    await page.getByTestId('file-input').setInputFiles(npyFile('c.npy', 'np.arange(5)'));
    await expect(index.link('uploads/c')).toBeVisible();
    await index.rows.filter({ has: index.link('b') }).getByTestId('delete').click();
    await expect(index.link('b')).toHaveCount(0);
    expect(prompts).toHaveLength(2);
    expect(load(base, 'uploads/c')).toBe('[0, 1, 2, 3, 4]');
    expect(load(base, 'b')).toBe('404');
  } finally {
    server.kill();
    fs.rmSync(data, { recursive: true, force: true });
  }
});

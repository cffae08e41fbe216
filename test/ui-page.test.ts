/**
 * The web page at /ui (README "The web page") in headless Chromium, against the real CLI process
 * (bin/unifile.js, the compiled build) and the bundled OpenAI and Vertex (GCS) emulators:
 * sign in, a 20 MB upload to two models with its progress bar, the copies upstream, download,
 * isolation between users, delete through the dialog, Load more, admin key creation, a hostile
 * file name kept as text, keyboard-only sign-in and a 360 px wide screen. Every page is watched
 * (test/support/browser.ts): no request outside the gateway's origin, no console error.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { stringify } from 'yaml';
import { startAllEmulators, type AllEmulators } from '../src/emulators/start-all.ts';
import { ARTIFACTS, launchChromium, openPage } from './support/browser.ts';
import { startCliGateway, type CliGateway } from './support/cli-gateway.ts';
import { createTestDatabase, type TestDatabase } from './support/test-database.ts';
import { waitFor } from './support/wait-for.ts';

const MASTER = 'sk-ui-master-key';
const BUCKET = 'ui-test-bucket';
const GPT = 'gpt-4o-mini';
const GEMINI = 'gemini-2.0-flash';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let emulators: AllEmulators;
let database: TestDatabase;
let gateway: CliGateway;
let browser: Browser;
const keys: Record<'alice' | 'bob' | 'carol', string> = { alice: '', bob: '', carol: '' };

async function admin<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(`${gateway.base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as T;
}

/** A managed upload straight to the gateway (for setting up many files quickly). */
async function apiUpload(key: string, name: string, data: Buffer, models: string[]): Promise<{ id: string }> {
  const form = new FormData();
  form.append('purpose', 'user_data');
  form.append('target_model_names', models.join(','));
  form.append('file', new Blob([data]), name);
  const response = await fetch(`${gateway.base}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as { id: string };
}

/** The files the OpenAI emulator holds (its own Files API). */
async function openaiFiles(): Promise<Array<{ id: string; filename: string; bytes: number }>> {
  const response = await fetch(`${emulators.urls.openai}/files?limit=10000`, { headers: { authorization: 'Bearer sk-emulator-openai' } });
  return ((await response.json()) as { data: Array<{ id: string; filename: string; bytes: number }> }).data;
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.goto(`${gateway.base}/ui`);
  await page.getByLabel('API key', { exact: true }).fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

const fileRows = (page: Page) => page.locator('#files-body tr');

before(async () => {
  browser = await launchChromium();
  assert.ok(existsSync('dist/ui/app.js'), "the page's script is built by `npm run build` (tsconfig.ui.json): dist/ui/app.js is missing");
  emulators = await startAllEmulators();
  database = await createTestDatabase();
  gateway = await startCliGateway(
    stringify({
      model_list: [
        { model_name: GPT, litellm_params: { model: 'openai/gpt-4o-mini', api_base: emulators.urls.openai, api_key: 'sk-emulator-openai' } },
        {
          model_name: GEMINI,
          litellm_params: {
            model: 'vertex_ai/gemini-2.0-flash',
            vertex_project: 'ui-project',
            vertex_location: 'us-central1',
            vertex_credentials: JSON.stringify(emulators.google.createServiceAccount({ projectId: 'ui-project' })),
            bucket_name: BUCKET,
            api_base: emulators.urls.google,
            gcs_api_base: emulators.urls.google,
          },
        },
      ],
      general_settings: { master_key: MASTER, ...(database.url ? { database_url: database.url } : {}) },
    }),
  );
  for (const name of ['alice', 'bob', 'carol'] as const) keys[name] = (await admin<{ key: string }>('/user/new', { user_id: name })).key;
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
  await emulators?.close();
  await database?.drop();
});

test('GET /ui: the page and its assets from the package under a strict CSP; /ui/session needs a key', async () => {
  const page = await fetch(`${gateway.base}/ui`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type')!, /^text\/html/);
  const csp = page.headers.get('content-security-policy')!;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /style-src 'self'(;|$)/);
  assert.match(csp, /connect-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  const html = await page.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or handler');
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'nothing from another origin');

  const script = await fetch(`${gateway.base}/ui/app.js`);
  assert.equal(script.status, 200);
  assert.match(script.headers.get('content-type')!, /^text\/javascript/);
  assert.equal((await fetch(`${gateway.base}/ui/ui.css`)).status, 200);
  assert.equal((await fetch(`${gateway.base}/ui/nope.js`)).status, 404);
  assert.equal((await fetch(`${gateway.base}/ui/..%2Fpackage.json`)).status, 404);

  assert.equal((await fetch(`${gateway.base}/ui/session`)).status, 401);
  const session = await fetch(`${gateway.base}/ui/session`, { headers: { authorization: `Bearer ${keys.alice}` } });
  assert.deepEqual(await session.json(), { user_id: 'alice', team_id: null, is_admin: false, master_key: false, models: [] });
  const master = await fetch(`${gateway.base}/ui/session`, { headers: { authorization: `Bearer ${MASTER}` } });
  assert.deepEqual(await master.json(), { user_id: 'default_user_id', team_id: null, is_admin: true, master_key: true, models: [] });
});

test('a missing Chromium fails the browser tests with how to install it (never a silent pass)', async () => {
  await assert.rejects(launchChromium('/nonexistent/chromium'), /Chromium at \/nonexistent\/chromium.*apt-get install -y chromium/s);
});

let bigId = '';
const bigData = randomBytes(20 * 1024 * 1024);
const bigPath = join(mkdtempSync(join(tmpdir(), 'unifile-ui-')), 'big-upload.bin');

test('sign in, upload 20 MB to two models with the progress bar, the copies upstream, download the same bytes', async () => {
  writeFileSync(bigPath, bigData);
  const watched = await openPage(browser, gateway.base);
  const { page } = watched;
  await page.goto(`${gateway.base}/ui`);
  await page.screenshot({ path: join(ARTIFACTS, 'sign-in.png') });
  await signIn(page, keys.alice);
  assert.equal(await page.getByText('Signed in as alice').count(), 1);
  // The key lives in sessionStorage only: no localStorage, no cookie.
  assert.equal(await page.evaluate('sessionStorage.getItem("unifile.apiKey")'), keys.alice);
  assert.equal(await page.evaluate('localStorage.length'), 0);
  assert.deepEqual(await watched.context.cookies(), []);
  assert.equal(await page.getByRole('heading', { name: 'Keys' }).count(), 0, 'no Keys section for a non-admin');
  // The file list loads after sign-in: wait for it (throws after the timeout when the text never shows).
  await page.getByText('No files yet.').waitFor({ state: 'visible' });

  await page.getByLabel('File', { exact: true }).setInputFiles(bigPath);
  await page.getByRole('combobox', { name: 'Purpose' }).selectOption('user_data');
  const targets = page.getByRole('group', { name: 'Target models' });
  assert.deepEqual(await targets.getByRole('checkbox').evaluateAll((boxes) => boxes.map((box) => (box as unknown as { value: string }).value)), [GPT, GEMINI]);
  await targets.getByRole('checkbox', { name: GPT }).check();
  await targets.getByRole('checkbox', { name: GEMINI }).check();
  // Record every value the progress bar takes while the upload runs.
  await page.evaluate(`(() => {
    const bar = document.getElementById('upload-progress');
    window.progressSeen = [];
    new MutationObserver(() => window.progressSeen.push([bar.value, bar.max, bar.checkVisibility()])).observe(bar, { attributes: true });
  })()`);
  // Uploads from the browser at 40 MiB/s (Chromium's own network throttling), so that the bar's
  // progress is seen on a fast machine as well (about half a second for the 20 MiB).
  const cdp = await watched.context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 40 * 1024 * 1024 });
  const started = Date.now();
  await page.getByRole('button', { name: 'Upload' }).click();
  const bar = page.getByRole('progressbar', { name: 'Upload progress' });
  await bar.waitFor({ state: 'visible' });
  const row = fileRows(page).filter({ hasText: 'big-upload.bin' });
  await row.waitFor();
  const uploadMs = Date.now() - started;
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  const seen = (await page.evaluate('window.progressSeen')) as Array<[number, number, boolean]>;
  const total = seen.at(-1)![1];
  assert.ok(total > bigData.length, 'the bar counts the bytes of the whole request body');
  assert.deepEqual(seen.at(-1), [total, total, true], 'the bar ends full');
  assert.ok(seen.some(([value, , visible]) => visible && value > 0 && value < total), `the bar showed bytes sent part-way: ${JSON.stringify(seen)}`);
  assert.match((await bar.getAttribute('aria-valuetext'))!, /^20\.0 MiB of 20\.0 MiB sent$/);
  assert.match((await page.getByRole('status').textContent())!, /Uploaded big-upload\.bin/);

  const cells = await row.getByRole('cell').allTextContents();
  assert.equal(cells[0], 'big-upload.bin');
  assert.equal(cells[1], '20.0 MiB');
  assert.equal(cells[2], `${GPT}, ${GEMINI}`);
  assert.equal(cells[4], 'never');
  bigId = cells[5]!;
  assert.match(bigId, /^file-/);
  await page.screenshot({ path: join(ARTIFACTS, 'files.png'), fullPage: true });

  // Both providers hold a copy of exactly these bytes.
  const copies = (await openaiFiles()).filter((file) => file.filename === 'big-upload.bin');
  assert.equal(copies.length, 1);
  assert.equal(copies[0]!.bytes, bigData.length);
  const upload = emulators.openai.calls.filter((call) => call.method === 'POST' && call.path === '/v1/files').at(-1)!;
  assert.equal(upload.form!.files[0]!.sha256, sha256(bigData));
  const objects = emulators.google.objects(BUCKET);
  assert.equal(objects.length, 1);
  assert.equal(objects[0]!.sha256, sha256(bigData));

  const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: 'Download' }).click()]);
  assert.equal(download.suggestedFilename(), 'big-upload.bin');
  assert.equal(sha256(readFileSync((await download.path())!)), sha256(bigData), 'the download has the uploaded bytes');
  await watched.close();
  console.log(`# 20 MiB upload through the page to two models: ${uploadMs} ms, ${seen.length} progress updates`);
});

test('another user sees nothing of it', async () => {
  const watched = await openPage(browser, gateway.base);
  await signIn(watched.page, keys.bob);
  await watched.page.getByText('No files yet.').waitFor();
  assert.equal(await fileRows(watched.page).count(), 0);
  assert.equal(await watched.page.getByText('big-upload.bin').count(), 0);
  await watched.close();
});

test('delete asks in a dialog (Cancel keeps the file), then removes every copy', async () => {
  const watched = await openPage(browser, gateway.base);
  const { page } = watched;
  await signIn(page, keys.alice);
  const row = fileRows(page).filter({ hasText: 'big-upload.bin' });
  await row.getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete file' });
  await dialog.waitFor();
  assert.match((await dialog.textContent())!, /Delete big-upload\.bin and every copy of it\?/);
  await page.screenshot({ path: join(ARTIFACTS, 'delete-dialog.png') });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await row.count(), 1, 'cancel keeps the file');

  await row.getByRole('button', { name: 'Delete' }).click();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await row.waitFor({ state: 'detached' });
  await page.getByText('No files yet.').waitFor();
  assert.match((await page.getByRole('status').textContent())!, /Deleted big-upload\.bin/);
  assert.equal((await openaiFiles()).filter((file) => file.filename === 'big-upload.bin').length, 0, 'the OpenAI copy is gone');
  assert.equal(emulators.google.objects(BUCKET).length, 0, 'the GCS copy is gone');
  const gone = await fetch(`${gateway.base}/v1/files/${bigId}`, { headers: { authorization: `Bearer ${keys.alice}` } });
  assert.equal(gone.status, 404);
  await watched.close();
});

test('Load more over 31 files, newest first, until has_more is false', async () => {
  for (let index = 1; index <= 31; index += 1) await apiUpload(keys.carol, `note-${String(index).padStart(2, '0')}.txt`, Buffer.from(`note ${index}\n`), [GPT]);
  const watched = await openPage(browser, gateway.base);
  const { page } = watched;
  await signIn(page, keys.carol);
  await fileRows(page).nth(19).waitFor();
  assert.equal(await fileRows(page).count(), 20);
  const loadMore = page.getByRole('button', { name: 'Load more' });
  await loadMore.click();
  await fileRows(page).nth(30).waitFor();
  await loadMore.waitFor({ state: 'hidden' });
  const names = await page.locator('#files-body td.name').allTextContents();
  assert.deepEqual(names, Array.from({ length: 31 }, (_, index) => `note-${String(31 - index).padStart(2, '0')}.txt`));
  await watched.close();
});

test('an admin creates a user with a key limited to one model; that key then works, the Keys section only for admins', async () => {
  const watched = await openPage(browser, gateway.base);
  const { page } = watched;
  await signIn(page, MASTER);
  await page.getByText('Signed in with the master key (admin)').waitFor();
  const keysSection = page.locator('#keys');
  await page.getByRole('heading', { name: 'Keys' }).waitFor();
  await keysSection.getByLabel('User ID').fill('dave');
  await keysSection.getByRole('group', { name: 'Models' }).getByRole('checkbox', { name: GPT }).check();
  await keysSection.getByLabel('Duration').fill('1d');
  await keysSection.getByRole('button', { name: 'Create user' }).click();
  const newKey = page.getByLabel('New key');
  await newKey.waitFor();
  const created = await newKey.inputValue();
  assert.match(created, /^sk-/);
  assert.match((await keysSection.textContent())!, /Shown once: copy it now\. It belongs to user dave\./);
  await page.screenshot({ path: join(ARTIFACTS, 'keys.png'), fullPage: true });

  // A wrong duration: the gateway's own message in the alert.
  await keysSection.getByLabel('Duration').fill('soon');
  await keysSection.getByRole('button', { name: 'Create key' }).click();
  await page.getByRole('alert').filter({ hasText: "Invalid duration 'soon'" }).waitFor();
  assert.equal(await newKey.isVisible(), false, 'the key was shown once only');

  await page.getByRole('button', { name: 'Sign out' }).click();
  assert.equal(await page.evaluate('sessionStorage.length'), 0, 'signing out forgets the key');
  await page.getByLabel('API key', { exact: true }).fill(created);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Signed in as dave').waitFor();
  assert.equal(await page.getByRole('heading', { name: 'Keys' }).count(), 0);
  assert.equal(await page.getByRole('group', { name: 'Target models' }).getByRole('checkbox').count(), 1, 'only the models of the key');
  assert.equal(await page.getByRole('group', { name: 'Target models' }).getByRole('checkbox', { name: GPT }).count(), 1);
  await page.getByLabel('File', { exact: true }).setInputFiles({ name: 'dave.txt', mimeType: 'text/plain', buffer: Buffer.from('hello from dave') });
  await page.getByRole('checkbox', { name: GPT }).check();
  await page.getByRole('button', { name: 'Upload' }).click();
  await fileRows(page).filter({ hasText: 'dave.txt' }).waitFor();
  await watched.close(/status of 400/);
});

test('a hostile file name stays text everywhere; the gateway refusing an upload shows its message in the alert', async () => {
  // No double quote: browsers send it as %22 in the multipart filename (HTML's form-data encoding).
  const hostile = "<img src=x onerror=document.title='pwned'>.jsonl";
  const watched = await openPage(browser, gateway.base);
  const { page } = watched;
  await signIn(page, keys.alice);
  await page.getByLabel('File', { exact: true }).setInputFiles({ name: hostile, mimeType: 'application/jsonl', buffer: Buffer.from('{"a":1}\n') });
  await page.getByRole('checkbox', { name: GPT }).check();
  await page.getByRole('button', { name: 'Upload' }).click();
  const row = fileRows(page).filter({ hasText: 'onerror' });
  await row.waitFor();
  assert.equal(await row.locator('td.name').textContent(), hostile);
  assert.equal(await page.locator('main img, dialog img').count(), 0, 'no element was made from the name');
  await row.getByRole('button', { name: 'Delete' }).click();
  assert.equal(await page.locator('#delete-name').textContent(), hostile);
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  assert.notEqual(await page.title(), 'pwned');

  // purpose=batch asks the gateway to check the JSONL lines: this one is no batch request.
  await page.getByLabel('File', { exact: true }).setInputFiles({ name: 'not-a-batch.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from('{"a":1}\n') });
  await page.getByRole('combobox', { name: 'Purpose' }).selectOption('batch');
  await page.getByRole('button', { name: 'Upload' }).click();
  const alert = page.getByRole('alert');
  await alert.filter({ hasText: /./ }).waitFor();
  assert.equal(await alert.textContent(), 'Line 1 of the batch file has no "custom_id".');
  assert.equal(await fileRows(page).filter({ hasText: 'not-a-batch.jsonl' }).count(), 0);
  await watched.close(/status of 400/);
});

test('keyboard only: Tab to the API key, type, Enter signs in; a wrong key is an alert with the gateway message', async () => {
  const watched = await openPage(browser, gateway.base);
  const { page } = watched;
  await page.goto(`${gateway.base}/ui`);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate('document.activeElement.id'), 'api-key');
  await page.keyboard.type('sk-not-a-key');
  await page.keyboard.press('Enter');
  await page.getByRole('alert').filter({ hasText: /./ }).waitFor();
  const message = (await page.getByRole('alert').textContent())!;
  const direct = await fetch(`${gateway.base}/v1/models`, { headers: { authorization: 'Bearer sk-not-a-key' } });
  assert.equal(message, ((await direct.json()) as { error: { message: string } }).error.message, "the gateway's own message");
  assert.equal(await page.evaluate('document.activeElement.id'), 'api-key', 'focus stays on the field to fix it');

  await page.keyboard.press('Control+A');
  await page.keyboard.type(keys.alice);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate('document.activeElement.textContent'), 'Sign in');
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  // Focus moves to the Files heading. Polled through page.evaluate: waitForFunction evaluates its
  // predicate inside the page, which the page's own CSP (no 'unsafe-eval') refuses.
  await waitFor(async () => ((await page.evaluate('document.activeElement.id')) === 'files-title' ? true : undefined), 'focus on the Files heading', 10_000);
  assert.equal(await page.locator('#alert').textContent(), '');
  // On to the first row's Delete: the table's scroll frame, Download, Delete.
  for (const expected of ['files-region', 'Download', 'Delete']) {
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate("document.activeElement.id === 'files-region' ? 'files-region' : document.activeElement.textContent"), expected);
  }
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Delete file' });
  await dialog.waitFor();
  assert.equal(await page.evaluate('document.activeElement.id'), 'delete-cancel', 'the dialog opens on its safe choice');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate('document.activeElement.textContent'), 'Delete', 'Escape cancels and focus returns to the row');
  assert.equal(await fileRows(page).count(), 1);
  // Reload keeps the session of this tab.
  await page.reload();
  await page.getByText('Signed in as alice').waitFor();
  await watched.close(/status of 401/);
});

test('usable 360 px wide: nothing wider than the screen', async () => {
  const watched = await openPage(browser, gateway.base, { width: 360, height: 740 });
  const { page } = watched;
  await signIn(page, keys.carol);
  await fileRows(page).nth(19).waitFor();
  const wide = await page.evaluate(`[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 361 && !e.parentElement.closest('.table-scroll')).map((e) => e.tagName + '#' + e.id + '.' + e.className + ':' + e.getBoundingClientRect().right)`);
  assert.deepEqual(wide, []);
  assert.ok(((await page.evaluate('document.documentElement.scrollWidth')) as number) <= 360, 'no sideways scrolling of the page');
  await page.screenshot({ path: join(ARTIFACTS, 'narrow-360.png') });
  await watched.close();
});

// Read-only share links in the browser: the owner makes a link from a
// pane; a second browser context (another person) watches it live and
// cannot type into it; revoking cuts that viewer off with a clear message.
import { Browser, expect, Page } from '@playwright/test';
import { HUB_NAME, startHub, stop, tokenFileOf } from './hub';
import { Dashboard, Pane, signIn, test } from './pages';

/** Makes a link from the pane's share panel; returns its URL. */
async function share(page: Page): Promise<string> {
  await page.getByTestId('share').click();
  await page.getByTestId('share-ttl').selectOption({ label: '1 hour' });
  await page.getByTestId('share-create').click();
  const url = page.getByTestId('share-url');
  await expect(url).toHaveValue(/\/share\/[0-9a-f]{32}\.\d+\.[0-9a-f]{64}$/);
  return url.inputValue();
}

/** Another person: a fresh browser context on `url`. */
async function viewerOf(browser: Browser, url: string): Promise<Pane> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  const viewer = new Pane(page);
  await expect(page.getByTestId('read-only')).toBeVisible();
  await expect(viewer.status()).toHaveAttribute('data-status', 'live');
  return viewer;
}

test('a link shows the session live and read-only, and revoking cuts the viewer off', async ({ page, browser }) => {
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('shown', 'sh');
  await expect(dash.session(`${HUB_NAME}:shown`)).toBeVisible();
  const owner = new Pane(page);
  await owner.open(`${HUB_NAME}:shown`);
  await owner.type('echo before-the-link\n');
  await owner.waitForText(/^before-the-link$/m);
  const url = await share(page);

  const viewer = await viewerOf(browser, url);
  await viewer.waitForText(/^before-the-link$/m);
  await expect(page.getByTestId('watchers')).toHaveText('2 watching');
  await expect(page.getByTestId('links').locator('li')).toHaveCount(1);
  await expect(page.getByTestId('links').getByTestId('viewers')).toHaveText('1 viewing');

  // Live: the owner types, the viewer sees it.
  await owner.type('echo seen-by-the-viewer\n');
  await viewer.waitForText(/^seen-by-the-viewer$/m);
  // The viewer renders at the PTY's size, not its window's.
  const size = (p: Page) => p.evaluate(() => [(window as any).vtrTerm.cols, (window as any).vtrTerm.rows]);
  expect(await size(viewer.page)).toEqual(await size(page));

  // Typing in the viewer changes nothing in the session.
  await viewer.type('echo typed-in-the-viewer\n');
  await owner.type('echo after-the-viewer-typed\n');
  await owner.waitForText(/^after-the-viewer-typed$/m);
  await viewer.waitForText(/^after-the-viewer-typed$/m);
  expect(await owner.text()).not.toContain('typed-in-the-viewer');
  await expect(viewer.status()).toHaveAttribute('data-status', 'live');
  await viewer.page.screenshot({ path: 'test-results/share-viewer.png' });

  // The hub refuses input, not only the page: an input frame sent at the
  // protocol level from the viewer's page ends that socket as read-only,
  // and the session never sees it.
  const token = new URL(url).pathname.split('/').pop();
  const [code, reason] = await viewer.page.evaluate(async (token) => {
    const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws/share?token=${token}`);
    ws.binaryType = 'arraybuffer';
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    const closed = new Promise<[number, string]>((resolve) => {
      ws.onclose = (e) => resolve([e.code, e.reason]);
    });
    // PaneRequest { input (field 1, bytes) }, encoded by hand.
    const text = new TextEncoder().encode('echo typed-by-a-frame\r');
    ws.send(new Uint8Array([0x0a, text.length, ...text]));
    return closed;
  }, token);
  expect(code).toBe(4403);
  expect(reason).toContain('read-only');
  await owner.type('echo after-the-frame\n');
  await owner.waitForText(/^after-the-frame$/m);
  expect(await owner.text()).not.toContain('typed-by-a-frame');

  // The dashboard lists the link with its viewer; revoking it there cuts
  // the viewer off at once.
  await dash.open();
  const row = page.getByTestId('shares').locator('tr[data-state="live"]').filter({ hasText: `${HUB_NAME}:shown` });
  await expect(row.getByTestId('viewers')).toHaveText('1 viewing');
  await row.getByTestId('revoke').click();
  await expect(viewer.status()).toHaveAttribute('data-status', 'error');
  await expect(viewer.banner()).toContainText('this link was revoked');
  // Listed as revoked, with no dead link to follow.
  const revoked = page.getByTestId('shares').locator('tr[data-state="revoked"]').filter({ hasText: `${HUB_NAME}:shown` });
  await expect(revoked).toHaveCount(1);
  await expect(revoked.getByRole('link')).toHaveCount(0);
  // And it stays dead on a reload.
  await viewer.page.reload();
  await expect(viewer.banner()).toContainText('this link was revoked');
  await viewer.page.context().close();
});

test('the pane lists its links and revokes one', async ({ page, browser }) => {
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('listed', 'sh');
  await expect(dash.session(`${HUB_NAME}:listed`)).toBeVisible();
  const owner = new Pane(page);
  await owner.open(`${HUB_NAME}:listed`);
  const url = await share(page);
  const viewer = await viewerOf(browser, url);
  const links = page.getByTestId('links').locator('li');
  await expect(links).toHaveCount(1);
  await links.first().getByTestId('revoke').click();
  await expect(links).toHaveCount(0);
  await expect(viewer.banner()).toContainText('this link was revoked');
  await expect(page.getByTestId('watchers')).toHaveText('1 watching');
  await viewer.page.context().close();
});

test('a link that is not the hub\'s says so', async ({ page }) => {
  const viewer = new Pane(page);
  await page.goto(`/share/${'ab'.repeat(16)}.4102444800.${'00'.repeat(32)}`);
  await expect(viewer.status()).toHaveAttribute('data-status', 'error');
  await expect(viewer.banner()).toContainText('signature does not match');
});

test('a link to a session that ended with its hub says so, in the list and to its viewer', async ({ page, browser }) => {
  test.setTimeout(90_000);
  const port = 4783;
  const base = `http://127.0.0.1:${port}`;
  // The embedded spoke's sessions end with the hub (README).
  let hub = await startHub('brief', port);
  try {
    await signIn(page, base, tokenFileOf('brief'));
    const dash = new Dashboard(page);
    await dash.open(base);
    await dash.spawn('short', 'sh');
    await expect(dash.session('brief:short')).toBeVisible();
    const owner = new Pane(page);
    await owner.open('brief:short', base);
    const url = await share(page);

    await stop(hub);
    hub = await startHub('brief', port);
    await dash.open(base);
    const row = page.getByTestId('shares').locator('tr').filter({ hasText: 'brief:short' });
    await expect(row).toHaveAttribute('data-state', 'gone', { timeout: 30_000 });
    await expect(row).toContainText('session ended');
    await expect(row.getByRole('link')).toHaveCount(0);

    const context = await browser.newContext();
    const viewer = new Pane(await context.newPage());
    await viewer.page.goto(url);
    await expect(viewer.status()).toHaveAttribute('data-status', 'error');
    await expect(viewer.banner()).toContainText('the shared session has ended');
    await context.close();
  } finally {
    await stop(hub);
  }
});

// The web app against a real hub: health strip, spawn, typing, resize,
// reload with resume, a spoke going down, a pane on a second spoke.
import { expect } from '@playwright/test';
import { HUB_NAME, startSpoke, stop } from './hub';
import { Dashboard, Pane, test } from './pages';

test('the dashboard shows the local spoke healthy with a last-seen time', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  const spoke = dash.spoke(HUB_NAME);
  await expect(spoke).toHaveAttribute('data-state', 'healthy');
  await expect(spoke.getByTestId('last-seen')).toHaveText(/seen (just now|\d+ s ago)/);
  await page.screenshot({ path: 'test-results/dashboard.png' });
});

test('spawn from the dashboard, then type `echo hello` in its pane', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('hello', 'sh');
  const card = dash.session(`${HUB_NAME}:hello`);
  await expect(card).toBeVisible();
  await expect(card.getByTestId('status')).toHaveText(/running|idle/);

  const pane = new Pane(page);
  await card.getByTestId('open').click();
  await expect(pane.status()).toHaveAttribute('data-status', 'live');
  await pane.type('echo hel""lo\n');
  await pane.waitForText(/^hello$/m);
});

test('the PTY follows the window size', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('sizes', 'sh');
  await expect(dash.session(`${HUB_NAME}:sizes`)).toBeVisible();
  const pane = new Pane(page);
  await page.setViewportSize({ width: 1000, height: 600 });
  await pane.open(`${HUB_NAME}:sizes`);
  const size = async () => {
    const before = await pane.text();
    await pane.type('stty size\n');
    await expect.poll(async () => (await pane.text()).length).toBeGreaterThan(before.length);
    const all = (await pane.text()).match(/^\d+ \d+$/gm) ?? [];
    return all[all.length - 1];
  };
  const cols = () => page.evaluate(() => (window as any).vtrTerm.cols as number);
  const rows = () => page.evaluate(() => (window as any).vtrTerm.rows as number);
  await expect.poll(size).toBe(`${await rows()} ${await cols()}`);
  const first = await cols();
  await page.setViewportSize({ width: 600, height: 400 });
  await expect.poll(cols).toBeLessThan(first);
  await expect.poll(size).toBe(`${await rows()} ${await cols()}`);
});

test('a reload mid-stream shows every numbered line exactly once', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  // Numbered lines, slowly enough that the reload lands mid-stream.
  await dash.spawn('count', 'i=1; while [ $i -le 300 ]; do echo "line $i"; i=$((i+1)); sleep 0.01; done; echo done');
  const pane = new Pane(page);
  await pane.open(`${HUB_NAME}:count`);
  await pane.waitForText(/^line 50$/m);
  await page.reload();
  await expect(pane.status()).toHaveAttribute('data-status', /live|exited/);
  await pane.waitForText(/^done$/m);
  const lines = (await pane.text()).split('\n').filter((l) => /^line \d+$/.test(l));
  const want = Array.from({ length: 300 }, (_, i) => `line ${i + 1}`);
  expect(lines).toEqual(want);
});

test('a second spoke: a pane on it, and its health when it stops', async ({ page }) => {
  const spoke = await startSpoke('second');
  try {
    const dash = new Dashboard(page);
    await dash.open();
    await expect(dash.spoke('second')).toHaveAttribute('data-state', 'healthy');
    await dash.spawn('there', 'sh', 'second');
    await expect(dash.session('second:there')).toBeVisible();

    const pane = new Pane(page);
    await pane.open('second:there');
    await pane.type('echo "on $VTR_SESSION"\n');
    await pane.waitForText(/^on there$/m);

    await dash.open();
    await stop(spoke);
    await expect(dash.spoke('second')).toHaveAttribute('data-state', 'unreachable');
    await expect(dash.session('second:there').getByTestId('status')).toHaveText('stale');
  } finally {
    await stop(spoke);
  }
});

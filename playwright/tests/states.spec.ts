// Session actions and the bad states a user must see and recover from:
// kill, rename and remove; search in scrollback; an exited session; an
// unknown session; a spoke that goes silent and comes back; a hub that
// restarts under an open dashboard and pane; a burst the page keeps up with.
import { expect } from '@playwright/test';
import { HUB_NAME, pause, resume, startHub, startSpoke, stop, tokenFileOf } from './hub';
import { Dashboard, Pane, signIn, test } from './pages';

test('rename, kill and remove a session from the dashboard', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('victim', 'sh');
  const card = dash.session(`${HUB_NAME}:victim`);
  await expect(card).toHaveAttribute('data-status', /running|idle/);

  await card.getByTestId('rename').click();
  const input = card.getByTestId('rename-input');
  await expect(input).toBeFocused();
  await input.fill('survivor');
  await input.press('Enter');
  const renamed = dash.session(`${HUB_NAME}:survivor`);
  await expect(renamed).toBeVisible();
  await expect(card).toHaveCount(0);

  // Escape leaves the name alone.
  await renamed.getByTestId('rename').click();
  await renamed.getByTestId('rename-input').fill('never');
  await renamed.getByTestId('rename-input').press('Escape');
  await expect(renamed.getByTestId('rename')).toBeVisible();
  await expect(dash.session(`${HUB_NAME}:never`)).toHaveCount(0);

  // Kill and remove ask twice: the first click only arms the button.
  await renamed.getByTestId('kill').click();
  await expect(renamed.getByTestId('kill')).toHaveText('confirm kill');
  await expect(renamed).toHaveAttribute('data-status', /running|idle/);
  await renamed.getByTestId('kill').click();
  await expect(renamed).toHaveAttribute('data-status', 'exited');
  await renamed.getByTestId('remove').click();
  await expect(renamed.getByTestId('remove')).toHaveText('confirm remove');
  await expect(renamed).toHaveCount(1);
  await renamed.getByTestId('remove').click();
  await expect(renamed).toHaveCount(0);
  await expect(page.getByTestId('message')).toHaveText(`ok: ${HUB_NAME}:survivor`);
});

test('search finds text that scrolled off the screen', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('haystack', 'echo needle-in-the-scrollback; seq 1 300; exec cat');
  const pane = new Pane(page);
  await pane.open(`${HUB_NAME}:haystack`);
  await pane.waitForText(/^300$/m);
  const selection = () => page.evaluate(() => (window as any).vtrTerm.getSelection() as string);
  expect(await selection()).toBe('');
  await page.getByTestId('search').fill('needle-in-the');
  await page.getByTestId('search').press('Enter');
  await expect.poll(selection).toBe('needle-in-the');
  // Scrolled back to it: the top row is no longer the bottom of the output.
  const top = await page.evaluate(() => (window as any).vtrTerm.buffer.active.viewportY as number);
  const base = await page.evaluate(() => (window as any).vtrTerm.buffer.active.baseY as number);
  expect(top).toBeLessThan(base);
});

test('an exited session says so and is greyed out', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('brief', 'echo short-lived; sleep 0.5; exit 3');
  const pane = new Pane(page);
  await page.goto(`/s/${HUB_NAME}:brief`);
  await pane.waitForText(/^short-lived$/m);
  await expect(pane.status()).toHaveAttribute('data-status', 'exited');
  await expect(pane.status()).toHaveText('exited (code 3)');
  await expect(pane.banner()).toContainText('The session exited (code 3)');
  await expect(page.getByTestId('terminal')).toHaveClass(/ended/);
  // A reload shows the same: the output and the exit.
  await page.reload();
  await pane.waitForText(/^short-lived$/m);
  await expect(pane.status()).toHaveAttribute('data-status', 'exited');
});

test('an unknown session is an error, not a spinner', async ({ page }) => {
  const pane = new Pane(page);
  await page.goto(`/s/${HUB_NAME}:no-such-session`);
  await expect(pane.status()).toHaveAttribute('data-status', 'error');
  await expect(pane.banner()).toContainText('no-such-session');
  await expect(pane.banner().getByRole('link')).toHaveAttribute('href', '/');
});

test('a spoke that goes silent: the pane says so and resumes when it is back', async ({ page }) => {
  test.setTimeout(90_000);
  const spoke = await startSpoke('silent');
  try {
    const dash = new Dashboard(page);
    await dash.open();
    await dash.spawn('steady', 'sh', 'silent');
    await expect(dash.session('silent:steady')).toBeVisible();
    const pane = new Pane(page);
    await pane.open('silent:steady');
    await pane.type('echo before-the-pause\n');
    await pane.waitForText(/^before-the-pause$/m);

    pause(spoke);
    await expect(pane.status()).toHaveAttribute('data-status', 'spoke-down', { timeout: 30_000 });
    await expect(pane.banner()).toContainText('unreachable');
    resume(spoke);
    await expect(pane.status()).toHaveAttribute('data-status', 'live', { timeout: 30_000 });
    await expect(pane.banner()).toHaveCount(0);
    await pane.type('echo after-the-pause\n');
    await pane.waitForText(/^after-the-pause$/m);
    const text = await pane.text();
    expect(text.match(/^before-the-pause$/gm)).toHaveLength(1);
  } finally {
    resume(spoke);
    await stop(spoke);
  }
});

test('a hub restart: dashboard and pane say the hub is unreachable, then carry on', async ({ page }) => {
  test.setTimeout(90_000);
  const port = 4781;
  const base = `http://127.0.0.1:${port}`;
  let hub = await startHub('edge', port, ['--no-local-spoke']);
  const spoke = await startSpoke('far', base, tokenFileOf('edge'));
  try {
    // Signed in once: the token and the cookie outlive a restart.
    await signIn(page, base, tokenFileOf('edge'));
    const dash = new Dashboard(page);
    await dash.open(base);
    await expect(dash.spoke('far')).toHaveAttribute('data-state', 'healthy');
    await dash.spawn('kept', 'sh', 'far');
    await expect(dash.session('far:kept')).toBeVisible();

    await stop(hub);
    await expect(page.getByTestId('hub-connection')).toHaveText(/hub unreachable/);
    hub = await startHub('edge', port, ['--no-local-spoke']);
    await expect(page.getByTestId('hub-connection')).toHaveText('connected');
    await expect(dash.spoke('far')).toHaveAttribute('data-state', 'healthy', { timeout: 30_000 });

    const pane = new Pane(page);
    await pane.open('far:kept', base);
    await pane.type('echo before-the-restart\n');
    await pane.waitForText(/^before-the-restart$/m);
    await stop(hub);
    await expect(pane.status()).toHaveAttribute('data-status', 'reconnecting');
    await expect(pane.banner()).toContainText('hub is unreachable');
    hub = await startHub('edge', port, ['--no-local-spoke']);
    await expect(pane.status()).toHaveAttribute('data-status', 'live', { timeout: 30_000 });
    await pane.type('echo after-the-restart\n');
    await pane.waitForText(/^after-the-restart$/m);
    // Resumed by offset: nothing shown twice.
    expect((await pane.text()).match(/^before-the-restart$/gm)).toHaveLength(1);
  } finally {
    await stop(spoke);
    await stop(hub);
  }
});

test('an endless burst: the page keeps up and Ctrl-C brings the prompt back', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('flood', 'PS1=prompt-is-back; export PS1; exec sh');
  const pane = new Pane(page);
  await pane.open(`${HUB_NAME}:flood`);
  await pane.waitForText(/prompt-is-back/);
  await pane.type("yes 'The quick brown fox jumps over the lazy dog 0123456789'\n");
  await expect.poll(() => pane.screen()).toMatch(/The quick brown fox/);
  await page.getByTestId('key-Ctrl').click();
  await page.keyboard.type('c');
  // The prompt shows while the page has not fallen behind by the whole
  // flood: flow control and resyncs keep it near the present.
  await expect.poll(() => pane.cursorLine(), { timeout: 10_000 }).toMatch(/^prompt-is-back/);
});

test('a command typed during a 16 MiB burst runs and shows', async ({ page }) => {
  // xterm parses right away the first output after a keystroke; the
  // page's acks must count it all the same, or the hub stops sending.
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('burst16', 'PS1=prompt-is-back; export PS1; exec sh');
  const pane = new Pane(page);
  await pane.open(`${HUB_NAME}:burst16`);
  await pane.waitForText(/prompt-is-back/);
  await pane.type("yes 'The quick brown fox jumps over the lazy dog 0123456789' | head -c 16777216\n");
  await expect.poll(() => pane.screen()).toMatch(/The quick brown fox/);
  for (const key of 'echo typed-""during') await page.keyboard.type(key);
  await page.keyboard.press('Enter');
  await expect.poll(() => pane.screen(), { timeout: 30_000 }).toMatch(/typed-during$/m);
  await expect.poll(() => pane.cursorLine()).toMatch(/^prompt-is-back$/);
});

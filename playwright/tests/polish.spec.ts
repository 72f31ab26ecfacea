// What a new user trips over first: a phone-sized screen, a spawn form
// that spawns twice, a kill that acts on one stray click, a missing icon.
import { expect, Page } from '@playwright/test';
import { HUB_NAME, startHub, stop, tokenFileOf } from './hub';
import { Dashboard, Pane, signIn, test } from './pages';

const PHONE = { width: 360, height: 740 };

/** No page-wide horizontal scrolling. */
async function fitsTheWidth(page: Page) {
  const widths = await page.evaluate(() => ({
    content: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
  }));
  expect(widths.content, 'the page scrolls sideways').toBeLessThanOrEqual(widths.viewport);
}

/** Wholly inside the viewport's width, so a thumb can reach it. */
async function reachable(page: Page, testId: string) {
  const box = await page.getByTestId(testId).first().boundingBox();
  expect(box, `${testId} is shown`).not.toBeNull();
  expect(box!.x, `${testId} starts on screen`).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width, `${testId} ends on screen`).toBeLessThanOrEqual(PHONE.width);
}

test('the dashboard and a pane fit a 360 px phone screen', async ({ page }) => {
  await page.setViewportSize(PHONE);
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('phone', 'echo a-rather-long-line-of-output-that-must-not-widen-the-page; exec cat');
  await expect(dash.session(`${HUB_NAME}:phone`)).toBeVisible();
  await fitsTheWidth(page);
  for (const id of ['spawn-spoke', 'spawn-name', 'spawn-command', 'spawn', `session-${HUB_NAME}:phone`]) {
    await reachable(page, id);
  }

  const pane = new Pane(page);
  await pane.open(`${HUB_NAME}:phone`);
  await fitsTheWidth(page);
  for (const id of ['search', 'search-prev', 'search-next', 'watchers', 'share', 'keybar']) {
    await reachable(page, id);
  }
  await page.getByTestId('share').click();
  await reachable(page, 'share-panel');
  await fitsTheWidth(page);

  await page.goto(`/grid?s=${encodeURIComponent(`${HUB_NAME}:phone`)}`);
  await expect(page.getByTestId('pane-status')).toHaveAttribute('data-status', 'live');
  await fitsTheWidth(page);
  for (const id of ['cell-open', 'cell-earlier', 'cell-close']) {
    await reachable(page, id);
  }
});

test('the spawn form empties after a spawn, so a second click spawns nothing twice', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('once', 'exec cat');
  await expect(dash.session(`${HUB_NAME}:once`)).toBeVisible();
  await expect(page.getByTestId('spawn-name')).toHaveValue('');
  await expect(page.getByTestId('spawn-command')).toHaveValue('');
});

test('an armed kill button disarms itself when not clicked again', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('spared', 'exec cat');
  const card = dash.session(`${HUB_NAME}:spared`);
  await card.getByTestId('kill').click();
  await expect(card.getByTestId('kill')).toHaveText('confirm kill');
  await expect(card.getByTestId('kill')).toHaveText('kill', { timeout: 8_000 });
  await expect(card).toHaveAttribute('data-status', /running|idle/);
});

test('no page asks for an icon it does not have', async ({ page }) => {
  const missing: string[] = [];
  page.on('response', (r) => {
    if (r.status() === 404) missing.push(r.url());
  });
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('iconic', 'exec cat');
  await new Pane(page).open(`${HUB_NAME}:iconic`);
  await page.goto('/login');
  await expect(page.getByTestId('login')).toBeVisible();
  const icon = await page.evaluate(() => document.querySelector('link[rel=icon]')?.getAttribute('href'));
  expect(icon).toMatch(/^data:image\/svg\+xml,/);
  expect(missing).toEqual([]);
});

test('a pane on a spoke the hub does not know says so, naming the spokes it does', async ({ page }) => {
  await page.goto('/s/nospoke:x');
  const status = page.getByTestId('pane-status');
  await expect(status).toHaveAttribute('data-status', 'spoke-down');
  const banner = page.getByTestId('pane-banner');
  await expect(banner).toContainText('no spoke named "nospoke"');
  await expect(banner).toContainText(HUB_NAME);
});

test('search starts at the newest match, steps to older ones, and says when nothing matches', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('twice', 'echo findme-old; seq 1 100; echo findme-new; seq 1 100; exec cat');
  const pane = new Pane(page);
  await pane.open(`${HUB_NAME}:twice`);
  await pane.waitForText(/findme-new[\s\S]*^100$/m);
  const selected = () =>
    page.evaluate(() => {
      const term = (window as any).vtrTerm;
      const row = term.getSelectionPosition()?.start.y;
      return row === undefined ? '' : term.buffer.active.getLine(row).translateToString(true);
    });
  const search = page.getByTestId('search');
  await search.fill('findme-');
  await search.press('Enter');
  await expect.poll(selected).toBe('findme-new');
  await search.press('Enter');
  await expect.poll(selected).toBe('findme-old');
  await search.press('Shift+Enter');
  await expect.poll(selected).toBe('findme-new');
  await expect(page.getByTestId('search-missed')).toHaveCount(0);

  await search.fill('absent-from-the-output');
  await search.press('Enter');
  await expect(page.getByTestId('search-missed')).toHaveText('no match');
  // Typing again clears it.
  await search.press('Backspace');
  await expect(page.getByTestId('search-missed')).toHaveCount(0);
});

test('an open pane follows a rename made elsewhere, and a reload opens the same session', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('before-rename', 'echo still-the-same-session; exec cat');
  const other = await page.context().newPage();
  const pane = new Pane(other);
  await pane.open(`${HUB_NAME}:before-rename`);
  await pane.waitForText(/still-the-same-session/);

  const card = dash.session(`${HUB_NAME}:before-rename`);
  await card.getByTestId('rename').click();
  await card.getByTestId('rename-input').fill('after-rename');
  await card.getByTestId('rename-input').press('Enter');
  await expect(other.getByTestId('pane-address')).toHaveText(`${HUB_NAME}:after-rename`);
  await expect(other).toHaveURL(new RegExp(`/s/${HUB_NAME}(:|%3A)after-rename$`));
  await expect(other).toHaveTitle(`${HUB_NAME}:after-rename - vtr`);

  await other.reload();
  await expect(pane.status()).toHaveAttribute('data-status', 'live');
  await expect(other.getByTestId('pane-address')).toHaveText(`${HUB_NAME}:after-rename`);
  await pane.waitForText(/still-the-same-session/);
});

test('a rename box stays open, with what was typed, when its card changes under it', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  const name = `busy-${Date.now()}`;
  await dash.spawn(name, 'echo some-output; exec cat');
  const card = dash.session(`${HUB_NAME}:${name}`);
  await expect(card).toHaveClass(/running/);
  await card.getByTestId('rename').click();
  await expect(card.getByTestId('rename-input')).toBeFocused();
  await page.keyboard.type(`${name}-half`);
  // Quiet for a while, the session turns idle and its card is rebuilt.
  await expect(card).toHaveClass(/idle/);
  await expect(card.getByTestId('rename-input')).toBeFocused();
  await expect(card.getByTestId('rename-input')).toHaveValue(`${name}-half`);
  await page.keyboard.type('-done');
  await page.keyboard.press('Enter');
  const renamed = dash.session(`${HUB_NAME}:${name}-half-done`);
  await expect(renamed).toBeVisible();
  // Leaving the box still cancels it.
  await renamed.getByTestId('rename').click();
  await expect(renamed.getByTestId('rename-input')).toBeFocused();
  await page.getByTestId('hub-name').click();
  await expect(renamed.getByTestId('rename-input')).toHaveCount(0);
});

for (const [scheme, body, term] of [
  ['light', 'rgb(244, 245, 247)', '#ffffff'],
  ['dark', 'rgb(17, 20, 24)', undefined],
] as const) {
  test.describe(`with the system in ${scheme} mode`, () => {
    test.use({ colorScheme: scheme });
    test(`the pages and the terminal are ${scheme}`, async ({ page }) => {
      const dash = new Dashboard(page);
      await dash.open();
      expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe(body);
      await dash.spawn(`themed-${scheme}`, 'exec cat');
      await new Pane(page).open(`${HUB_NAME}:themed-${scheme}`);
      expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe(body);
      // xterm's default theme is the dark one.
      expect(await page.evaluate(() => (window as any).vtrTerm.options.theme?.background)).toBe(term);
    });
  });
}

test('the key bar sends Alt with the next key and the common chords', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  // Each byte the terminal sends, in hex, one per line.
  await dash.spawn('bytes', 'stty raw -echo; while :; do dd bs=1 count=1 2>/dev/null | od -An -tx1; done');
  const pane = new Pane(page);
  await pane.open(`${HUB_NAME}:bytes`);
  await page.getByTestId('key-Alt').click();
  await expect(page.getByTestId('key-Alt')).toHaveClass(/on/);
  await page.keyboard.type('x');
  await pane.waitForText(/1b\s+78/);
  await expect(page.getByTestId('key-Alt')).not.toHaveClass(/on/);
  await page.getByTestId('key-^C').click();
  await pane.waitForText(/78\s+03/);
});

test('selecting text copies it, and the help says how to paste', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('copyme', 'echo copy-this-text; exec cat');
  const pane = new Pane(page);
  await pane.open(`${HUB_NAME}:copyme`);
  await pane.waitForText(/^copy-this-text$/m);
  await page.evaluate(() => {
    const term = (window as any).vtrTerm;
    const buffer = term.buffer.active;
    for (let i = 0; i < buffer.length; i++) {
      if (buffer.getLine(i).translateToString(true) === 'copy-this-text') term.select(0, i, 14);
    }
  });
  await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe('copy-this-text');

  await page.getByTestId('help').click();
  await expect(page.getByTestId('help-panel')).toContainText('Ctrl+Shift+V');
  await expect(page.getByTestId('help-panel')).toContainText('Ctrl+V sends ^V');
  await page.getByTestId('help-close').click();
  await expect(page.getByTestId('help-panel')).toHaveCount(0);
});

test("a full-screen program's card shows the top of its screen; a shell's, its last lines", async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('paged', 'seq 101 200 | less');
  await dash.spawn('printed', 'seq 301 400; exec cat');
  const preview = (name: string) => dash.session(`${HUB_NAME}:${name}`).getByTestId('preview');
  await expect.poll(async () => (await preview('paged').textContent())?.split('\n')[0]).toBe('101');
  await expect.poll(async () => (await preview('printed').textContent())?.split('\n').pop()).toBe('400');
});

test('"/" opens the quick switcher: typing narrows the cards, Enter opens the first', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('switch-alpha', 'exec cat');
  await dash.spawn('switch-beta', 'exec cat');
  await expect(dash.session(`${HUB_NAME}:switch-beta`)).toBeVisible();
  await page.getByTestId('hub-name').click();
  await page.keyboard.press('/');
  await expect(page.getByTestId('filter')).toBeFocused();
  await page.keyboard.type('switch-al');
  await expect(dash.session(`${HUB_NAME}:switch-alpha`)).toBeVisible();
  await expect(dash.session(`${HUB_NAME}:switch-beta`)).toHaveCount(0);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`/s/${HUB_NAME}:switch-alpha$`));
  await expect(new Pane(page).status()).toHaveAttribute('data-status', 'live');

  await dash.open();
  await page.getByTestId('filter').fill('matches-no-session-at-all');
  await expect(page.getByTestId('no-match')).toContainText('No session matches "matches-no-session-at-all"');
});

test('from inside a pane, Ctrl+Shift+arrows move to the sessions around it and to the switcher', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  const first = `hop-a-${Date.now()}`;
  const second = `hop-b-${Date.now()}`;
  await dash.spawn(first, 'exec cat');
  await expect(dash.session(`${HUB_NAME}:${first}`)).toBeVisible();
  await dash.spawn(second, 'exec cat');
  await expect(dash.session(`${HUB_NAME}:${second}`)).toBeVisible();

  const pane = new Pane(page);
  await pane.open(`${HUB_NAME}:${first}`);
  // Pressed in the terminal, the shortcuts go to the page, never to the
  // program (checked below: cat echoes nothing of them).
  await page.locator('.xterm-helper-textarea').focus();
  await page.keyboard.press('Control+Shift+ArrowRight');
  await expect(page).toHaveURL(new RegExp(`/s/${HUB_NAME}(:|%3A)${second}$`));
  await expect(pane.status()).toHaveAttribute('data-status', 'live');
  await expect(page.getByTestId('pane-address')).toHaveText(`${HUB_NAME}:${second}`);

  await page.locator('.xterm-helper-textarea').focus();
  await page.keyboard.press('Control+Shift+ArrowLeft');
  await expect(page).toHaveURL(new RegExp(`/s/${HUB_NAME}(:|%3A)${first}$`));
  await expect(pane.status()).toHaveAttribute('data-status', 'live');
  await page.locator('.xterm-helper-textarea').focus();
  await page.keyboard.type('still-here\r');
  await expect.poll(() => pane.text()).toContain('still-here');
  expect(await pane.text(), 'a shortcut leaked into the terminal').not.toContain('[1;6');

  await page.keyboard.press('Control+Shift+ArrowUp');
  await expect(page).toHaveURL(/\/#find$/);
  await expect(page.getByTestId('filter')).toBeFocused();
});

test('a hub with no sessions says how to start one, and the tab icon shows when one runs', async ({ page }) => {
  const port = 4783;
  const base = `http://127.0.0.1:${port}`;
  const hub = await startHub('fresh', port);
  try {
    await signIn(page, base, tokenFileOf('fresh'));
    const dash = new Dashboard(page);
    await dash.open(base);
    await expect(page.getByTestId('no-sessions')).toContainText('No sessions yet');
    const busy = () => page.locator('link[rel=icon]').getAttribute('data-busy');
    await dash.spawn('ticking', 'while :; do echo tick; sleep 0.2; done');
    await expect(page.getByTestId('no-sessions')).toHaveCount(0);
    await expect.poll(busy).toBe('1');
    const card = dash.session('fresh:ticking');
    await card.getByTestId('kill').click();
    await card.getByTestId('kill').click();
    await expect(card).toHaveAttribute('data-status', 'exited');
    await expect.poll(busy).toBe('0');
  } finally {
    await stop(hub);
  }
});

test('a soft keyboard (a smaller visual viewport) shrinks the pane above it, cursor line in view', async ({ page }) => {
  await page.setViewportSize(PHONE);
  const dash = new Dashboard(page);
  await dash.open();
  const name = `keyboard-${Date.now().toString(36)}`;
  await dash.spawn(name, 'sh');
  const pane = new Pane(page);
  await pane.open(`${HUB_NAME}:${name}`);
  await pane.type('seq 1 200\r');
  await pane.waitForText(/^200$/m);
  const rows = () => page.evaluate(() => (window as any).vtrTerm.rows as number);
  const before = await rows();
  // What a phone does when its keyboard opens: the visual viewport, not
  // the window, gets shorter.
  await page.evaluate(() => {
    Object.defineProperty(window.visualViewport, 'height', { get: () => 400, configurable: true });
    window.visualViewport!.dispatchEvent(new Event('resize'));
  });
  await expect.poll(rows).toBeLessThan(before);
  const box = await page.getByTestId('terminal').boundingBox();
  expect(box!.y + box!.height).toBeLessThanOrEqual(400);
  // Scrolled to the cursor, and the PTY has the rows the page shows.
  expect(await page.evaluate(() => {
    const b = (window as any).vtrTerm.buffer.active;
    return b.viewportY === b.baseY;
  })).toBe(true);
  await pane.type('stty size\r');
  await pane.waitForText(new RegExp(`^${await rows()} \\d+$`, 'm'));
});

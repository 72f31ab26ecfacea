// Several terminals at once: sessions picked on the dashboard open side by
// side in one grid, each a live pane of its own, the layout in the URL.
import { expect, Page } from '@playwright/test';
import { HUB_NAME } from './hub';
import { Dashboard, test } from './pages';

const cell = (page: Page, name: string) =>
  page.locator(`[data-testid="grid-cell"][data-address="${HUB_NAME}:${name}"]`);

/** A cell's terminal text, scrollback included. */
const text = (page: Page, name: string) =>
  cell(page, name)
    .getByTestId('terminal')
    .evaluate((el: any) => {
      const buffer = el.vtrTerm.buffer.active;
      const lines: string[] = [];
      for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
      return lines.join('\n');
    });

const q = (name: string) => `s=${encodeURIComponent(`${HUB_NAME}:${name}`)}`;

test('sessions picked on the dashboard open together, each pane live and typed into on its own', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('left', 'exec cat');
  await dash.spawn('right', 'exec cat');
  await dash.session(`${HUB_NAME}:left`).getByTestId('pick').check();
  await dash.session(`${HUB_NAME}:right`).getByTestId('pick').check();
  await expect(page.getByTestId('open-grid')).toHaveText('open 2 sessions together');
  await page.getByTestId('open-grid').click();
  await expect(page).toHaveURL(new RegExp(`/grid\\?${q('left')}&${q('right')}$`));

  for (const name of ['left', 'right']) {
    await expect(cell(page, name).getByTestId('pane-status')).toHaveAttribute('data-status', 'live');
  }
  // Side by side: each pane, and so each PTY, is narrower than the page.
  const cols = (name: string) => cell(page, name).getByTestId('terminal').evaluate((el: any) => el.vtrTerm.cols as number);
  const pageCols = await page.evaluate(() => Math.floor(window.innerWidth / 9));
  expect(await cols('left')).toBeLessThan(pageCols * 0.75);

  for (const name of ['left', 'right']) {
    await cell(page, name).getByTestId('terminal').click();
    await page.keyboard.type(`only-${name}`);
    await page.keyboard.press('Enter');
    await expect.poll(() => text(page, name)).toContain(`only-${name}`);
  }
  expect(await text(page, 'left')).not.toContain('only-right');
  expect(await text(page, 'right')).not.toContain('only-left');

  // Rearranged: the URL follows, and a reload opens the same grid with
  // each pane's output back.
  await cell(page, 'right').getByTestId('cell-earlier').click();
  await expect(page).toHaveURL(new RegExp(`/grid\\?${q('right')}&${q('left')}$`));
  await page.reload();
  await expect(page.getByTestId('grid-cell').first()).toHaveAttribute('data-address', `${HUB_NAME}:right`);
  await expect(cell(page, 'left').getByTestId('pane-status')).toHaveAttribute('data-status', 'live');
  await expect.poll(() => text(page, 'left')).toContain('only-left');

  // Taken out: one pane left, and the URL says so.
  await cell(page, 'left').getByTestId('cell-close').click();
  await expect(page.getByTestId('grid-cell')).toHaveCount(1);
  await expect(page).toHaveURL(new RegExp(`/grid\\?${q('right')}$`));
  await expect(page.getByTestId('grid-count')).toHaveText('1 pane');
});

test('an empty grid says how to fill it', async ({ page }) => {
  await page.goto('/grid');
  await expect(page.getByTestId('grid-empty')).toContainText('Pick some on the dashboard');
});

// Screenshots of the dashboard, the grid and a pane, at desktop and phone
// sizes, into playwright/screenshots/ (the README shows some, copied into
// assets/). Each also checks the page it shoots is live.
import { expect, Page } from '@playwright/test';
import * as path from 'node:path';
import { HUB_NAME } from './hub';
import { Dashboard, Pane, test } from './pages';

const DIR = path.resolve(__dirname, '../screenshots');
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

async function shoot(page: Page, name: string) {
  await page.screenshot({ path: path.join(DIR, `${name}.png`) });
}

test('screenshots: dashboard, grid and pane at desktop and phone sizes', async ({ page }) => {
  const dash = new Dashboard(page);
  await page.setViewportSize(SIZES.desktop);
  await dash.open();
  await dash.spawn('build', "printf '\\033[1;32m==>\\033[0m compiling vtr\\n'; seq -f 'step %g of 40' 1 40; exec cat");
  await dash.spawn('logs', "printf '\\033[33mwarn\\033[0m disk 81%% full\\n\\033[31merror\\033[0m retrying in 5 s\\n'; exec cat");
  await dash.spawn('editor', 'seq -f "line %g of a file" 1 60 | less');
  for (const name of ['build', 'logs', 'editor']) {
    await expect(dash.session(`${HUB_NAME}:${name}`).getByTestId('preview')).not.toBeEmpty();
  }
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport);
    await dash.open();
    await expect(dash.session(`${HUB_NAME}:editor`).getByTestId('preview')).not.toBeEmpty();
    await shoot(page, `dashboard-${size}`);

    const pane = new Pane(page);
    await pane.open(`${HUB_NAME}:build`);
    await pane.waitForText(/step 40 of 40/);
    await shoot(page, `pane-${size}`);

    const grid = ['build', 'logs', 'editor'].map((n) => `s=${encodeURIComponent(`${HUB_NAME}:${n}`)}`).join('&');
    await page.goto(`/grid?${grid}`);
    await expect(page.getByTestId('pane-status')).toHaveCount(3);
    for (const status of await page.getByTestId('pane-status').all()) {
      await expect(status).toHaveAttribute('data-status', 'live');
    }
    await shoot(page, `grid-${size}`);
  }
});

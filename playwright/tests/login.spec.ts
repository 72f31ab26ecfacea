// A hub with a token: the browser is sent to sign in, a wrong token is
// refused, the right one lets it in, and what it starts carries its name.
import { expect } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUN_DIR, startHub, stop } from './hub';
import { Dashboard, test } from './pages';

const TOKEN = 'playwright-sign-in-token-0123456789';

test('a hub with a token asks for it, then lets you in', async ({ page }) => {
  const tokenFile = path.join(RUN_DIR, 'locked-token');
  fs.writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  const port = 4782;
  const base = `http://127.0.0.1:${port}`;
  const hub = await startHub('locked', port, ['--listen-token-file', tokenFile]);
  try {
    await page.goto(`${base}/`);
    await expect(page).toHaveURL(`${base}/login?next=/`);
    await page.getByTestId('token').fill('not-the-token-0123456789');
    await page.getByTestId('sign-in').click();
    await expect(page.getByText("That is not the hub's token.")).toBeVisible();

    await page.getByTestId('token').fill(TOKEN);
    await page.getByTestId('name').fill('alice');
    await page.getByTestId('sign-in').click();
    await expect(page).toHaveURL(`${base}/`);
    const dash = new Dashboard(page);
    await expect(page.getByTestId('hub-connection')).toHaveText('connected');
    await dash.spawn('signed', 'sh');
    await expect(dash.session('locked:signed').getByTestId('created-by')).toHaveText('by alice');
    await expect(page.getByTestId('you')).toContainText('alice');
    await page.screenshot({ path: 'test-results/signed-in.png' });
    // Signing out sends the browser back to sign in.
    await page.getByTestId('sign-out').click();
    await expect(page).toHaveURL(`${base}/login`);
    await page.goto(`${base}/`);
    await expect(page).toHaveURL(`${base}/login?next=/`);
  } finally {
    await stop(hub);
  }
});

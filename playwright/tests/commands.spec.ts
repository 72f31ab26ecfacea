// Command boundaries in a pane, from the prompt marks (OSC 133) that vtr's
// shell integration adds to the bash it starts: a failed command is marked
// red, and the pane jumps from one command line to the next.
import { expect, Page } from '@playwright/test';
import { HUB_NAME } from './hub';
import { Dashboard, Pane, test } from './pages';

/** The first line shown, from xterm's buffer. */
function topLine(page: Page): Promise<string> {
  return page.evaluate(() => {
    const buffer = (window as any).vtrTerm.buffer.active;
    return buffer.getLine(buffer.viewportY).translateToString(true);
  });
}

test('a pane marks failed commands and jumps between command lines', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  const name = `marks-${Date.now()}`;
  await dash.spawn(name, 'bash');
  const pane = new Pane(page);
  await pane.open(`${HUB_NAME}:${name}`);
  await page.locator('.xterm-helper-textarea').focus();
  await page.keyboard.type('echo first-one\r');
  await page.keyboard.type('false\r');
  await page.keyboard.type('seq 1 200\r');
  await expect.poll(() => pane.text()).toMatch(/^200$/m);
  // The failed command is far above: its red mark is not shown.
  const failed = page.locator('.xterm-decoration[data-exit="1"]');
  await expect(failed).toBeHidden();

  await page.getByTestId('command-prev').click();
  await expect.poll(() => topLine(page)).toMatch(/seq 1 200$/);
  await page.getByTestId('command-prev').click();
  await expect.poll(() => topLine(page)).toMatch(/false$/);
  await expect(failed).toBeVisible();
  await expect(failed).toHaveAttribute('title', 'exit code 1');
  await page.getByTestId('command-prev').click();
  await expect.poll(() => topLine(page)).toMatch(/echo first-one$/);
  // Succeeded: no red mark on it.
  await expect(page.locator('.xterm-decoration[data-exit="0"][style*="background"]')).toHaveCount(0);

  await page.getByTestId('command-next').click();
  await expect.poll(() => topLine(page)).toMatch(/false$/);
  await page.getByTestId('command-next').click();
  await expect.poll(() => topLine(page)).toMatch(/seq 1 200$/);
});

// Page objects: the dashboard and a terminal pane, selected by data-testid.
import { test as base, expect, Locator, Page } from '@playwright/test';
import * as fs from 'node:fs';
import { HUB_TOKEN_FILE, HUB_URL } from './hub';

/** Signs `page` in to a hub with the URL it prints (`/login#token=...`):
 * the page trades the token for a cookie and takes it out of the address
 * bar. */
export async function signIn(page: Page, hub = HUB_URL, tokenFile = HUB_TOKEN_FILE) {
  const token = fs.readFileSync(tokenFile, 'utf8').trim();
  await page.goto(`${hub}/login#token=${token}`);
  await expect(page).toHaveURL(`${hub}/`);
  expect(page.url()).not.toContain(token);
}

/** Playwright's `test`, with every test's page signed in to this run's hub. */
export const test = base.extend({
  page: async ({ page }, use) => {
    await signIn(page);
    await use(page);
  },
});

export class Dashboard {
  constructor(readonly page: Page) {}

  /** The dashboard of this run's hub, or of the hub at `base`. */
  async open(base = '') {
    await this.page.goto(`${base}/`);
    await expect(this.page.getByTestId('hub-connection')).toHaveText('connected');
  }

  spoke(name: string): Locator {
    return this.page.getByTestId(`spoke-${name}`);
  }

  session(address: string): Locator {
    return this.page.getByTestId(`session-${address}`);
  }

  async spawn(name: string, command: string, spoke = '') {
    if (spoke) await this.page.getByTestId('spawn-spoke').selectOption(spoke);
    await this.page.getByTestId('spawn-name').fill(name);
    await this.page.getByTestId('spawn-command').fill(command);
    await this.page.getByTestId('spawn').click();
  }
}

export class Pane {
  constructor(readonly page: Page) {}

  async open(address: string, base = '') {
    await this.page.goto(`${base}/s/${address}`);
    await expect(this.status()).toHaveAttribute('data-status', 'live');
  }

  status(): Locator {
    return this.page.getByTestId('pane-status');
  }

  banner(): Locator {
    return this.page.getByTestId('pane-banner');
  }

  /** The terminal's text, scrollback included, from xterm's buffer. */
  async text(): Promise<string> {
    return this.page.evaluate(() => {
      const buffer = (window as any).vtrTerm.buffer.active;
      const lines: string[] = [];
      for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
      return lines.join('\n');
    });
  }

  /** The visible screen only: cheap enough to poll during a flood. */
  async screen(): Promise<string> {
    return this.page.evaluate(() => {
      const term = (window as any).vtrTerm;
      const buffer = term.buffer.active;
      const lines: string[] = [];
      for (let i = 0; i < term.rows; i++) lines.push(buffer.getLine(buffer.viewportY + i)?.translateToString(true) ?? '');
      return lines.join('\n');
    });
  }

  /** The line the cursor is on. */
  async cursorLine(): Promise<string> {
    return this.page.evaluate(() => {
      const buffer = (window as any).vtrTerm.buffer.active;
      return buffer.getLine(buffer.baseY + buffer.cursorY)?.translateToString(true) ?? '';
    });
  }

  async waitForText(pattern: RegExp) {
    await expect.poll(() => this.text(), { timeout: 10_000 }).toMatch(pattern);
  }

  async type(text: string) {
    await this.page.getByTestId('terminal').click();
    await this.page.keyboard.type(text);
  }
}

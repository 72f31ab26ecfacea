// Browser tests of the vtr web app: a real hub (the debug `vtr` binary)
// with its embedded spoke, in Debian's Chromium (never a downloaded one).
import { defineConfig } from '@playwright/test';
import { HUB_URL, hubCommand } from './tests/hub';

export default defineConfig({
  testDir: './tests',
  // One hub for all tests, whose sessions they share: one at a time.
  workers: 1,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: HUB_URL,
    screenshot: 'on',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
  webServer: {
    command: hubCommand(),
    url: `${HUB_URL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
  },
});

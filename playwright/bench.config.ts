// The browser benchmarks (bench/), with the same hub and browser as the tests.
import { defineConfig } from '@playwright/test';
import base from './playwright.config';

export default defineConfig({
  ...base,
  testDir: './bench',
  testMatch: '*.bench.ts',
  timeout: 120_000,
  outputDir: 'bench-results',
  use: { ...base.use, screenshot: 'off' },
});

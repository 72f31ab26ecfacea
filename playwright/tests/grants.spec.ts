// Agents' grants on the dashboard: a grant made with `vtr grant create`
// shows what it reaches, its scope and note (never its token); revoking
// it from the dashboard stops its token at the hub's /mcp at once. A pane
// makes one for its session, with the configuration an agent host needs,
// and that configuration works as written.
import * as path from 'node:path';
import { expect } from '@playwright/test';
import { HUB_NAME, HUB_URL, RUN_DIR, vtrSync } from './hub';
import { Dashboard, Pane, test } from './pages';

const TOOLS_LIST = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
const MCP_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };

test('a grant is listed on the dashboard and revoking it there stops its token', async ({ page, request }) => {
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('granted', 'sh');
  await expect(dash.session(`${HUB_NAME}:granted`)).toBeVisible();

  const made = JSON.parse(vtrSync(['--socket', path.join(RUN_DIR, 'hub.sock'), '--json', 'grant', 'create',
    '--session', `${HUB_NAME}:granted`, '--ttl', '1h', '--note', 'playwright agent']).toString());
  const row = page.getByTestId(`grant-${made.id}`);
  await expect(row).toHaveAttribute('data-state', 'live');
  await expect(row.getByTestId('scope')).toHaveText('observe');
  await expect(row.getByTestId('reach')).toHaveText(`${HUB_NAME}:granted`);
  await expect(row).toContainText('playwright agent');
  await expect(page.getByTestId('grants')).not.toContainText(made.token);

  const headers = {
    Authorization: `Bearer ${made.token}`,
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
  };
  const before = await request.post(`${HUB_URL}/mcp`, { headers, data: TOOLS_LIST });
  expect(before.status()).toBe(200);
  expect(await before.text()).toContain('read_screen');

  await row.getByTestId('revoke').click();
  await expect(row).toHaveAttribute('data-state', 'revoked');
  await expect(row.getByTestId('revoke')).toHaveCount(0);
  await expect(page.getByText(`revoked grant ${made.id}`)).toBeVisible();
  const after = await request.post(`${HUB_URL}/mcp`, { headers, data: TOOLS_LIST });
  expect(after.status()).toBe(401);
  expect(await after.text()).toContain('revoked');
});

test('a pane makes an agent grant for its session, and its MCP configuration works', async ({ page, context, request }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const dash = new Dashboard(page);
  await dash.open();
  await dash.spawn('bystander', 'sh');
  await dash.spawn('agented', 'sh');
  await expect(dash.session(`${HUB_NAME}:agented`)).toBeVisible();
  const pane = new Pane(page);
  await pane.open(`${HUB_NAME}:agented`);

  await page.getByTestId('share').click();
  await page.getByTestId('grant-scope').selectOption('control');
  await expect(page.getByTestId('grant-panel')).toContainText('control of this account');
  await page.getByTestId('grant-ttl').selectOption({ label: '1 day' });
  await page.getByTestId('grant-note').fill('pane agent');
  await page.getByTestId('grant-create').click();
  const token = await page.getByTestId('grant-token').inputValue();
  expect(token).toMatch(/^vtrg_[0-9a-f]{16}_[0-9a-f]{64}$/);
  const id = token.split('_')[1];

  // The configuration, as an agent host reads it, reaches this session only.
  const shown = await page.getByTestId('grant-config').inputValue();
  await page.getByTestId('grant-copy').click();
  await expect(page.getByTestId('grant-copy')).toHaveText('copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(shown);
  const config = JSON.parse(shown);
  // Shown once: closing the panel and opening it again does not show it.
  await page.getByTestId('share').click();
  await page.getByTestId('share').click();
  await expect(page.getByTestId('grant-panel')).toBeVisible();
  await expect(page.getByTestId('grant-token')).toHaveCount(0);
  const server = config.mcpServers.vtr;
  expect(server.type).toBe('http');
  expect(server.url).toBe(`${HUB_URL}/mcp`);
  expect(server.headers.Authorization).toBe(`Bearer ${token}`);
  const listed = await request.post(server.url, {
    headers: { ...MCP_HEADERS, ...server.headers },
    data: { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_sessions', arguments: {} } },
  });
  expect(listed.status()).toBe(200);
  const text = await listed.text();
  expect(text).toContain(`${HUB_NAME}:agented`);
  expect(text).not.toContain('bystander');

  // The dashboard lists it: control, this session, the note, no token.
  await dash.open();
  const row = page.getByTestId(`grant-${id}`);
  await expect(row).toHaveAttribute('data-state', 'live');
  await expect(row.getByTestId('scope')).toHaveText('control');
  await expect(row.getByTestId('reach')).toHaveText(`${HUB_NAME}:agented`);
  await expect(row).toContainText('pane agent');
  await expect(page.getByTestId('grants')).not.toContainText(token);
});

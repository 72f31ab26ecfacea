// Agents' grants on the dashboard: a grant made with `vtr grant create`
// shows what it reaches, its scope and note (never its token); revoking
// it from the dashboard stops its token at the hub's /mcp at once.
import * as path from 'node:path';
import { expect } from '@playwright/test';
import { HUB_NAME, HUB_URL, RUN_DIR, vtrSync } from './hub';
import { Dashboard, test } from './pages';

const TOOLS_LIST = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };

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

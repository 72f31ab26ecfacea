// Attacks from a page on another origin, in a browser that is signed in to
// the hub: the page may not spawn through gRPC, open the hub's sockets,
// sign the user out, or frame the hub's pages (SECURITY.md).
import { expect, Page } from '@playwright/test';
import * as http from 'node:http';
import * as path from 'node:path';
import { HUB_URL, RUN_DIR, vtrSync } from './hub';
import { Dashboard, test } from './pages';

/** Another site: a real page at another loopback origin. */
const EVIL = 'http://127.0.0.2:4799';

/** A gRPC frame of SpawnRequest{name: "pwned", command: "/bin/sh"}. */
function spawnFrame(): number[] {
  const text = (field: number, s: string) => [(field << 3) | 2, s.length, ...Buffer.from(s)];
  const message = [...text(1, 'pwned'), ...text(2, '/bin/sh')];
  return [0, 0, 0, 0, message.length, ...message];
}

function sessionNames(): string[] {
  const out = vtrSync(['--socket', path.join(RUN_DIR, 'hub.sock'), '--json', 'ls']);
  return JSON.parse(out.toString()).map((s: { name: string }) => s.name);
}

/** Serves the other site's page from a real loopback server (a page the
 * browser knows to be on loopback: the browser's own local-network
 * checks then leave the requests to the hub, which must refuse them). */
async function evilSite(): Promise<http.Server> {
  const server = http.createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>evil</title><iframe id="victim" src="${HUB_URL}/"></iframe>`);
  });
  await new Promise<void>((resolve) => server.listen(4799, '127.0.0.2', resolve));
  return server;
}

test('a page on another origin cannot drive, sign out or frame the hub', async ({ page }) => {
  const site = await evilSite();
  try {
    await attack(page);
  } finally {
    site.close();
  }
});

async function attack(page: Page) {
  await page.goto(`${EVIL}/`);

  const outcome = await page.evaluate(async ({ hub, frame }) => {
    const body = new Uint8Array(frame);
    const tried: Record<string, string> = {};
    // V1: a "simple" cross-site POST needs no preflight.
    await fetch(`${hub}/vtr.v1.Vtr/Spawn`, { method: 'POST', mode: 'no-cors', body, headers: { 'content-type': 'text/plain' } })
      .then(() => { tried.fetch = 'sent'; }, (e) => { tried.fetch = String(e); });
    // The browser's own gRPC-Web style attempt is stopped by CORS before it is sent.
    await fetch(`${hub}/vtr.v1.Vtr/Spawn`, { method: 'POST', body, headers: { 'content-type': 'application/grpc' } })
      .then(() => { tried.cors = 'answered'; }, () => { tried.cors = 'blocked'; });
    tried.socket = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`${hub.replace('http', 'ws')}/ws/dashboard`);
      ws.onopen = () => resolve('open');
      ws.onerror = () => resolve('refused');
    });
    // Logout CSRF: a form post from this site.
    await fetch(`${hub}/logout`, { method: 'POST', mode: 'no-cors' })
      .then(() => { tried.logout = 'sent'; }, (e) => { tried.logout = String(e); });
    return tried;
  }, { hub: HUB_URL, frame: spawnFrame() });

  expect(outcome.fetch).toBe('sent');
  expect(outcome.cors).toBe('blocked');
  expect(outcome.socket).toBe('refused');
  expect(sessionNames()).not.toContain('pwned');

  // The hub refused to be framed: the frame shows the browser's error page.
  const victim = page.frames().find((f) => f !== page.mainFrame());
  expect(victim).toBeDefined();
  await expect.poll(() => victim!.url()).not.toBe(`${HUB_URL}/`);

  // Still signed in: the cross-site logout did nothing.
  const dash = new Dashboard(page);
  await dash.open(HUB_URL);
}

// A session that rings, notifies, finishes or exits: the dashboard badges
// its card, lists it among the recent notices and, once allowed, shows a
// browser notification; a muted session tells nothing.
import { expect } from '@playwright/test';
import { HUB_NAME } from './hub';
import { Dashboard, Pane, test } from './pages';

test('a notification from a program badges its card, is listed and shown by the browser; muted, nothing', async ({ page, context }) => {
  await context.grantPermissions(['notifications']);
  // Records what the page asks the browser to show.
  await context.addInitScript(() => {
    const Real = window.Notification;
    (window as any).shown = [];
    (window as any).Notification = class extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        (window as any).shown.push(`${title} | ${options?.body ?? ''}`);
      }
    };
  });
  const dash = new Dashboard(page);
  await dash.open();
  await expect(page.getByTestId('notify')).toHaveText('notifications on');
  // A name of its own: the test can run again on the same hub.
  const name = `notifier-${Date.now().toString(36)}`;
  // Each line typed comes back as an OSC 9 notification.
  await dash.spawn(name, "while read x; do printf '\\033]9;%s\\a' \"$x\"; done");
  const card = dash.session(`${HUB_NAME}:${name}`);
  await expect(card).toBeVisible();

  const other = await context.newPage();
  const pane = new Pane(other);
  await pane.open(`${HUB_NAME}:${name}`);
  await pane.type('deploy done\r');

  await expect(card.getByTestId('unseen')).toHaveText('1');
  const events = page.getByTestId('event');
  await expect(events.first()).toContainText(`${HUB_NAME}:${name} attention: deploy done`);
  await expect.poll(() => page.evaluate(() => (window as any).shown)).toContain(`${HUB_NAME}:${name} | deploy done`);

  // Muted: the next one is not told; unmuted again, the one after is.
  await card.getByTestId('mute').click();
  await expect(card.getByTestId('mute')).toHaveText('unmute');
  await expect(card.getByTestId('unseen')).toHaveCount(0);
  await pane.type('while muted\r');
  // The dashboard has heard of it (muted) before it unmutes.
  await expect(card).toHaveAttribute('data-attention', '2');
  await card.getByTestId('mute').click();
  await pane.type('heard again\r');
  await expect(events.first()).toContainText('heard again');
  const texts = await events.allTextContents();
  expect(texts.join('\n')).not.toContain('while muted');
  expect(await page.evaluate(() => (window as any).shown)).not.toContain(`${HUB_NAME}:${name} | while muted`);

  // Opening the session clears its badge.
  await expect(card.getByTestId('unseen')).toHaveText('1');
  await card.getByTestId('open').click();
  await expect(page).toHaveURL(new RegExp(`/s/${HUB_NAME}:${name}$`));
});

test('an exit is a notice too', async ({ page }) => {
  const dash = new Dashboard(page);
  await dash.open();
  const name = `short-lived-${Date.now().toString(36)}`;
  await dash.spawn(name, 'sleep 1; exit 4');
  await expect(page.getByTestId('event').filter({ hasText: `${HUB_NAME}:${name}` }).first())
    .toContainText('exited: exited with code 4');
});

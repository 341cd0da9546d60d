// The README's screenshots of the console, taken from a running server (usually the demo data of `npm start`):
//   npm run screenshots -- --url http://localhost:8080 --token fg_...
// writes docs/screenshots/inbox.png and docs/screenshots/decision.png at 1280x800 with Debian's Chromium.
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://localhost:8080' },
    token: { type: 'string' },
    out: { type: 'string', default: fileURLToPath(new URL('../docs/screenshots', import.meta.url)) },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
if (!values.token) {
  process.stderr.write(
    'Usage: npm run screenshots -- --url http://localhost:8080 --token fg_... (a reviewer)\n',
  );
  process.exit(2);
}

mkdirSync(values.out, { recursive: true });
const browser = await chromium.launch({
  executablePath: values.chromium,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(values.url);
  await page.getByLabel('API token').fill(values.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('tbody tr[data-decision-id]').first().waitFor();
  // Something to look at: the second proposal active, the first selected.
  await page.keyboard.press('x');
  await page.keyboard.press('j');
  await page.mouse.move(0, 0);
  await page.screenshot({ path: `${values.out}/inbox.png` });

  const id = await page.locator('tbody tr[aria-current="true"]').getAttribute('data-decision-id');
  await page.goto(`${values.url}/decisions/${id}`);
  await page.locator('.trail-step').first().waitFor();
  await page.locator('.factors-chart svg').first().waitFor();
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${values.out}/decision.png` });
  // The lower half: contact, activity, reviews, execution and the trail.
  await page.getByRole('heading', { name: 'Contact', level: 2 }).scrollIntoViewIfNeeded();
  await page.evaluate(() => window.scrollBy(0, -80));
  await page.screenshot({ path: `${values.out}/decision-context.png` });
  process.stdout.write(`Wrote inbox.png, decision.png and decision-context.png to ${values.out}\n`);
} finally {
  await browser.close();
}

// The console's events page in Debian's Chromium with playwright-core: sign in, open /events,
// say when the live feed is up, then (after a line on standard input: an event was posted)
// wait for its row and say how long it took and what the row shows.
//   CONSOLE_PASSWORD=... node tests/browser/console_events.mjs BASE_URL USERNAME TYPE
import readline from "node:readline";
import { launchChromium } from "./chromium.mjs";

const [base, username, type] = process.argv.slice(2);
const say = (line) => console.log(JSON.stringify(line));
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const browser = await launchChromium();
const dialogs = [];
try {
  const page = await browser.newPage();
  page.on("dialog", (dialog) => { dialogs.push(dialog.message()); void dialog.dismiss(); });
  await page.goto(`${base}/events`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(process.env.CONSOLE_PASSWORD || "");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForSelector(".feed-live", { timeout: 30000 });
  say({ step: "live" });
  await lines.next();
  const postedAt = Date.now();
  const row = page.locator('[data-testid="event"]', { hasText: type }).first();
  await row.waitFor({ timeout: 10000 });
  say({ step: "shown", ms: Date.now() - postedAt, text: await row.innerText(), dialogs,
        images: await row.locator("img").evaluateAll((found) => found.map((img) => img.src)) });
} catch (error) {
  say({ step: "error", error: String(error), dialogs });
  process.exitCode = 1;
} finally {
  await browser.close();
  process.exit();
}

// Open the web player with a key in Debian's Chromium (playwright-core) and wait for its
// camera list; print one JSON line: how many cameras it listed, and when the list was
// rendered, in ms since the navigation started.
//   node tests/browser/dashboard.mjs PAGE_URL KEY
import { launchChromium } from "./chromium.mjs";

const [pageUrl, key] = process.argv.slice(2);
const browser = await launchChromium();
const result = {};
try {
  const page = await browser.newPage();
  await page.goto(`${pageUrl}#key=${encodeURIComponent(key)}`);
  await page.waitForFunction(() => window.sparcPlayer && window.sparcPlayer.cameras !== null,
    null, { timeout: 30000 });
  Object.assign(result, await page.evaluate(() => ({
    cameras: window.sparcPlayer.cameras,
    buttons: document.querySelectorAll("#cameras button").length,
    listedAtMs: window.sparcPlayer.listedAtMs,
    loadedAtMs: performance.getEntriesByType("navigation")[0].loadEventEnd,
  })));
} catch (error) {
  result.failure = String(error);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));

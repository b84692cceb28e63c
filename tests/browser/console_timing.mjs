// The console's wall, timed, in Debian's Chromium with playwright-core (bench/console_bench.py):
//   CONSOLE_PASSWORD=... node tests/browser/console_timing.mjs BASE_URL USERNAME SITE_ID TILES HOLD_S
// 1. sign in through the form on /wall: ms from the click until every tile plays live video;
// 2. hold the wall HOLD_S seconds (the bench measures the edge's and the browser's CPU), saying
//    {"step": "holding"} first;
// 3. a second visit in a new tab: ms from navigation until every tile shows its still picture
//    (the first paint an operator sees), and whether the page came from the service worker.
// Prints one JSON line per step.
import { launchChromium, AUTOPLAY } from "./chromium.mjs";

const [base, username, site, tiles, holdS] = process.argv.slice(2);
const count = Number(tiles);
const say = (line) => console.log(JSON.stringify(line));
const browser = await launchChromium([
  AUTOPLAY, "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
]);
const wall = `${base}/wall?site=${site}&layout=${count}`;
const everyTile = (page, test) => page.waitForFunction(([wanted, source]) => {
  const check = new Function("tile", source);
  const found = [...document.querySelectorAll('[data-testid="tile"]')];
  return found.length === wanted && found.every((tile) => check(tile));
}, [count, test], { timeout: 60000 });
try {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  await page.goto(wall);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(process.env.CONSOLE_PASSWORD || "");
  const clicked = Date.now();
  await page.getByRole("button", { name: "Sign in" }).click();
  await everyTile(page, 'return tile.dataset.state === "webrtc";');
  say({ step: "live", ms: Date.now() - clicked });
  say({ step: "holding" });
  await page.waitForTimeout(Number(holdS) * 1000);
  await page.evaluate(() => navigator.serviceWorker.ready);
  const second = await context.newPage();
  const opened = Date.now();
  const response = await second.goto(wall);
  await everyTile(second, 'const img = tile.querySelector("img"); ' +
    'return tile.dataset.state === "webrtc" || (img && img.complete && img.naturalWidth > 0);');
  const stillsMs = Date.now() - opened;
  const paints = await second.evaluate(() => performance.getEntriesByType("paint")
    .map((entry) => [entry.name, Math.round(entry.startTime)]));
  say({ step: "second visit", ms: stillsMs, paints,
        fromServiceWorker: response ? response.fromServiceWorker() : null });
} catch (error) {
  say({ step: "error", error: String(error) });
  process.exitCode = 1;
} finally {
  await browser.close();
}

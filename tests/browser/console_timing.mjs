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
// `pictured`: live video or the still picture; else live video only (no eval: the page's
// Content-Security-Policy forbids it).
const everyTile = (page, pictured) => page.waitForFunction(([wanted, orStill]) => {
  const shows = (tile) => {
    if (tile.dataset.state === "webrtc") return true;
    const img = tile.querySelector("img");
    return orStill && img !== null && img.complete && img.naturalWidth > 0;
  };
  const found = [...document.querySelectorAll('[data-testid="tile"]')];
  return found.length === wanted && found.every(shows);
}, [count, pictured], { timeout: 60000 });
try {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  await page.goto(wall);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(process.env.CONSOLE_PASSWORD || "");
  const clicked = Date.now();
  await page.getByRole("button", { name: "Sign in" }).click();
  await everyTile(page, false);
  say({ step: "live", ms: Date.now() - clicked });
  say({ step: "holding" });
  await page.waitForTimeout(Number(holdS) * 1000);
  await page.evaluate(() => Promise.race([navigator.serviceWorker.ready,
    new Promise((resolve) => setTimeout(resolve, 5000))]));
  const second = await context.newPage();
  const opened = Date.now();
  const response = await second.goto(wall);
  await everyTile(second, true);
  const stillsMs = Date.now() - opened;
  const paints = await second.evaluate(() => performance.getEntriesByType("paint")
    .map((entry) => [entry.name, Math.round(entry.startTime)]));
  say({ step: "second visit", ms: stillsMs, paints,
        fromServiceWorker: response ? response.fromServiceWorker() : null });
} catch (error) {
  const states = [];
  for (const context of browser.contexts()) {
    for (const open of context.pages()) {
      states.push(await open.evaluate(() => [location.href, document.body.innerText.slice(0, 300),
        ...[...document.querySelectorAll('[data-testid="tile"]')].map((tile) => tile.dataset.state)])
        .catch(() => null));
    }
  }
  say({ step: "error", error: String(error), states });
  process.exitCode = 1;
} finally {
  await browser.close();
}

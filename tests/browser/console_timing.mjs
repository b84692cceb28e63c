// The console's wall, timed, in Debian's Chromium with playwright-core (bench/console_bench.py):
//   CONSOLE_PASSWORD=... node tests/browser/console_timing.mjs BASE_URL USERNAME SITE_ID TILES HOLD_S
// 1. sign in through the form on /wall: ms from the click until every tile plays live video;
// 2. hold the wall HOLD_S seconds (the bench measures the edge's and the browser's CPU), saying
//    {"step": "holding"} first;
// 3. a second visit in a new tab: ms from navigation until every tile shows its still picture
//    (the first paint an operator sees), and whether the page came from the service worker.
// Prints one JSON line per step; the first says where the time from the click went (ms after
// it: the sign-in answer, the wall's camera list, the playback answers, the edge's WHEP answers,
// each tile's first live frame).
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
  window.liveAt ??= {}; // each tile's first live look, in the page's clock
  const shows = (tile) => {
    if (tile.dataset.state === "webrtc") {
      window.liveAt[tile.dataset.cameraId] ??= performance.now();
      return true;
    }
    const img = tile.querySelector("img");
    return orStill && img !== null && img.complete && img.naturalWidth > 0;
  };
  const found = [...document.querySelectorAll('[data-testid="tile"]')];
  return found.length === wanted && found.every(shows);
}, [count, pictured], { timeout: 60000 });
// In the page: when each kind of request started and ended, and when tiles went live (ms after
// the click; first and last of each kind).
function breakdown(clickedAt) {
  const after = (at) => Math.round(at - clickedAt);
  const kinds = { session: /\/api\/session$/, cameras: /\/api\/cameras\?/, playback: /\/playback/,
                  whep: /\/whep\//, still: /still\.jpg/, script: /\/assets\/.*\.js$/ };
  const found = {};
  for (const entry of performance.getEntriesByType("resource")) {
    if (entry.startTime < clickedAt) continue;
    for (const [kind, pattern] of Object.entries(kinds)) {
      if (!pattern.test(entry.name)) continue;
      const seen = found[kind] ??= { count: 0, firstStart: Infinity, lastStart: 0, firstEnd: Infinity, lastEnd: 0 };
      seen.count += 1;
      seen.firstStart = Math.min(seen.firstStart, after(entry.startTime));
      seen.lastStart = Math.max(seen.lastStart, after(entry.startTime));
      seen.firstEnd = Math.min(seen.firstEnd, after(entry.responseEnd));
      seen.lastEnd = Math.max(seen.lastEnd, after(entry.responseEnd));
    }
  }
  const live = Object.values(window.liveAt ?? {}).map(after).sort((a, b) => a - b);
  found.live = { count: live.length, first: live[0], median: live[Math.floor(live.length / 2)], last: live.at(-1) };
  return found;
}

try {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  await page.goto(wall);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(process.env.CONSOLE_PASSWORD || "");
  const clickedAt = await page.evaluate(() => performance.now());
  const clicked = Date.now();
  await page.getByRole("button", { name: "Sign in" }).click();
  await everyTile(page, false);
  const ms = Date.now() - clicked;
  say({ step: "live", ms, breakdown: await page.evaluate(breakdown, clickedAt) });
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

// The console in Debian's Chromium with playwright-core, as an operator uses it: open the wall,
// be sent to sign in, sign in through the form, and wait for every tile to play live video
// over WebRTC; then hide the tab (every stream stops), and show it again (they come back).
//   CONSOLE_PASSWORD=... node tests/browser/console_wall.mjs BASE_URL USERNAME SITE_ID TILES
// Prints JSON lines: {"step": "playing", ...}, then {"step": "hidden"} and waits for a line on
// standard input before showing the tab again, then {"step": "shown", ...} and waits for
// another before closing it; errors say so.
import readline from "node:readline";
import { AUTOPLAY, launchChromium } from "./chromium.mjs";

const [base, username, site, tiles] = process.argv.slice(2);
const count = Number(tiles);
const say = (line) => console.log(JSON.stringify(line));
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const browser = await launchChromium([
  AUTOPLAY, "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
]);
const violations = [];
const dialogs = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("dialog", (dialog) => { dialogs.push(dialog.message()); void dialog.dismiss(); });
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) violations.push(message.text());
  });
  const first = await page.goto(`${base}/wall?site=${site}&layout=${count}`);
  const policy = first.headers()["content-security-policy"] || "";
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(process.env.CONSOLE_PASSWORD || "");
  const signedAt = Date.now();
  await page.getByRole("button", { name: "Sign in" }).click();
  const allPlaying = (n) => page.waitForFunction((wanted) => {
    const found = [...document.querySelectorAll('[data-testid="tile"]')];
    return found.length === wanted && found.every((tile) => tile.dataset.state === "webrtc");
  }, n, { timeout: 45000 });
  await allPlaying(count);
  const playingMs = Date.now() - signedAt;
  const advanced = await page.evaluate(async () => {
    const videos = [...document.querySelectorAll('[data-testid="tile"] video')];
    const before = videos.map((video) => video.currentTime);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    return videos.map((video, index) => video.currentTime - before[index]);
  });
  const sizes = await page.evaluate(() => [...document.querySelectorAll('[data-testid="tile"] video')]
    .map((video) => [video.videoWidth, video.videoHeight]));
  const stored = await page.evaluate(() => localStorage.length + sessionStorage.length);
  const names = await page.evaluate(() => [...document.querySelectorAll(".tile-name")]
    .map((name) => name.textContent));
  const cookies = (await context.cookies()).map(({ name, httpOnly, sameSite, secure }) =>
    ({ name, httpOnly, sameSite, secure }));
  say({ step: "playing", url: page.url(), playingMs, advanced, sizes, stored, cookies, policy,
        names, dialogs });

  const setHidden = (hidden) => page.evaluate((value) => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => value });
    Object.defineProperty(document, "visibilityState", { configurable: true,
      get: () => (value ? "hidden" : "visible") });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
  await setHidden(true);
  say({ step: "hidden" });
  await lines.next();
  await setHidden(false);
  await allPlaying(count);
  // A second visit: the app shell from the service worker (registered on the first).
  const ready = await page.evaluate(() => Promise.race([
    navigator.serviceWorker.ready.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 10000))]));
  const again = await context.newPage();
  const second = await again.goto(`${base}/wall?site=${site}&layout=${count}`);
  const fromServiceWorker = ready && second.fromServiceWorker();
  await again.close();
  say({ step: "shown", violations, fromServiceWorker });
  await lines.next(); // the test has counted the streams: the page may go
  await page.close({ runBeforeUnload: true });
} catch (error) {
  say({ step: "error", error: String(error), violations });
  process.exitCode = 1;
} finally {
  await browser.close();
  process.exit();
}

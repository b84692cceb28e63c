// Drive the web player's recorded playback in Debian's Chromium with playwright-core: open
// the page with a key, a camera and a time (`#at=`), wait for `playing`, read the wall-clock
// time of the first frame shown (from PROGRAM-DATE-TIME), then watch it advance.
//   node tests/browser/play_recording.mjs PAGE_URL KEY CAMERA_ID AT_ISO WATCH_SECONDS
import { AUTOPLAY, launchChromium } from "./chromium.mjs";

const [pageUrl, key, camera, at, watchSeconds] = process.argv.slice(2);
const browser = await launchChromium([AUTOPLAY]);
const result = { playing: false, advanced: 0, wallClockAtStart: null, errors: [], console: [] };
try {
  const page = await browser.newPage();
  page.on("console", (message) => result.console.push(message.text()));
  const fragment = `#key=${encodeURIComponent(key)}&camera=${camera}&at=${encodeURIComponent(at)}`;
  await page.goto(`${pageUrl}${fragment}`);
  await page.waitForFunction(
    () => window.sparcPlayer && window.sparcPlayer.state === "playing" &&
          window.sparcPlayer.wallClockAtStart !== null && window.sparcPlayer.spans !== null,
    null, { timeout: 60000 });
  result.playing = true;
  const start = await page.evaluate(() => document.getElementById("video").currentTime);
  await page.waitForTimeout(Number(watchSeconds) * 1000);
  const end = await page.evaluate(() => document.getElementById("video").currentTime);
  const player = await page.evaluate(() => window.sparcPlayer);
  Object.assign(result, { advanced: end - start, wallClockAtStart: player.wallClockAtStart,
                          wallClock: player.wallClock, mode: player.mode, spans: player.spans,
                          errors: player.errors, state: player.state });
} catch (error) {
  result.failure = String(error);
  try {
    result.player = await browser.contexts()[0]?.pages()[0]?.evaluate(() => window.sparcPlayer);
  } catch {}
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));

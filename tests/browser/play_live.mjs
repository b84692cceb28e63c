// Drive the web player in Debian's Chromium with playwright-core: open the page with a key
// and a camera, wait for `playing`, then watch the video advance. Prints one JSON line.
//   node tests/browser/play_live.mjs PAGE_URL KEY CAMERA_ID WATCH_SECONDS [samples]
// `samples`: also the video's time and the player's state each second while watching
// (`at`: the wall clock, ms).
import { AUTOPLAY, launchChromium } from "./chromium.mjs";

const [pageUrl, key, camera, watchSeconds, sampling] = process.argv.slice(2);
const browser = await launchChromium([AUTOPLAY]);
const result = { playing: false, advanced: 0, rung: null, cdn: null, errors: [], console: [],
                 samples: [] };
try {
  const page = await browser.newPage();
  page.on("console", (message) => result.console.push(message.text()));
  await page.goto(`${pageUrl}#key=${encodeURIComponent(key)}&camera=${camera}`);
  await page.waitForFunction(() => window.sparcPlayer && window.sparcPlayer.state === "playing",
    null, { timeout: 60000 });
  result.playing = true;
  result.address = await page.evaluate(() => location.href); // the key read, then removed
  const start = await page.evaluate(() => document.getElementById("video").currentTime);
  if (sampling === "samples") {
    const until = Date.now() + Number(watchSeconds) * 1000;
    while (Date.now() < until) {
      result.samples.push(await page.evaluate(() => ({
        at: Date.now(), time: document.getElementById("video").currentTime,
        state: window.sparcPlayer.state })));
      await page.waitForTimeout(1000);
    }
  } else {
    await page.waitForTimeout(Number(watchSeconds) * 1000);
  }
  const end = await page.evaluate(() => document.getElementById("video").currentTime);
  const player = await page.evaluate(() => window.sparcPlayer);
  Object.assign(result, { advanced: end - start, rung: player.rung, cdn: player.cdn,
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

// Open a media file in Debian's Chromium (its own media document), play it and watch it
// advance. Prints one JSON line.
//   node tests/browser/play_file.mjs FILE WATCH_SECONDS
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const playerDir = process.env.SPARC_PLAYER_DIR || path.resolve("video_service/player");
const require = createRequire(path.join(playerDir, "package.json"));
const { chromium } = require("playwright-core");

const [file, watchSeconds] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--autoplay-policy=no-user-gesture-required"],
});
const result = { playing: false, advanced: 0 };
try {
  const page = await browser.newPage();
  await page.goto(pathToFileURL(path.resolve(file)).href);
  await page.waitForFunction(() => document.querySelector("video"), null, { timeout: 20000 });
  await page.evaluate(() => { const v = document.querySelector("video"); v.muted = true; return v.play(); });
  await page.waitForFunction(() => document.querySelector("video").currentTime > 0, null, { timeout: 20000 });
  result.playing = true;
  const start = await page.evaluate(() => document.querySelector("video").currentTime);
  await page.waitForTimeout(Number(watchSeconds) * 1000);
  const video = await page.evaluate(() => {
    const v = document.querySelector("video");
    return { time: v.currentTime, duration: v.duration, width: v.videoWidth, error: v.error && v.error.message };
  });
  Object.assign(result, { advanced: video.time - start, duration: video.duration,
                          width: video.width, error: video.error });
} catch (error) {
  result.failure = String(error);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));

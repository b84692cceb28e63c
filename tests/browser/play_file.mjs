// Open a media file in Debian's Chromium (its own media document), play it and watch it
// advance. Prints one JSON line.
//   node tests/browser/play_file.mjs FILE WATCH_SECONDS
import path from "node:path";
import { pathToFileURL } from "node:url";
import { AUTOPLAY, launchChromium } from "./chromium.mjs";

const [file, watchSeconds] = process.argv.slice(2);
const browser = await launchChromium([AUTOPLAY]);
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

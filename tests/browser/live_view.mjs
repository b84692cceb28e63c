// Live view in the web player, in Debian's Chromium with playwright-core: open the player with
// a key and a camera (#key=&camera=), wait for `playing`, then for WATCH_SECONDS read the wall
// clock the camera drew into each displayed frame (tests/clock_camera.py: 32 blocks) in
// requestVideoFrameCallback and compare it with this machine's clock: glass-to-glass latency.
//   node tests/browser/live_view.mjs PAGE_URL KEY CAMERA_ID WATCH_SECONDS [FRAGMENT_EXTRA]
// Prints one JSON line: the player's state, the transport, time to first frame, latencies (ms).
import { AUTOPLAY, launchChromium } from "./chromium.mjs";

const [pageUrl, key, camera, watchSeconds, extra = ""] = process.argv.slice(2);
// Loopback-only ICE: host candidates on loopback, and real addresses rather than mDNS names.
const browser = await launchChromium([
  AUTOPLAY, "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
]);
const result = { playing: false, errors: [], console: [] };
try {
  const page = await browser.newPage();
  page.on("console", (message) => result.console.push(message.text()));
  await page.goto(`${pageUrl}#key=${encodeURIComponent(key)}&camera=${camera}${extra}`);
  await page.waitForFunction(() => window.sparcPlayer && window.sparcPlayer.state === "playing",
                             null, { timeout: 30000 });
  result.playing = true;
  Object.assign(result, await page.evaluate(async (seconds) => {
    const video = document.getElementById("video");
    const canvas = document.createElement("canvas");
    canvas.width = 640; canvas.height = 360;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    const latencies = [];
    const unreadable = { count: 0 };
    const read = () => { // the clock's 32 blocks (40 px, 2 rows of 16 from y=100), MSB first
      context.drawImage(video, 0, 0, 640, 360);
      const pixels = context.getImageData(0, 0, 640, 360).data;
      let value = 0;
      for (let bit = 0; bit < 32; bit++) {
        const x = (bit % 16) * 40 + 20, y = 100 + Math.floor(bit / 16) * 40 + 20;
        const luma = pixels[(y * 640 + x) * 4];
        if (luma > 60 && luma < 190) return null; // not a block: grey, or a frame mid-change
        value = value * 2 + (luma >= 128 ? 1 : 0);
      }
      return value;
    };
    await new Promise((resolve) => {
      const until = performance.now() + seconds * 1000;
      const frame = () => {
        const now = Date.now();
        const drawn = read();
        if (drawn === null) unreadable.count++;
        else latencies.push(((now % 2 ** 32) - drawn + 2 ** 32) % 2 ** 32);
        if (performance.now() < until) video.requestVideoFrameCallback(frame);
        else resolve();
      };
      video.requestVideoFrameCallback(frame);
    });
    const player = window.sparcPlayer;
    return { latencies, unreadable: unreadable.count, transport: player.transport,
             sound: player.sound, hlsSessionEnded: player.hlsSessionEnded, audioCodec: player.audioCodec, audioPackets: player.audioPackets,
             timeToFirstFrameMs: player.timeToFirstFrameMs, state: player.state,
             errors: player.errors, width: video.videoWidth, status: document.getElementById("status").textContent };
  }, Number(watchSeconds)));
  await page.close({ runBeforeUnload: true }); // as a viewer closing the tab: pagehide
} catch (error) {
  result.failure = String(error);
  try {
    result.player = await browser.contexts()[0]?.pages()[0]?.evaluate(() => window.sparcPlayer);
  } catch {}
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));

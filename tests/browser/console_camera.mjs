// The console's camera page in Debian's Chromium with playwright-core, as an operator uses it:
// open ADDRESS (`/cameras/ID`; `/cameras/ID?at=ISO`, the recording from then; or an old web
// player link), be sent to sign in, sign in through the form, wait for the video to play, then
// watch it for WATCH_SECONDS.
//   CONSOLE_PASSWORD=... node tests/browser/console_camera.mjs BASE USERNAME ADDRESS WATCH_SECONDS [clock|samples]
// clock: read the wall clock that tests/clock_camera.py draws into each frame (32 blocks) in
// requestVideoFrameCallback, against this machine's: glass-to-glass latencies, ms.
// samples: the video's time and the page's state each second (`at`: the wall clock, ms).
// Prints one JSON line: what the page says under the video (`facts`, the recording's `clock`),
// how far the video advanced, the sound the browser received.
import { AUTOPLAY, launchChromium } from "./chromium.mjs";

const [base, username, address, watchSeconds, mode = ""] = process.argv.slice(2);
const VIDEO = ".camera-screen video";
// Loopback-only ICE: host candidates on loopback, and real addresses rather than mDNS names.
const browser = await launchChromium([
  AUTOPLAY, "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
]);
const result = { playing: false, advanced: 0, samples: [], console: [] };

function readClocks(seconds) { // in the page
  const video = document.querySelector(".camera-screen video");
  const canvas = document.createElement("canvas");
  canvas.width = 640; canvas.height = 360;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const latencies = [];
  let unreadable = 0;
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
  return new Promise((resolve) => {
    const until = performance.now() + seconds * 1000;
    const frame = () => {
      const now = Date.now();
      const drawn = read();
      if (drawn === null) unreadable++;
      else latencies.push(((now % 2 ** 32) - drawn + 2 ** 32) % 2 ** 32);
      if (performance.now() < until) video.requestVideoFrameCallback(frame);
      else resolve({ latencies, unreadable });
    };
    video.requestVideoFrameCallback(frame);
  });
}

async function soundReceived() { // in the page: the newest peer connection's inbound audio
  const connection = window.peerConnections.at(-1);
  if (!connection) return null;
  const stats = await connection.getStats();
  for (const report of stats.values()) {
    if (report.type === "inbound-rtp" && report.kind === "audio") {
      return { codec: stats.get(report.codecId)?.mimeType ?? null, packets: report.packetsReceived };
    }
  }
  return null;
}

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // The page's peer connections, kept where the driver can ask them what they received.
  await context.addInitScript(() => {
    const Original = window.RTCPeerConnection;
    window.peerConnections = [];
    window.RTCPeerConnection = class extends Original {
      constructor(...args) {
        super(...args);
        window.peerConnections.push(this);
      }
    };
  });
  const page = await context.newPage();
  page.on("console", (message) => result.console.push(message.text()));
  await page.goto(`${base}${address}`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(process.env.CONSOLE_PASSWORD || "");
  await page.getByRole("button", { name: "Sign in" }).click();
  const recorded = address.includes("at=");
  await page.waitForFunction((wanted) => document.querySelector(wanted) !== null,
    recorded ? '[data-testid="recording-clock"]' : '[data-testid="live-facts"]', { timeout: 60000 });
  result.playing = true;
  result.url = page.url();
  const videoTime = () => page.evaluate((selector) => document.querySelector(selector).currentTime, VIDEO);
  const start = await videoTime();
  if (mode === "clock") {
    Object.assign(result, await page.evaluate(readClocks, Number(watchSeconds)));
  } else if (mode === "samples") {
    const until = Date.now() + Number(watchSeconds) * 1000;
    while (Date.now() < until) {
      result.samples.push(await page.evaluate((selector) => ({
        at: Date.now(), time: document.querySelector(selector)?.currentTime ?? null,
        state: document.querySelector('[data-testid="camera-state"]')?.dataset.state ?? null,
      }), VIDEO));
      await page.waitForTimeout(1000);
    }
  } else {
    await page.waitForTimeout(Number(watchSeconds) * 1000);
  }
  result.advanced = (await videoTime()) - start;
  Object.assign(result, await page.evaluate((selector) => {
    const facts = document.querySelector('[data-testid="live-facts"]');
    const clock = document.querySelector('[data-testid="recording-clock"]');
    return {
      state: document.querySelector('[data-testid="camera-state"]')?.dataset.state ?? null,
      facts: facts && { ...facts.dataset, text: facts.textContent },
      clock: clock && { wallClock: Number(clock.dataset.wallClock),
                        firstWallClock: Number(clock.dataset.firstWallClock) },
      width: document.querySelector(selector)?.videoWidth ?? null,
      spans: document.querySelector("details.spans summary")?.textContent ?? null,
      stored: localStorage.length + sessionStorage.length,
    };
  }, VIDEO));
  result.sound = await page.evaluate(soundReceived);
  await page.close({ runBeforeUnload: true }); // as a viewer closing the tab: pagehide
} catch (error) {
  result.failure = String(error);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));

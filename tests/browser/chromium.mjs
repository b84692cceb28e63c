// Debian's Chromium, headless, through the player's playwright-core (which never downloads a
// browser of its own): the one launch every browser driver here shares.
import { createRequire } from "node:module";
import path from "node:path";

const playerDir = process.env.SPARC_PLAYER_DIR || path.resolve("video_service/player");
const require = createRequire(path.join(playerDir, "package.json"));
const { chromium } = require("playwright-core");

export const AUTOPLAY = "--autoplay-policy=no-user-gesture-required";

export function launchChromium(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", ...extraArgs,
    ],
  });
}

// Debian's Chromium, headless, through playwright-core (this folder's package.json; it never
// downloads a browser of its own): the one launch every browser driver here shares.
import { chromium } from "playwright-core";

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

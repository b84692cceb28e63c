// The console's service worker across a deploy, in Debian's Chromium with playwright-core:
// open the sign-in page twice (the second time through the worker, which keeps the assets),
// say what the worker's cache holds, wait for a line on standard input (the test deploys a
// new build meanwhile), open the page again (the kept shell answers and the new one is fetched
// behind it), say what the cache holds once the new shell is kept, and open the page once more.
//   node tests/browser/console_shell.mjs BASE_URL
// Prints JSON lines: {"step": "kept", "assets": [...]}, then {"step": "deployed", "pruned": [...]}.
import readline from "node:readline";
import { launchChromium } from "./chromium.mjs";

const [base] = process.argv.slice(2);
const say = (line) => console.log(JSON.stringify(line));
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const browser = await launchChromium();
const cached = (page) => page.evaluate(async () => {
  const names = await caches.keys();
  const found = [];
  for (const name of names) {
    for (const request of await (await caches.open(name)).keys()) found.push(new URL(request.url).pathname);
  }
  return found.sort();
});
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/sign-in`);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload(); // now through the worker: the assets are kept
  await page.getByLabel("Username").waitFor();
  say({ step: "kept", assets: await cached(page) });
  await lines.next();
  await page.reload(); // the kept shell at once; the deployed one fetched behind it
  await page.waitForFunction(async () => {
    const shell = await (await caches.open("sparc-console-shell-v2")).match("/index.html");
    return shell !== undefined && (await shell.text()).includes("deployed-");
  }, null, { timeout: 15000, polling: 200 });
  const pruned = await cached(page);
  await page.reload(); // the deployed shell: the page opens as before
  await page.getByLabel("Username").waitFor();
  say({ step: "deployed", pruned });
} catch (error) {
  say({ step: "error", error: String(error) });
  process.exitCode = 1;
} finally {
  await browser.close();
  process.exit();
}

// The console's administration in Debian's Chromium with playwright-core, as an admin uses
// it: sign in, add a push camera to a site (its publish URL and password shown once), try a
// pull camera on a refused address (the refusal shown next to its field); then axe-core on
// every page (serious and critical violations only).
//   CONSOLE_PASSWORD=... node tests/browser/console_admin.mjs BASE_URL USERNAME SITE_ID CAMERA_ID
// Prints one JSON line.
import { AxeBuilder } from "@axe-core/playwright";
import { launchChromium } from "./chromium.mjs";

const [base, username, site, camera] = process.argv.slice(2);
const result = {};
const browser = await launchChromium();
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/admin`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(process.env.CONSOLE_PASSWORD || "");
  await page.getByRole("button", { name: "Sign in" }).click();
  const cameras = page.getByTestId("admin-section-cameras");
  await cameras.waitFor({ timeout: 20000 });
  await cameras.getByLabel("Site").selectOption(site);
  const form = cameras.getByRole("form", { name: "Add a camera" });
  await form.getByLabel("Name").fill("Loading bay");
  await form.getByRole("button", { name: "Add camera" }).click();
  const secret = page.getByTestId("created-secret");
  await secret.waitFor({ timeout: 10000 });
  result.secret = Object.fromEntries(await secret.locator("dl > div").evaluateAll((rows) =>
    rows.map((row) => [row.querySelector("dt").textContent, row.querySelector("dd").textContent])));
  await secret.getByRole("button", { name: "Done" }).click();

  await form.getByLabel("Name").fill("Metadata thief");
  await form.getByRole("radio", { name: /Pull/ }).check();
  await form.getByLabel("Source URL", { exact: true }).fill("rtsp://169.254.169.254/latest");
  await form.getByRole("button", { name: "Add camera" }).click();
  const field = form.locator(".field", { has: page.getByLabel("Source URL", { exact: true }) });
  await field.locator(".field-error").waitFor({ timeout: 10000 });
  result.refusal = await field.locator(".field-error").innerText();

  result.axe = {};
  for (const route of ["/admin", "/wall", `/cameras/${camera}`, "/events", "/ops"]) {
    await page.goto(`${base}${route}`);
    await page.locator("main h1").first().waitFor({ timeout: 15000 });
    await page.waitForLoadState("networkidle").catch(() => {});
    const found = await new AxeBuilder({ page }).analyze();
    result.axe[route] = found.violations
      .filter((violation) => ["serious", "critical"].includes(violation.impact))
      .map((violation) => `${violation.id}: ${violation.help}`);
  }
  await page.goto(`${base}/wall`);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Username").waitFor({ timeout: 10000 });
  const signIn = await new AxeBuilder({ page }).analyze();
  result.axe["/sign-in"] = signIn.violations
    .filter((violation) => ["serious", "critical"].includes(violation.impact))
    .map((violation) => `${violation.id}: ${violation.help}`);
} catch (error) {
  result.error = String(error);
  process.exitCode = 1;
} finally {
  console.log(JSON.stringify(result));
  await browser.close();
}

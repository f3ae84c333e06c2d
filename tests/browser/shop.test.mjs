// The shop page in a real browser (headless Chromium): a customer signs in, picks two seats on
// the seat map, pays with the provider's card element (the local Stripe stand-in's), and sees
// a pass with its QR code for each seat. Saves a screenshot.
//
// Environment: BASE_URL (e.g. http://127.0.0.1:9100), SHOP_USERNAME, SHOP_PASSWORD (a customer),
// SHOP_SCREENING (the id of a screening with free seats whose online sales are open),
// STRIPE_ORIGIN (the stand-in, e.g. http://127.0.0.1:8420), SCREENSHOT, CHROMIUM.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

const base = process.env.BASE_URL ?? "http://127.0.0.1:9000";
const stripeOrigin = process.env.STRIPE_ORIGIN ?? "http://127.0.0.1:8420";
const { SHOP_USERNAME: username, SHOP_PASSWORD: password, SHOP_SCREENING: screening } = process.env;
const screenshot = process.env.SCREENSHOT ?? "target/browser/shop.png";
if (!username || !password || !screening) throw new Error("SHOP_USERNAME, SHOP_PASSWORD and SHOP_SCREENING are required");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const failures = [];
let page;
try {
  page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
  const elsewhere = [];
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(base) && !url.startsWith(stripeOrigin)) elsewhere.push(url);
  });
  page.on("pageerror", (error) => failures.push(`page error: ${error.message}`));
  page.on("dialog", (dialog) => dialog.accept());

  await page.goto(`${base}/docs/shop`, { timeout: 60000 });
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#screening").waitFor({ timeout: 30000 });
  await page.locator(`#screening option[value="${screening}"]`).waitFor({ state: "attached", timeout: 30000 });
  await page.selectOption("#screening", screening);
  const free = page.locator(".seat:not([disabled])");
  await free.first().waitFor({ timeout: 30000 });
  console.log(`ok   the seat map shows ${await free.count()} free seats`);
  await free.nth(0).click();
  await free.nth(1).click();
  const selected = await page.locator("#selected").innerText();
  if (!/row \d+ seat \d+, row \d+ seat \d+/.test(selected)) throw new Error(`two seats selected, not: ${selected}`);
  await page.getByRole("button", { name: "Pay by card" }).click();

  // The provider's card element: the stand-in renders its fields inside #card.
  const card = page.locator("#card");
  await card.locator('input[placeholder="number"]').waitFor({ timeout: 30000 });
  const amount = await page.locator("#amount").innerText();
  console.log(`ok   checkout for ${amount}`);
  await card.locator('input[placeholder="number"]').fill("4242424242424242");
  await card.locator('input[placeholder="exp_month"]').fill("12");
  await card.locator('input[placeholder="exp_year"]').fill("34");
  await card.locator('input[placeholder="cvc"]').fill("123");
  await card.locator('input[placeholder="postal_code"]').fill("10115");
  await page.getByRole("button", { name: "Pay", exact: true }).click();

  const passes = page.locator("#pass-list .pass");
  await passes.nth(1).waitFor({ timeout: 60000 });
  const count = await passes.count();
  if (count !== 2) throw new Error(`${count} passes shown, not 2`);
  const codes = await page.locator("#pass-list code").allInnerTexts();
  if (!codes.every((code) => /^[A-Za-z0-9_-]{22}$/.test(code))) throw new Error(`pass codes: ${codes}`);
  // Each QR code is an image the browser could draw.
  await page.waitForFunction(() => [...document.querySelectorAll("#pass-list img")]
    .every((img) => img.complete && img.naturalWidth > 0), null, { timeout: 30000 });
  console.log(`ok   paid by card: ${count} passes with their QR codes (${codes.join(", ")})`);
  if (elsewhere.length) throw new Error(`requests outside the API and the provider: ${elsewhere.join(", ")}`);
  if (failures.length) throw new Error(failures.join("; "));
} catch (error) {
  const text = page ? await page.locator("body").innerText().catch(() => "") : "";
  console.log(`FAIL the shop page: ${error.message}\nthe page says:\n${text.slice(0, 1500)}`);
  process.exitCode = 1;
} finally {
  if (page) {
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
  }
  await browser.close();
}

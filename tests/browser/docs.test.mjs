// Swagger UI in a real browser (headless Chromium): open /docs, Authorize with a username and
// password (OAuth2 password flow against POST /auth/login), then "Try it out" on
// GET /users/me and see a 200 with the signed-in user. Saves a screenshot.
//
// Environment: BASE_URL (e.g. http://127.0.0.1:9100), DOCS_USERNAME, DOCS_PASSWORD,
// SCREENSHOT (a .png path), CHROMIUM (default /usr/bin/chromium).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

const base = process.env.BASE_URL ?? "http://127.0.0.1:9000";
const username = process.env.DOCS_USERNAME;
const password = process.env.DOCS_PASSWORD;
const screenshot = process.env.SCREENSHOT ?? "target/browser/swagger-ui.png";
if (!username || !password) throw new Error("DOCS_USERNAME and DOCS_PASSWORD are required");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const failures = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
  const outside = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(base)) outside.push(request.url());
  });
  page.on("pageerror", (error) => failures.push(`page error: ${error.message}`));
  // What the page did, printed if Swagger UI does not come up.
  const events = [];
  const started = Date.now();
  const note = (text) => events.push(`${((Date.now() - started) / 1000).toFixed(1)} s ${text}`);
  page.on("console", (message) => note(`console ${message.type()}: ${message.text()}`));
  page.on("requestfailed", (request) => note(`failed ${request.url()}: ${request.failure()?.errorText}`));
  page.on("response", (response) => note(`${response.status()} ${response.url()}`));
  page.on("crash", () => note("the page crashed"));

  // Swagger UI's bundle is served by a debug build here: on a loaded machine the first load
  // can be slow, so one reload after a minute, with what happened printed either way.
  const title = page.locator(".swagger-ui .info .title", { hasText: "Cinema API" });
  let shown = false;
  for (let attempt = 0; attempt < 2 && !shown; attempt++) {
    if (attempt === 0) await page.goto(`${base}/docs`, { timeout: 60000 });
    else await page.reload({ timeout: 60000 });
    shown = await title.waitFor({ timeout: 60000 }).then(() => true, () => false);
    if (!shown) {
      mkdirSync(dirname(screenshot), { recursive: true });
      await page.screenshot({ path: screenshot.replace(/\.png$/, `-load-${attempt + 1}.png`) }).catch(() => {});
      const text = await page.locator("body").innerText().catch((error) => `(no text: ${error.message})`);
      console.log(`warn /docs showed no Swagger UI title within 60 s (load ${attempt + 1}); the page says:\n` +
        `${text.slice(0, 800)}\npage errors: ${failures.join("; ") || "none"}\nwhat it did:\n  ${events.join("\n  ")}`);
    }
  }
  if (!shown) throw new Error("Swagger UI did not show the Cinema API document at /docs");
  console.log("ok   /docs shows Swagger UI with the Cinema API document");

  // Authorize: the password flow's form, sent by Swagger UI to /auth/login.
  await page.locator(".scheme-container button.authorize").click();
  const dialog = page.locator(".modal-ux");
  await dialog.locator("#oauth_username").fill(username);
  await dialog.locator("#oauth_password").fill(password);
  const login = page.waitForResponse((r) => r.url().endsWith("/auth/login"));
  await dialog.locator(".auth-btn-wrapper button.authorize").click();
  const loginResponse = await login;
  if (loginResponse.status() !== 200) failures.push(`Authorize: /auth/login answered ${loginResponse.status()}`);
  await dialog.locator("button", { hasText: "Logout" }).waitFor();
  await dialog.locator("button.btn-done").click();
  // A click while the dialog is still closing lands on its backdrop.
  await dialog.waitFor({ state: "detached" });
  console.log("ok   Authorize signed in through POST /auth/login");

  // Try it out on GET /users/me.
  const operation = page.locator("#operations-users-users_me");
  const tryOut = operation.locator("button.try-out__btn");
  // The operation's own toggle (a click on the middle of its summary row can land on the
  // copy-path or lock button instead); on a loaded machine a click can come before the
  // operation listens, so up to three.
  const toggle = operation.locator("button.opblock-summary-control");
  for (let attempt = 0; attempt < 3; attempt++) {
    if ((await toggle.getAttribute("aria-expanded")) !== "true") await toggle.click();
    if (await tryOut.waitFor({ timeout: 5000 }).then(() => true, () => false)) break;
  }
  await tryOut.click();
  const me = page.waitForResponse((r) => r.url().endsWith("/users/me"));
  await operation.locator("button.execute").click();
  const meResponse = await me;
  const status = (await operation.locator(".live-responses-table tbody .response-col_status").first().innerText()).trim();
  const body = await meResponse.json();
  if (meResponse.status() !== 200 || status !== "200") failures.push(`Try it out: GET /users/me showed ${status}`);
  if (body.username !== username) failures.push(`Try it out: /users/me is ${JSON.stringify(body)}`);
  if (!(meResponse.request().headers()["authorization"] ?? "").startsWith("Bearer ")) {
    failures.push("Try it out: the request carried no bearer token");
  }
  await operation.locator(".live-responses-table").scrollIntoViewIfNeeded();
  console.log(`ok   Try it out: GET /users/me -> ${status} (${body.username}, ${body.role})`);

  if (outside.length) failures.push(`requests left the API: ${outside.join(", ")}`);
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: false });
  console.log(`ok   screenshot: ${screenshot}`);
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.map((f) => `FAIL ${f}`).join("\n"));
  process.exit(1);
}

// The web console in a real browser: Debian's Chromium, headless, driven by playwright-core.
// Launched by tests/e2e/test_console.py with a JSON scenario in CONSOLE_SCENARIO; prints one line per step and
// exits non-zero at the first failure. Screenshots go to CONSOLE_SHOTS (a directory) when it is set.

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const S = JSON.parse(process.env.CONSOLE_SCENARIO);
const SHOTS = process.env.CONSOLE_SHOTS || "";
const WAIT = { timeout: 120_000 }; // an upper bound for an operation to end, never a measured figure
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

function step(text) {
  console.log(`step: ${text}`);
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

async function shot(page, name, target = null) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  if (target) await target.evaluate((el) => el.scrollIntoView({ block: "start" }));
  else await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

async function newPage(browser, viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of 40[34]/.test(m.text())) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  page.setDefaultTimeout(30_000);
  return { page, problems, context };
}

async function signIn(page, token) {
  await page.goto(S.base + "/");
  check(page.url().endsWith("/ui/"), `GET / redirects to /ui/ (at ${page.url()})`);
  await page.getByLabel("Token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Releases" }).waitFor();
  check(!page.url().includes(token), "the token is not in the URL");
  const cookies = await page.context().cookies();
  check(cookies.length === 0, "no cookie is set");
}

async function operationEnds(page, action, status = "succeeded") {
  const panel = page.locator(".operation").filter({ hasText: action });
  await panel.locator(`.badge[data-status="${status}"]`).waitFor(WAIT);
  return panel;
}

async function admin(browser) {
  const { page, problems } = await newPage(browser);
  step("sign in as admin");
  await signIn(page, S.admin_token);

  step("find the chart and install it with the schema-driven form");
  await page.getByRole("link", { name: "Charts" }).click();
  await page.getByLabel("Chart name or keyword").fill(S.chart);
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("link", { name: `${S.repository}/${S.chart}` }).first().click();
  await page.getByRole("heading", { name: "Install" }).waitFor();
  await page.getByLabel("Release name").fill(S.release);
  await page.getByLabel("replicas").fill("0");
  await page.getByRole("button", { name: "Install", exact: true }).click();
  await page.getByText("replicas must be at least 1").waitFor();
  await page.getByLabel("replicas").fill("2");
  await page.getByLabel("greeting").fill("hello");
  await page.getByRole("button", { name: "Check (dry run)" }).click();
  await page.getByText("helm accepts these values").waitFor(WAIT);
  await page.getByRole("button", { name: "Install", exact: true }).click();
  await operationEnds(page, "install");
  await shot(page, "install", page.locator("h1"));

  step("the release is in the table");
  await page.getByRole("link", { name: "Releases" }).click();
  const row = page.getByRole("row").filter({ hasText: S.release });
  await row.first().waitFor();
  check((await row.first().textContent()).includes("deployed"), "status shown as text");
  await shot(page, "releases");

  step("open it");
  await page.getByRole("link", { name: S.release, exact: true }).click();
  await page.getByRole("heading", { name: new RegExp(`^${S.release}`) }).waitFor();
  await page.getByText(`${S.release} says hello`).waitFor();
  await shot(page, "release");

  step("change a value and upgrade; the operation is followed until it ends");
  await page.getByRole("tab", { name: "Actions" }).click();
  await page.getByLabel("Values (YAML)").fill("greeting: bonjour\n");
  await page.getByRole("button", { name: "Upgrade", exact: true }).click();
  await operationEnds(page, "upgrade");
  await shot(page, "upgrade");
  await page.locator("dd", { hasText: /^2$/ }).first().waitFor();

  step("the values diff between revisions 1 and 2");
  await page.getByRole("tab", { name: "History" }).click();
  await page.getByLabel("From revision").selectOption("1");
  await page.getByLabel("To revision").selectOption("2");
  await page.getByRole("button", { name: "Compare" }).click();
  await page.locator("td.code.add", { hasText: "bonjour" }).waitFor();
  await page.locator("td.code.del", { hasText: "hello" }).waitFor();
  await shot(page, "diff", page.locator(".tabs"));
  step("and the manifest diff");
  await page.getByLabel("Compare", { exact: true }).selectOption("manifest");
  await page.getByRole("button", { name: "Compare" }).click();
  await page.locator("td.code.add", { hasText: 'greeting: "bonjour"' }).waitFor();

  step("roll back to revision 1");
  await page.getByRole("tab", { name: "Actions" }).click();
  await page.getByLabel("Roll back to revision").selectOption("1");
  await page.getByRole("button", { name: "Roll back" }).click();
  await operationEnds(page, "rollback");
  await page.getByRole("tab", { name: "Overview" }).click();
  await page.getByText(`${S.release} says hello`).waitFor();

  step("uninstall with a typed confirmation");
  await page.getByRole("tab", { name: "Actions" }).click();
  const uninstall = page.getByRole("button", { name: "Uninstall" });
  check(await uninstall.isDisabled(), "uninstall waits for the name");
  await page.getByLabel(/Type the release name/).fill(S.release);
  await uninstall.click();
  await operationEnds(page, "uninstall");
  await page.getByText("Uninstalled.").waitFor();

  step("operations, clusters, audit");
  await page.getByRole("link", { name: "Operations" }).click();
  await page.getByRole("heading", { name: "Recent" }).waitFor();
  await page.getByRole("cell", { name: "uninstall" }).first().waitFor();
  await shot(page, "operations");
  await page.getByRole("link", { name: "Clusters" }).click();
  await page.getByRole("cell", { name: S.cluster, exact: true }).waitFor();
  await page.locator('.badge[data-status="ok"]').first().waitFor();
  await shot(page, "clusters");
  await page.getByRole("link", { name: "Audit" }).click();
  await page.getByRole("cell", { name: /DELETE/ }).first().waitFor();

  step("a failed install's diagnosis: the summary, the Pods and their containers, the events");
  await page.getByRole("link", { name: "Operations" }).click();
  await page.getByRole("cell", { name: S.failed_summary, exact: false }).first().waitFor();
  await page.getByRole("link", { name: S.failed_operation, exact: true }).click();
  const diagnosis = page.locator("section.diagnosis");
  await diagnosis.locator(".summary", { hasText: S.failed_summary }).waitFor();
  const pods = diagnosis.locator("table", { has: page.locator("caption", { hasText: "Pods not ready" }) });
  for (const name of S.failed_pods) await pods.getByRole("cell", { name, exact: true }).waitFor();
  check((await pods.getByRole("cell", { name: "CrashLoopBackOff", exact: true }).count()) === S.failed_pods.length, "each Pod's container is in CrashLoopBackOff");
  check((await pods.locator('td[data-label="Exit code"]', { hasText: "1" }).count()) === S.failed_pods.length, "each container's exit code is shown");
  check((await diagnosis.getByRole("cell", { name: "Deployment", exact: true }).count()) >= 1, "the Deployment not ready is listed");
  const events = diagnosis.locator("table", { has: page.locator("caption", { hasText: "warning events" }) });
  await events.getByRole("cell", { name: "BackOff", exact: true }).first().waitFor();
  await shot(page, "diagnosis", page.locator("h1"));

  step("install a chart by reference (an archive URL) whose NOTES hold <script>");
  await page.getByRole("link", { name: "Charts" }).click();
  await page.getByRole("link", { name: "Install a chart by reference" }).click();
  await page.getByLabel("Chart", { exact: true }).fill(S.xss_chart);
  await page.getByLabel("Namespace", { exact: true }).fill(S.xss_namespace);
  await page.getByLabel("Release name").fill(S.xss_release);
  await page.getByLabel("Create the namespace").check();
  await page.getByRole("button", { name: "Install", exact: true }).click();
  await operationEnds(page, "install");
  step("NOTES with <script> are shown as text");
  await page.getByRole("link", { name: `Open ${S.xss_release}` }).click();
  const notes = page.locator("pre.notes");
  await notes.waitFor();
  check((await notes.textContent()).includes("<script>"), "the NOTES text is shown as it is");
  check((await page.evaluate(() => window.__xss)) === undefined, "no script from the chart ran");
  check((await page.locator("main script, main img").count()) === 0, "no element made from the NOTES");
  check(problems.length === 0, `no script error or CSP violation: ${problems.join(" | ")}`);
}

async function limited(browser) {
  const { page, problems } = await newPage(browser);
  step("a principal limited to one namespace sees only its releases");
  await signIn(page, S.team_token);
  await page.getByRole("link", { name: S.team_release, exact: true }).waitFor();
  check((await page.getByRole("link", { name: S.xss_release, exact: true }).count()) === 0, "another namespace's release is hidden");
  check((await page.getByRole("link", { name: "Audit" }).count()) === 0, "no audit link for a non-admin");
  step("and gets a clear refusal for what it may not do");
  await page.getByRole("link", { name: S.team_release, exact: true }).click();
  await page.getByRole("tab", { name: "Actions" }).click();
  await page.getByLabel(/Type the release name/).fill(S.team_release);
  await page.getByRole("button", { name: "Uninstall" }).click();
  const alert = page.getByRole("alert").filter({ hasText: "Not allowed" });
  await alert.waitFor();
  check((await alert.textContent()).includes('missing permission "uninstall"'), "the refusal names the permission");
  await shot(page, "refused");
  check(problems.length === 0, `no script error: ${problems.join(" | ")}`);
}

async function phone(browser) {
  const { page, problems } = await newPage(browser, { width: 390, height: 844 });
  step("phone width");
  await signIn(page, S.admin_token);
  await page.getByRole("link", { name: S.team_release, exact: true }).waitFor();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 390, `no horizontal scrolling at 390 px (page is ${width} px wide)`);
  await shot(page, "phone");
  step("keyboard: the tabs move with the arrow keys");
  await page.getByRole("link", { name: S.team_release, exact: true }).click();
  await page.getByRole("tab", { name: "Overview" }).focus();
  await page.keyboard.press("ArrowRight");
  await page.getByRole("tab", { name: "Values", selected: true }).waitFor();
  check(problems.length === 0, `no script error: ${problems.join(" | ")}`);
}

const browser = await chromium.launch({ executablePath: S.chromium || "/usr/bin/chromium", headless: true, args: FLAGS });
try {
  await admin(browser);
  await limited(browser);
  await phone(browser);
  console.log("ok: every step passed");
} catch (err) {
  console.error(String(err && err.stack ? err.stack : err));
  process.exitCode = 1;
} finally {
  await browser.close();
}

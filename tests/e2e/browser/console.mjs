// The web console in a real browser: Debian's Chromium, headless, driven by playwright-core.
// Launched by tests/e2e/test_console.py with a JSON scenario in CONSOLE_SCENARIO; prints one line per step and
// exits non-zero at the first failure. Screenshots go to CONSOLE_SHOTS (a directory) when it is set.

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";

const S = JSON.parse(process.env.CONSOLE_SCENARIO);
const SHOTS = process.env.CONSOLE_SHOTS || "";
const WAIT = { timeout: 120_000 }; // an upper bound for an operation to end, never a measured figure
const SECRET = `s3cret-${randomBytes(8).toString("hex")}`; // a value under a credential key: masked everywhere
const UNKNOWN_PLAN = `plan-${"0".repeat(32)}`; // answered as an expired plan is (404 PlanNotFound)
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

async function shot(page, name, target = null, block = "start") {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  if (target) await target.evaluate((el, b) => el.scrollIntoView({ block: b }), block);
  else await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

async function newPage(browser, viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of 40[349]/.test(m.text())) problems.push(m.text());
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

/** The API called as the admin, beside the browser: what a teammate does meanwhile. */
async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${S.admin_token}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(S.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json();
  check(r.ok, `${method} ${path}: ${r.status} ${JSON.stringify(data)}`);
  return data;
}

/** Another upgrade of the release (same chart, same values: a new revision), waited for until it ends. */
async function upgradeMeanwhile(namespace, name) {
  const path = `/v1/clusters/${encodeURIComponent(S.cluster)}/namespaces/${namespace}/releases/${name}`;
  const release = await api("GET", path);
  const body = { chart: `${S.repository}/${S.chart}`, version: release.chart_version, reuse_values: true };
  let op = await api("PUT", path, body);
  while (!["succeeded", "failed"].includes(op.status)) {
    await new Promise((r) => setTimeout(r, 300));
    op = await api("GET", `/v1/operations/${encodeURIComponent(op.id)}`);
  }
  check(op.status === "succeeded", `the upgrade meanwhile succeeded: ${JSON.stringify(op.error || {})}`);
}

async function wayText(review, way) {
  return (await review.locator(`[data-way="${way}"]`).textContent()) || "";
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

  step("review an upgrade: the objects that would change and the three-way values, nothing secret shown");
  await page.getByRole("tab", { name: "Actions" }).click();
  await page.getByLabel("Values (YAML)").fill(`greeting: bonjour\npassword: ${SECRET}\n`);
  await page.getByRole("button", { name: "Review the upgrade" }).click();
  const review = page.locator("section.review");
  await review.waitFor(WAIT);
  const planId = await review.getAttribute("data-plan");
  check(/^plan-[0-9a-f]+$/.test(planId || ""), `the review names its plan (${planId})`);
  check((await review.locator("code.plan-id").textContent()) === planId, "the plan id is shown");
  const config = review.locator("details.object-diff", { hasText: `${S.release}-config` });
  await config.locator('.badge[data-status="changed"]').waitFor();
  await config.locator("span.add", { hasText: /greeting: "?bonjour/ }).waitFor();
  await config.locator("span.del", { hasText: /greeting: "?hello/ }).waitFor();
  await review.getByRole("cell", { name: `${S.release}-config`, exact: true }).waitFor();
  check((await review.getByRole("cell", { name: `${S.release}-svc`, exact: true }).count()) === 0, "an unchanged object is not listed as a change");
  check((await wayText(review, "Chart defaults")).includes("replicas: 1"), "the chart's defaults are shown");
  check((await wayText(review, "Deployed")).includes("greeting: hello"), "the deployed values are shown");
  const proposed = await wayText(review, "Proposed");
  check(proposed.includes("greeting: bonjour") && proposed.includes(`password: "<redacted>"`), `the proposed values, masked: ${proposed}`);
  await review.locator("td.code.add", { hasText: "greeting: bonjour" }).waitFor();
  check(!(await review.textContent()).includes(SECRET), "the secret is shown nowhere in the review");
  check((await review.getByRole("button", { name: "Reveal values" }).count()) === 1, "the admin may reveal");
  await shot(page, "review", review);

  step("apply sends exactly the reviewed plan; the operation is followed until it ends");
  const sent = page.waitForRequest((r) => r.method() === "PUT" && r.url().endsWith(`/releases/${S.release}`));
  await review.getByRole("button", { name: "Apply this plan" }).click();
  const applied = (await sent).postDataJSON();
  check(JSON.stringify(applied) === JSON.stringify({ plan: planId }), `the apply sends {"plan": id} only: ${JSON.stringify(applied)}`);
  await operationEnds(page, "upgrade");
  await page.locator("dd", { hasText: /^2$/ }).first().waitFor();
  await shot(page, "upgrade");

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

  step("review a rollback to revision 1; another upgrade lands meanwhile: the plan is refused as stale");
  await page.getByRole("tab", { name: "Actions" }).click();
  await page.getByLabel("Roll back to revision").selectOption("1");
  await page.getByRole("button", { name: "Review the rollback" }).click();
  const rollback = page.locator("section.review");
  await rollback.waitFor(WAIT);
  const stalePlan = await rollback.getAttribute("data-plan");
  check((await wayText(rollback, "Deployed")).includes("greeting: bonjour"), "the deployed values");
  check((await wayText(rollback, "Proposed")).includes("greeting: hello"), "revision 1's values are proposed");
  await rollback.locator("details.object-diff", { hasText: `${S.release}-config` }).locator("span.add", { hasText: /greeting: "?hello/ }).waitFor();
  await upgradeMeanwhile("default", S.release);
  await rollback.getByRole("button", { name: "Apply this plan" }).click();
  const refused = rollback.getByRole("alert").filter({ hasText: "the plan is stale" });
  await refused.waitFor();
  check((await refused.locator("code").allTextContents()).includes("revision"), "the refusal names what changed");
  check(await rollback.getByRole("button", { name: "Apply this plan" }).isDisabled(), "a stale plan cannot be applied again");
  check((await page.locator(".operation").filter({ hasText: "rollback" }).count()) === 0, "nothing was applied");
  await shot(page, "stale", refused, "end");

  step("review again: a new plan, applied");
  await refused.getByRole("button", { name: "Review again" }).click();
  const fresh = page.locator(`section.review:not([data-plan="${stalePlan}"])`);
  await fresh.waitFor(WAIT);
  const freshPlan = await fresh.getAttribute("data-plan");
  const rolled = page.waitForRequest((r) => r.method() === "POST" && r.url().endsWith(`/releases/${S.release}/rollback`));
  await fresh.getByRole("button", { name: "Apply this plan" }).click();
  check(JSON.stringify((await rolled).postDataJSON()) === JSON.stringify({ plan: freshPlan }), "the rollback applies the new plan");
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
  step("its review of an upgrade offers no reveal; a plan the service no longer knows is refused as expired");
  await page.getByRole("link", { name: S.team_release, exact: true }).click();
  await page.getByRole("tab", { name: "Actions" }).click();
  await page.getByLabel("Values (YAML)").fill("greeting: hola\n");
  await page.getByRole("button", { name: "Review the upgrade" }).click();
  const review = page.locator("section.review");
  await review.waitFor(WAIT);
  check((await review.getByRole("button", { name: "Reveal values" }).count()) === 0, "no reveal without the permission");
  // the service answers a plan id it does not know as it answers an expired one (404 PlanNotFound): an hour
  // cannot pass here, so the apply is sent with an unknown id
  const target = `**/releases/${S.team_release}`;
  await page.route(target, (route) =>
    route.request().method() === "PUT" ? route.continue({ postData: JSON.stringify({ plan: UNKNOWN_PLAN }) }) : route.continue(),
  );
  await review.getByRole("button", { name: "Apply this plan" }).click();
  const gone = review.getByRole("alert").filter({ hasText: "expired or is unknown" });
  await gone.waitFor();
  check((await gone.getAttribute("data-code")) === "PlanNotFound", "the service refused the plan");
  check((await gone.getByRole("button", { name: "Review again" }).count()) === 1, "an offer to review again");
  await page.unroute(target);
  await page.getByRole("link", { name: "Releases", exact: true }).click();

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

// The console's shell: sign-in, navigation and a hash router (#/releases, #/release/<c>/<ns>/<name>, ...).
// Routes live in the fragment, which never reaches the server; the token never appears in it.

import { h, clear, append, errorBox } from "./dom.js";
import { get, token, setToken, whenSignedOut } from "./api.js";
import { releasesPage } from "./releases.js";
import { releasePage } from "./release.js";
import { operationsPage } from "./operations.js";
import { operationPage } from "./operation.js";
import { chartsPage, chartPage, installPage } from "./catalog.js";
import { clustersPage, auditPage } from "./admin.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
let me = null;
let cleanup = null;

// each page renders into its own fresh element: a page still loading when another is opened writes nowhere
const ROUTES = [
  [/^#\/releases$/, (view, p, q) => releasesPage(view, q, me)],
  [/^#\/release\/([^/]+)\/([^/]+)\/([^/]+)$/, (view, p) => releasePage(view, p, me)],
  [/^#\/operations$/, (view, p, q) => operationsPage(view, q, me)],
  [/^#\/operation\/([^/]+)$/, (view, p) => operationPage(view, p, me)],
  [/^#\/clusters$/, (view) => clustersPage(view, me)],
  [/^#\/charts$/, (view, p, q) => chartsPage(view, q, me)],
  [/^#\/chart\/([^/]+)\/([^/]+)$/, (view, p, q) => chartPage(view, p, q, me)],
  [/^#\/audit$/, (view, p, q) => auditPage(view, q, me)],
  [/^#\/install$/, (view, p, q) => installPage(view, q, me)],
];

function link(href, label) {
  return h("a", { href, text: label });
}

function renderNav() {
  clear(nav);
  const items = [
    ["#/releases", "Releases"],
    ["#/operations", "Operations"],
    ["#/clusters", "Clusters"],
    ["#/charts", "Charts"],
  ];
  if (me && me.admin) items.push(["#/audit", "Audit"]);
  append(nav, items.map(([href, label]) => link(href, label)));
  nav.hidden = false;
  clear(who);
  append(who, [
    h("span.muted", { text: "Signed in as " }),
    h("strong", { text: me.id }),
    " ",
    h("button.link", { type: "button", onclick: signOut, text: "Sign out" }),
  ]);
}

function signOut() {
  setToken("");
  me = null;
  nav.hidden = true;
  clear(who);
  if (cleanup) cleanup();
  cleanup = null;
  signInPage();
}

function signInPage(problem) {
  clear(main);
  const input = h("input", {
    id: "token",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    placeholder: "cht_… or a JWT",
  });
  const form = h(
    "form.card.signin",
    { "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title", text: "Sign in to Charthouse" }),
    h("p", {
      text: "Paste a bearer token: the one `make run` printed (.local/token), one made with POST /v1/tokens, or your identity provider's ID token (JWT) on a deployed stage. It is kept in this tab only.",
    }),
    h("label", { for: "token", text: "Token" }),
    input,
    problem ? errorBox(problem) : null,
    h("button.primary", { type: "submit", text: "Sign in" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    await start();
  });
  append(main, [form]);
  input.focus();
}

async function start() {
  if (!token()) return signInPage();
  try {
    me = await get("/v1/whoami");
  } catch (err) {
    setToken("");
    return signInPage(err);
  }
  renderNav();
  if (!location.hash || location.hash === "#" || location.hash === "#/") location.hash = "#/releases"; // routes
  else route();
}

function route() {
  if (cleanup) cleanup();
  cleanup = null;
  if (!me) return start();
  const [path, query = ""] = location.hash.split("?");
  const q = Object.fromEntries(new URLSearchParams(query));
  for (const a of nav.querySelectorAll("a")) {
    const section = path === "#/install" ? "#/chart" : path;
    if (section.startsWith(a.getAttribute("href").replace(/s$/, ""))) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  for (const [pattern, page] of ROUTES) {
    const m = pattern.exec(path);
    if (m) {
      const view = h("div.view");
      clear(main);
      main.append(view);
      const params = m.slice(1).map(decodeURIComponent);
      Promise.resolve(page(view, params, q))
        .then((stop) => {
          if (typeof stop !== "function") return;
          if (view.isConnected) cleanup = stop;
          else stop();
        })
        .catch((err) => append(view, [errorBox(err)]));
      main.focus({ preventScroll: true });
      return;
    }
  }
  location.hash = "#/releases";
}

whenSignedOut(() => {
  if (me) {
    me = null;
    setToken("");
    nav.hidden = true;
    signInPage({ code: "Unauthenticated", message: "the token is no longer accepted; sign in again" });
  }
});
window.addEventListener("hashchange", route);
start();

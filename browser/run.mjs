// The view in a real browser (make browser): Debian's chromium, driven by playwright-core,
// shows ui://agentjobs/dashboard inside two test hosts, each bundled by esbuild: one built
// on the reference host side (@modelcontextprotocol/ext-apps 2.0.4 app-bridge, host.js),
// one on @mcp-ui/client's AppRenderer with its own AppBridge (inlined in its dist) and the
// TypeScript SDK client (app.js). The view's checks and screenshots run in both. A host
// page is served on 127.0.0.1 and the sandbox proxy on localhost: two origins, as the spec
// asks. Tool calls go to the real server (agentjobs_mcp.py over stdio) against the
// stand-in API (python3 -m standin --log: one stderr line per request, which is how
// DELETEs are counted). One line per check, then "N passed, N failed"; screenshots go to
// browser/artifacts/<host>-*.png (git-ignored; the GitHub workflow uploads them).
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import * as esbuild from "esbuild";
import { chromium } from "playwright-core";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(HERE);
const PYTHON = process.env.PYTHON || "python3";
const KEY = "browser-test-key";
const ARTIFACTS = join(HERE, "artifacts");
const UI = { extensions: { "io.modelcontextprotocol/ui": { mimeTypes: ["text/html;profile=mcp-app"] } } };
const HOSTILE = "<img src=x onerror=\"document.title='pwned'\">";
const FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run"];
// The two hosts: the page, the outer frame (the sandbox proxy) and the name on each line.
const HOSTS = [{ name: "app-bridge", page: "host.html", outer: "#sandbox" },
  { name: "apprenderer", page: "app.html", outer: "#app iframe" }];
let HOST = HOSTS[0];
let passed = 0, failed = 0;

function check(label, ok, detail = "") {
  ok ? passed++ : failed++;
  const more = String(detail).replace(/\s+/g, " ").slice(0, 200);
  console.log(`${ok ? "ok  " : "FAIL"} [${HOST.name}] ${label}${more ? ": " + more : ""}`);
}
async function waitUntil(test, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await test();
    if (value || Date.now() > end) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
}

// The stand-in API, its request log read from stderr.
function startStandin() {
  const child = spawn(PYTHON, ["-m", "standin", "--log", "--key", KEY], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  const lines = [];
  createInterface({ input: child.stderr }).on("line", (line) => lines.push(line));
  return new Promise((resolve) => {
    createInterface({ input: child.stdout }).once("line", (line) => resolve({ child, lines, url: line.split("=")[1] }));
  });
}
const deletes = (api, id) => api.lines.filter((l) => l.includes('"DELETE /api/v0/services/agent-jobs/' + id + " ")).length;

// A minimal MCP client over stdio, in either era; it answers elicitation/create as told.
function startServer(api, era, env = {}, elicit = "accept") {
  const child = spawn(PYTHON, [join(ROOT, "agentjobs_mcp.py")], { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, AICONNECT_API_URL: api.url, AICONNECT_API_KEY: KEY, ...env } });
  let next = 1;
  const waiting = new Map();
  const client = { child, elicit, elicited: 0, ui: true, env, apiUrl: api.url };
  createInterface({ input: child.stdout }).on("line", (line) => {
    const m = JSON.parse(line);
    if (m.method === "elicitation/create") {
      client.elicited++;
      const answer = client.elicit === "accept" ? { action: "accept", content: { confirm: true } } : { action: client.elicit };
      child.stdin.write(JSON.stringify({ jsonrpc: "2.0", id: m.id, result: answer }) + "\n");
    } else if (m.id !== undefined && waiting.has(m.id)) {
      waiting.get(m.id)(m);
      waiting.delete(m.id);
    }
  });
  client.request = (method, params = {}) => {
    const id = next++;
    const caps = client.ui ? { ...UI, elicitation: { form: {} } } : { elicitation: { form: {} } };
    if (era === "2026-07-28") params = { ...params, _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientCapabilities": caps, "io.modelcontextprotocol/clientInfo": { name: "browser-test", version: "1" } } };
    child.stdin.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n");
    return new Promise((resolve) => waiting.set(id, resolve));
  };
  client.call = async (name, args) => (await client.request("tools/call", { name, arguments: args })).result;
  client.close = () => child.stdin.end();
  client.start = async () => {
    if (era !== "2026-07-28") {
      const caps = client.ui ? { ...UI, elicitation: { form: {} } } : { elicitation: { form: {} } };
      client.init = await client.request("initialize", { protocolVersion: "2025-11-25", capabilities: caps,
        clientInfo: { name: "browser-test", version: "1" } });
      child.stdin.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");
    } else {
      client.init = await client.request("server/discover", {});
    }
    const listed = (await client.request("tools/list")).result.tools;
    client.destructive = listed.filter((t) => t.annotations && t.annotations.destructiveHint).map((t) => t.name);
    return client;
  };
  return client;
}

// The host page (127.0.0.1) and the sandbox proxy (localhost): one loopback server, two origins.
const SANDBOX_CSP = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; media-src 'self' data:; connect-src 'none'; object-src 'none'; base-uri 'self'";
function startPages() {
  const files = { "/host.html": ["host.html", "text/html"], "/host.bundle.js": ["host.bundle.js", "text/javascript"],
    "/app.html": ["app.html", "text/html"], "/app.bundle.js": ["app.bundle.js", "text/javascript"],
    "/sandbox.html": ["sandbox.html", "text/html"] };
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const file = files[path];
    if (!file) { res.writeHead(404); return res.end(); }
    const headers = { "Content-Type": file[1] + "; charset=utf-8", "Cache-Control": "no-store" };
    if (path === "/sandbox.html") headers["Content-Security-Policy"] = SANDBOX_CSP;
    res.writeHead(200, headers);
    res.end(readFileSync(join(HERE, file[0])));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function main() {
  mkdirSync(ARTIFACTS, { recursive: true });
  for (const name of ["host", "app"]) await esbuild.build({ entryPoints: [join(HERE, name + ".js")], bundle: true,
    format: "iife", outfile: join(HERE, name + ".bundle.js"), logLevel: "error",
    define: { "process.env.NODE_ENV": '"production"' } });
  const api = await startStandin();
  const pages = await startPages();
  const port = pages.address().port;
  const hostUrl = `http://127.0.0.1:${port}/`;
  const sandboxUrl = `http://localhost:${port}/sandbox.html?host=${encodeURIComponent("http://127.0.0.1:" + port)}`;
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: FLAGS });
  const servers = [];
  try {
    await run(api, browser, hostUrl, sandboxUrl, servers);
  } finally {
    await browser.close();
    servers.forEach((s) => s.close());
    pages.close();
    api.child.kill("SIGTERM");  // the stand-in stops at end of stdin only on a terminal
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

// Opens the view on one tool result, the way a host does; returns the page, the view's
// frame and what the browser saw (console errors, requests), and the host's approvals.
// The app-bridge host is given the result by run.mjs (its server process is shared); the
// AppRenderer host makes its own MCP client, so it gets a server process of its own, with
// the same settings, for the page's life.
async function open(browser, hostUrl, sandboxUrl, server, html, tool, args, options = {}) {
  const theme = options.theme || "light";
  const width = options.width || 960;
  const page = await browser.newPage({ viewport: { width, height: 900 }, colorScheme: theme });
  const seen = { errors: [], requests: [] }, approvals = [];
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") seen.errors.push(m.type() + ": " + m.text()); });
  page.on("pageerror", (e) => seen.errors.push("pageerror: " + e.message));
  page.on("request", (r) => seen.requests.push(r.url()));
  // The person's answers to the host's approval, in order (the last one stays).
  const answers = [].concat(options.approve || "yes");
  await page.exposeFunction("hostApprove", (params) => {
    approvals.push(params.name);
    return (answers.length > 1 ? answers.shift() : answers[0]) === "yes";
  });
  await page.exposeFunction("hostCallTool", (params) => {
    if ((options.refuse || []).includes(params.name)) throw new Error("this host does not pass " + params.name + " on");
    return server.call(params.name, params.arguments);
  });
  if (options.clock) await page.clock.install();
  let own = null;
  if (HOST.name === "apprenderer") {
    own = spawn(PYTHON, [join(ROOT, "agentjobs_mcp.py")], { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"],
      env: { ...process.env, AICONNECT_API_URL: server.apiUrl, AICONNECT_API_KEY: KEY, ...server.env } });
    createInterface({ input: own.stdout }).on("line", (line) => {
      page.evaluate((m) => window.mcpReceive(m), JSON.parse(line)).catch(() => {});
    });
    await page.exposeFunction("mcpSend", (m) => { own.stdin.write(JSON.stringify(m) + "\n"); });
    await page.exposeFunction("hostElicit", () => {
      server.elicited++;
      return server.elicit === "accept" ? { action: "accept", content: { confirm: true } } : { action: server.elicit };
    });
    const close = page.close.bind(page);
    page.close = async () => { await close(); own.stdin.end(); };
  }
  await page.goto(hostUrl + HOST.page);
  if (theme === "dark") await page.evaluate(() => document.body.classList.add("dark"));
  const hostContext = { theme, locale: "en-US", timeZone: "America/Sao_Paulo", platform: "web",
    displayMode: "inline", availableDisplayModes: ["inline", "fullscreen"], containerDimensions: { maxHeight: 4000 },
    toolInfo: { tool: { name: tool, inputSchema: { type: "object" } } },
    styles: { variables: { "--font-sans": "\"DejaVu Sans\", sans-serif" } } };
  let result, sent;
  if (own) {
    delete hostContext.toolInfo;  // the host puts the listed tool there
    hostContext.availableDisplayModes = ["inline"];  // this host has no full screen
    result = (await page.evaluate((o) => window.startView(o), { tool, arguments: args, hostContext, sandboxUrl,
      refuse: options.refuse || [] })).result;
  } else {
    result = await server.call(tool, args);
    sent = await page.evaluate((o) => window.startView(o), { html, arguments: args, result, hostContext, sandboxUrl,
      destructive: server.destructive || [] });
  }
  const view = page.frameLocator(HOST.outer).frameLocator("iframe");
  const frame = await waitUntil(() => page.frames().find((f) => f.url() === "about:srcdoc"));
  return { page, view, frame, seen, result, sent, approvals };
}

async function shot(page, name) {
  await page.waitForTimeout(50);  // one frame for the size-changed round trip to settle
  // The whole view in the viewport: a frame of another origin is painted only where it shows.
  const box = await page.locator(HOST.outer).boundingBox();
  if (box && box.y + box.height + 8 > page.viewportSize().height) {
    await page.setViewportSize({ width: page.viewportSize().width, height: Math.ceil(box.y + box.height + 8) });
    await page.waitForTimeout(50);
  }
  await page.locator(HOST.outer).screenshot({ path: join(ARTIFACTS, HOST.name + "-" + name + ".png") });
}

// Whatever is wider than the view (sideways scrolling of the page or of a box in it).
const WIDER = `(() => {
  const out = [], root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) out.push("the page " + root.scrollWidth + " in " + root.clientWidth);
  document.querySelectorAll("body *").forEach((e) => {
    if (e.scrollWidth > e.clientWidth + 1 && /auto|scroll/.test(getComputedStyle(e).overflowX)) out.push(e.tagName + "." + e.className + " " + e.scrollWidth + " in " + e.clientWidth);
  });
  return out;
})()`;

const CONTRAST = `(() => {
  function rgb(c) { const m = c.match(/[\\d.]+/g) || []; return m.slice(0, 4).map(Number); }
  function lum(c) { return 0.2126 * ch(c[0]) + 0.7152 * ch(c[1]) + 0.0722 * ch(c[2]); }
  function ch(v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }
  function bg(el) { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor); if (c.length === 3 || c[3] > 0) return c; } return [255, 255, 255]; }
  let worst = 99, what = "";
  document.querySelectorAll("h1, h2, th, td, dt, dd, button, .status, .muted, caption, pre, label, select, .ext").forEach((el) => {
    if (!el.textContent.trim() || el.closest(".sr") || el.disabled) return;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < worst) { worst = ratio; what = el.tagName + "." + el.className + " " + el.textContent.trim().slice(0, 20); }
  });
  return [Math.round(worst * 100) / 100, what];
})()`;

function clean(label, seen) {
  const extra = seen.requests.filter((u) => !/\/((host|app)\.html|(host|app)\.bundle\.js|sandbox\.html)(\?|$)/.test(u));
  check(label + ": no console error or CSP violation", !seen.errors.length, seen.errors.join(" | "));
  check(label + ": no network request from the view", !extra.length, extra.join(" "));
}

async function run(api, browser, hostUrl, sandboxUrl, servers) {
  const plain = startServer(api, "initialize");
  plain.ui = false;
  servers.push(await plain.start());
  const plainTools = (await plain.request("tools/list")).result.tools;
  check("initialize era, client without the extension: no _meta.ui on tools", plainTools.every((t) => !t._meta),
    plainTools.length + " tools");
  const plainRead = await plain.request("resources/read", { uri: "ui://agentjobs/dashboard" });
  check("... and no ui:// resource to read", !!plainRead.error, JSON.stringify(plainRead.error || {}).slice(0, 80));

  let initialized = null;
  for (const era of ["initialize", "2026-07-28"]) {
    const server = startServer(api, era);
    servers.push(await server.start());
    const caps = server.init.result.capabilities;
    check(`${era}: the server declares io.modelcontextprotocol/ui`, !!(caps.extensions || {})["io.modelcontextprotocol/ui"]);
    const tools = (await server.request("tools/list")).result.tools;
    const pointed = tools.filter((t) => t._meta && t._meta.ui && t._meta.ui.resourceUri === "ui://agentjobs/dashboard").map((t) => t.name);
    check(`${era}: list_jobs, get_jobs_stats, get_job and cancel_jobs point at the view`,
      pointed.sort().join() === "cancel_jobs,get_job,get_jobs_stats,list_jobs", pointed.join());
    const listed = (await server.request("resources/list")).result.resources.map((r) => r.uri);
    check(`${era}: resources/list has the view`, listed.includes("ui://agentjobs/dashboard"));
    const read = (await server.request("resources/read", { uri: "ui://agentjobs/dashboard" })).result.contents[0];
    check(`${era}: resources/read -> text/html;profile=mcp-app, prefersBorder, <= 60 KB`, read.mimeType === "text/html;profile=mcp-app"
      && read._meta.ui.prefersBorder === true && Buffer.byteLength(read.text) <= 60 * 1024, Buffer.byteLength(read.text) + " bytes");
    const html = read.text;
    const o = await open(browser, hostUrl, sandboxUrl, server, html, "list_jobs", { limit: 5 });
    const rows = await waitUntil(() => o.view.locator("tbody tr").count().then((n) => n === 5 && n));
    const ids = o.result.structuredContent.jobs.map((j) => j.job_id);
    const shown = await o.view.locator("tbody th").allTextContents();
    check(`${era}: the view initializes and shows list_jobs' rows`, rows === ids.length && shown.join() === ids.join(), shown.join());
    await o.page.close();
    if (era === "2026-07-28") { clean(era, o.seen); continue; }
    initialized = { server, html };

  }
  for (const host of HOSTS) {
    HOST = host;
    const began = Date.now();
    await viewChecks(api, browser, hostUrl, sandboxUrl, servers, plain, initialized.server, initialized.html);
    console.log(`     [${host.name}] the view's checks took ${((Date.now() - began) / 1000).toFixed(1)} s`);
  }
  HOST = HOSTS[0];
  const server = initialized.server, html = initialized.html;
  // 100 jobs: how long the render takes after the result arrives (reported, in the app-bridge host).
  for (let i = 0; i < 100; i++) await server.call("create_job", { job_type_id: "customer-followup",
    target_channel: { platform: "whatsapp", code: "55119" + String(i).padStart(6, "0") }, params: { customer_name: "Bulk " + i } });
  const times = [];
  for (let i = 0; i < 5; i++) {
    const big = await open(browser, hostUrl, sandboxUrl, server, html, "list_jobs", { limit: 100 });
    await waitUntil(() => big.view.locator("tbody tr").count().then((n) => n === 100));
    times.push(Number(await big.frame.evaluate(() => document.documentElement.getAttribute("data-render-ms"))));
    await big.page.close();
  }
  times.sort((a, b) => a - b);
  if (times.length) check("100 jobs rendered: median " + times[2] + " ms after the result arrives (5 runs; reported, not asserted)",
    times.length === 5, times.join(", ") + " ms");

}

// The view's checks and screenshots, in the host HOST.
async function viewChecks(api, browser, hostUrl, sandboxUrl, servers, plain, server, html) {
  {
  // list_jobs: the stand-in's rows, filter and paging through the host, 100 rows timed.
  for (const theme of ["light", "dark"]) for (const width of [480, 960]) {
    const v = await open(browser, hostUrl, sandboxUrl, server, html, "list_jobs", { limit: 20 }, { theme, width });
    await waitUntil(() => v.view.locator("tbody tr .plat").count());
    const contrast = await v.frame.evaluate(CONTRAST);
    check(`list ${theme} ${width}px: contrast >= 4.5:1`, contrast[0] >= 4.5, contrast.join(" at "));
    const wide = await v.frame.evaluate(WIDER);
    check(`list ${theme} ${width}px: nothing wider than the view, no sideways scrolling`, !wide.length, wide.join(" | "));
    await shot(v.page, `list-${theme}-${width}`);
    if (theme === "light" && width === 960) {
      check("list: status shown as text", (await v.view.locator("tbody .status").first().textContent()).length > 3);
      const counts = await v.frame.evaluate(() => Array.from(document.querySelectorAll("caption, .pager span"))
        .filter((x) => getComputedStyle(x).clip !== "rect(0px, 0px, 0px, 0px)" && x.textContent.startsWith("Jobs ")).length);
      check("list: \"Jobs 1-8 of 8\" shown once (the table's caption is for screen readers)", counts === 1, counts + " shown");
      let calls = await v.page.evaluate(() => window.viewCalls);
      check("list: the model's rows (no platform) are read again whole: list_jobs {limit: 20, detail: full}",
        JSON.stringify(calls) === JSON.stringify([{ name: "list_jobs", arguments: { limit: 20, detail: "full" } }]), JSON.stringify(calls));
      const slack = await v.view.locator("tbody tr", { hasText: "C0456SLACK" }).locator("td").nth(3).textContent();
      const legendText = await v.view.locator(".legend").textContent();
      check("list: the channel's platform in words, and a legend of what the codes are", slack.startsWith("Slack C0456SLACK")
        && legendText.includes("WhatsApp - a phone number") && legendText.includes("Slack - a Slack channel"), slack + " / " + legendText);
      await v.view.locator("#filter").selectOption("failed");
      await waitUntil(() => v.page.evaluate(() => window.viewCalls.length >= 2));
      calls = await v.page.evaluate(() => window.viewCalls.slice(1));
      check("list: the status filter calls list_jobs {limit: 20, detail: full, status: failed}", JSON.stringify(calls) ===
        JSON.stringify([{ name: "list_jobs", arguments: { limit: 20, detail: "full", status: "failed" } }]), JSON.stringify(calls));
      await waitUntil(async () => (await v.view.locator("tbody .status").allTextContents()).every((s) => s === "FAILED"));
      const failedRows = await v.view.locator("tbody .status").allTextContents();
      check("list: the filtered rows are the stand-in's failed jobs", failedRows.length >= 1 && failedRows.every((s) => s === "FAILED"), failedRows.join());
      // Keyboard: Tab to the first job and open it with Enter.
      await v.view.locator("tbody button.link").first().focus();
      await v.page.keyboard.press("Enter");
      await waitUntil(() => v.page.evaluate(() => window.viewCalls.length >= 4));  // the timeline's call too
      calls = await v.page.evaluate(() => window.viewCalls.slice(2).map((c) => c.name));
      check("keyboard: Enter on a job opens it (get_job, then get_job_activities)", calls.join() === "get_job,get_job_activities", calls.join());
      if (HOST.name === "app-bridge") {
        await v.view.locator("#mode").click();
        const mode = await waitUntil(() => v.frame.evaluate(() => document.documentElement.getAttribute("data-mode") === "fullscreen"));
        check("display mode: Full screen asks the host and follows its answer", mode);
      } else {
        check("display mode: a host without full screen gets no Full screen button", await v.view.locator("#mode").isHidden());
      }
      check("size: the view reported its size to the host", (await v.page.evaluate(() => window.sizes.length)) > 0);
      await v.page.evaluate(() => window.setTheme("dark"));
      const dark = await waitUntil(() => v.frame.evaluate(() => document.documentElement.getAttribute("data-theme") === "dark"
        && getComputedStyle(document.body).backgroundColor === "rgb(27, 27, 27)"));
      check("theme: host-context-changed to dark turns the view dark", dark);
      clean("list", v.seen);
    }
    await v.page.close();
  }
  // paging
  const pg = await open(browser, hostUrl, sandboxUrl, server, html, "list_jobs", { limit: 3 });
  await waitUntil(() => pg.view.locator("tbody tr").count());
  await pg.view.getByText("Next page").click();
  await waitUntil(() => pg.page.evaluate(() => window.viewCalls.length >= 2));
  const paged = await pg.page.evaluate(() => window.viewCalls[1]);
  check("list: Next page calls list_jobs {limit: 3, detail: full, offset: 3}", JSON.stringify(paged) ===
    JSON.stringify({ name: "list_jobs", arguments: { limit: 3, detail: "full", offset: 3 } }), JSON.stringify(paged));
  await pg.page.close();

  // Filters beyond status: job type, channel code, dates; the call and the rows.
  const f = await open(browser, hostUrl, sandboxUrl, server, html, "list_jobs", { limit: 20 });
  await waitUntil(() => f.view.locator("tbody tr .plat").count());
  await f.view.locator("#f-type").fill("nps-survey");
  await f.view.locator("#f-channel").fill("C0456SLACK");
  await f.view.locator("#f-from").fill("2024-07-01");
  await f.view.locator("#f-to").fill("2024-07-31");
  await f.view.locator("#f-apply").click();
  await waitUntil(() => f.page.evaluate(() => window.viewCalls.length >= 2));
  const filtered = await f.page.evaluate(() => window.viewCalls[1]);
  check("filters: type, channel code and dates call list_jobs with them", JSON.stringify(filtered) === JSON.stringify({ name: "list_jobs",
    arguments: { limit: 20, detail: "full", job_type_id: "nps-survey", channel_code: "C0456SLACK", created_at_gte: "2024-07-01",
      created_at_lte: "2024-07-31T23:59:59Z" } }), JSON.stringify(filtered));
  await waitUntil(async () => (await f.view.locator("tbody th").allTextContents()).join() === "job-0008");
  check("filters: the one job that matches", (await f.view.locator("tbody th").allTextContents()).join() === "job-0008",
    (await f.view.locator("tbody th").allTextContents()).join());
  clean("filters", f.seen);
  await f.page.close();

  // get_jobs_stats: the counts as a chart.
  for (const theme of ["light", "dark"]) for (const width of [480, 960]) {
    const s = await open(browser, hostUrl, sandboxUrl, server, html, "get_jobs_stats", {}, { theme, width });
    await waitUntil(() => s.view.locator("svg rect").count());
    const data = s.result.structuredContent;
    const figures = await s.view.locator(".figure b").allTextContents();
    const bars = await s.view.locator("svg text").allTextContents();
    await shot(s.page, `stats-${theme}-${width}`);
    const contrast = await s.frame.evaluate(CONTRAST);
    check(`stats ${theme} ${width}px: contrast >= 4.5:1`, contrast[0] >= 4.5, contrast.join(" at "));
    if (theme === "light" && width === 960) {
      check("stats: the total and the counts of the stand-in", figures[0] === String(data.total) &&
        ["running", "waiting", "scheduled", "completed", "failed", "canceled"].every((st, i) => bars[2 * i + 1] === String(data.counts[st])), figures.join() + " / " + bars.join());
      const said = await s.view.locator(".figure small").allTextContents();
      check("stats: success rate and completion rate explained", said[2] === "completed, of all jobs"
        && said[3].startsWith("completed, of the finished ones"), said.join(" | "));
      // One host clicks the bar; the other reaches it by keyboard (Enter).
      if (HOST.name === "app-bridge") await s.view.locator("g.barlink").nth(0).click();
      else { await s.view.locator("g.barlink").nth(0).focus(); await s.page.keyboard.press("Enter"); }
      await waitUntil(() => s.page.evaluate(() => window.viewCalls.length));
      const opened = await s.page.evaluate(() => window.viewCalls);
      check("stats: a bar opens those jobs (list_jobs {status: running})", JSON.stringify(opened) === JSON.stringify([{ name: "list_jobs",
        arguments: { limit: 20, detail: "full", status: "running" } }]), JSON.stringify(opened));
      await waitUntil(() => s.view.locator("tbody tr").count());
      const running = await s.view.locator("tbody .status").allTextContents();
      check("stats: ... and the list shows the running jobs", running.length === data.counts.running && running.every((x) => x === "RUNNING"), running.join());
      clean("stats", s.seen);
    }
    await s.page.close();
  }

  // get_job: the card and its timeline (paged through get_job_activities), hostile text.
  const hostile = (await server.call("create_job", { job_type_id: "customer-followup",
    target_channel: { platform: "whatsapp", code: "5511900000000" }, params: { customer_name: HOSTILE, order_id: "A-1" } })).structuredContent;
  const hostileId = (hostile.job || hostile).job_id;
  for (const theme of ["light", "dark"]) for (const width of [480, 960]) {
    const j = await open(browser, hostUrl, sandboxUrl, server, html, "get_job", { job_id: "job-0001" }, { theme, width });
    await waitUntil(() => j.view.locator("ol.timeline li").count());
    if (theme === "light" && width === 960) {
      const calls = await j.page.evaluate(() => window.viewCalls);
      check("job: the timeline comes from get_job_activities {job_id, limit: 10, offset: 0}", JSON.stringify(calls) ===
        JSON.stringify([{ name: "get_job_activities", arguments: { job_id: "job-0001", limit: 10, offset: 0 } }]), JSON.stringify(calls));
      const items = await j.view.locator("ol.timeline li").count();
      check("job: the card and the stand-in's 4 activities", items === 4 &&
        (await j.view.locator("#job-h").textContent()) === "Job job-0001", items + " activities");
      const heads = await j.frame.evaluate(() => Array.from(document.querySelectorAll("h1, h2")).map((x) => x.textContent));
      check("job: \"Job job-0001\" said once", heads.filter((x) => x.includes("job-0001")).length === 1, heads.join(" | "));
      const who = await j.view.locator("ol.timeline .who").allTextContents();
      check("timeline: who spoke (the bot's completions, the system's dispatch)", who.join() === "The bot,The system,The bot,The bot", who.join());
      const more = j.view.locator("ol.timeline li").first().locator("button.more");
      check("timeline: a long message is cut, with a way to open it", (await more.textContent()).startsWith("Show the whole message (")
        && (await j.view.locator("ol.timeline li pre").first().textContent()).endsWith("A long ans\u2026"));
      await more.click();
      await waitUntil(async () => (await j.view.locator("ol.timeline li").first().locator("button.more").count()) === 0);
      const full = await j.view.locator("ol.timeline li pre").first().textContent();
      const last = await j.page.evaluate(() => window.viewCalls[window.viewCalls.length - 1]);
      check("timeline: opening it reads that activity whole (get_job_activities {limit: 1, offset: 0, detail: full})",
        full === "A long answer. ".repeat(30) && JSON.stringify(last) === JSON.stringify({ name: "get_job_activities",
          arguments: { job_id: "job-0001", limit: 1, offset: 0, detail: "full" } }), full.length + " characters; " + JSON.stringify(last));
      check("job: no [ext: marker shown anywhere", !(await j.frame.evaluate(() => document.body.innerText)).includes("[ext:"));
      clean("job", j.seen);
    }
    const contrast = await j.frame.evaluate(CONTRAST);
    check(`job ${theme} ${width}px: contrast >= 4.5:1`, contrast[0] >= 4.5, contrast.join(" at "));
    await shot(j.page, `job-${theme}-${width}`);
    await j.page.close();
  }
  const h = await open(browser, hostUrl, sandboxUrl, server, html, "get_job", { job_id: hostileId });
  await waitUntil(() => h.view.locator("#job-h").count());
  const text = await h.view.locator("dl").nth(1).textContent();
  const imgs = await h.frame.evaluate(() => document.querySelectorAll("img").length);
  const title = await h.page.title();
  check("hostile text: <img src=x onerror=...> stays text", text.includes(HOSTILE) && imgs === 0 && title !== "pwned", text.slice(0, 80));
  const raw = JSON.stringify(h.result.structuredContent.job.params.customer_name);
  const marked = await h.view.locator("dd .ext").allTextContents();
  check("third-party text: the [ext:TOKEN] pair is stripped and the text shown apart", /^"\[ext:[0-9a-f]{10}\]/.test(raw)
    && marked.includes(HOSTILE) && !text.includes("[ext:"), raw.slice(0, 40));
  clean("hostile text", h.seen);
  await h.page.close();

  // An isError result: its text.
  for (const theme of ["light", "dark"]) for (const width of [480, 960]) {
    const e = await open(browser, hostUrl, sandboxUrl, server, html, "get_job", { job_id: "no-such-job" }, { theme, width });
    await waitUntil(() => e.view.locator("[role=alert]").count());
    const shownText = await e.view.locator("[role=alert] pre").textContent();
    if (theme === "light" && width === 960)
      check("error: an isError result shows its text, no marker", e.result.isError &&
        shownText === e.result.content[0].text.replace(/\[ext:[0-9a-f]{10}\]/g, "") && !shownText.includes("[ext:"), shownText.slice(0, 80));
    await shot(e.page, `error-${theme}-${width}`);
    await e.page.close();
  }

  // Cancel: one DELETE, the outcome shown.
  const job = (await server.call("create_job", { job_type_id: "customer-followup",
    target_channel: { platform: "whatsapp", code: "5511900000001" }, params: { customer_name: "Ana" } })).structuredContent;
  const jobId = (job.job || job).job_id;
  const c = await open(browser, hostUrl, sandboxUrl, server, html, "get_job", { job_id: jobId });
  await c.view.locator("#cancel").click();
  await c.view.locator("#cancel-reason").fill("Wrong template");
  await shot(c.page, "cancel-asking");
  await c.view.locator("#cancel-yes").click();
  await waitUntil(() => c.view.locator("#outcome strong").count());
  await waitUntil(() => deletes(api, jobId) > 0, 2000);
  const cancelCalls = await c.page.evaluate(() => window.viewCalls.filter((x) => x.name !== "get_job_activities"));
  check("cancel: through the host's approval, the typed reason, exactly one DELETE", deletes(api, jobId) === 1 &&
    c.approvals.join() === "cancel_job" && JSON.stringify(cancelCalls[0]) === JSON.stringify({ name: "cancel_job",
      arguments: { job_id: jobId, reason: "Wrong template" } }), deletes(api, jobId) + " DELETE; " + JSON.stringify(cancelCalls));
  const now = await c.view.locator(".card dd .status").first().textContent();
  const cardText = await c.frame.evaluate(() => document.body.innerText);
  check("cancel: the job read again (get_job), the card says CANCELED, in the view's words, no marker",
    cancelCalls.length === 2 && cancelCalls[1].name === "get_job" && now === "CANCELED" &&
    (await c.view.locator("#outcome strong").textContent()) === "Canceled" && !cardText.includes("[ext:") && !/Cancelled/.test(cardText),
    now + "; " + cancelCalls.map((x) => x.name).join());
  await shot(c.page, "cancel-done");
  clean("cancel", c.seen);
  await c.page.close();

  // Many jobs under one decision: select, preview through the host, yes, the outcome.
  await bulkChecks(api, browser, hostUrl, sandboxUrl, server, html, servers);
  }

  // Read-only: no Cancel control, no DELETE.
  const ro = startServer(api, "initialize", { AGENTJOBS_READ_ONLY: "1" });
  servers.push(await ro.start());
  const roHtml = (await ro.request("resources/read", { uri: "ui://agentjobs/dashboard" })).result.contents[0].text;
  const r = await open(browser, hostUrl, sandboxUrl, ro, roHtml, "get_job", { job_id: "job-0002" });
  await waitUntil(() => r.view.locator("#job-h").count());
  check("read-only: no Cancel control on a waiting job", (await r.view.locator("#cancel").count()) === 0 && deletes(api, "job-0002") === 0);
  await r.page.close();
  const rl = await open(browser, hostUrl, sandboxUrl, ro, roHtml, "list_jobs", { limit: 5 });
  await waitUntil(() => rl.view.locator("tbody tr .plat").count());
  check("read-only: no selection, no Cancel N jobs", (await rl.view.locator("#select-all, input.pick, #bulk-cancel").count()) === 0);
  await rl.page.close();

  // AGENTJOBS_CONFIRM=cancel_job: the confirmation happens; a decline is shown, no DELETE.
  const cf = startServer(api, "initialize", { AGENTJOBS_CONFIRM: "cancel_job" }, "decline");
  servers.push(await cf.start());
  const d = await open(browser, hostUrl, sandboxUrl, cf, html, "get_job", { job_id: "job-0002" });
  await d.view.locator("#cancel").click();
  await d.view.locator("#cancel-yes").click();
  await waitUntil(() => d.view.locator("#outcome strong").count());
  check("confirm: the client was asked, the refusal is shown in the view's words, no DELETE", cf.elicited === 1 && deletes(api, "job-0002") === 0 &&
    (await d.view.locator("#outcome strong").textContent()) === "Not canceled" &&
    (await d.view.locator("#outcome p").first().textContent()) === "You said no in the confirmation. Nothing was sent.",
    (await d.view.locator("#outcome").textContent()).slice(0, 160));
  await d.page.close();

  // Lockdown: the model's result withholds the customer's text; the view reads it through
  // view_read (visibility ["app"]), and shows the notices where the host refuses that tool.
  const SAID = "Customer reply: call me after 6pm, not before";
  const made = (await plain.call("create_job", { job_type_id: "customer-followup",
    target_channel: { platform: "whatsapp", code: "5511900000002" }, params: { customer_name: SAID } })).structuredContent;
  const saidId = (made.job || made).job_id;
  const lk = startServer(api, "initialize", { AGENTJOBS_LOCKDOWN: "1" });
  servers.push(await lk.start());
  const lockedTools = (await lk.request("tools/list")).result.tools;
  const app = lockedTools.find((t) => t.name === "view_read");
  check("lockdown: view_read is listed for the view only (visibility [\"app\"])", !!app &&
    JSON.stringify(app._meta.ui.visibility) === '["app"]', JSON.stringify(app && app._meta));
  const l = await open(browser, hostUrl, sandboxUrl, lk, html, "get_job", { job_id: saidId });
  await waitUntil(() => l.view.locator("ol.timeline li, ol.timeline ~ p, section .note").count());
  const modelSaw = JSON.stringify(l.result);
  const shownSaid = await l.view.locator("dd .ext").allTextContents();
  check("lockdown: the model's result withholds the customer's text, the view shows it", !modelSaw.includes(SAID)
    && modelSaw.includes("[withheld in lockdown: job params") && shownSaid.includes(SAID), shownSaid.join(" | ").slice(0, 120));
  const lockedCalls = await l.page.evaluate(() => window.viewCalls);
  check("lockdown: the view read the job and its activities through view_read", JSON.stringify(lockedCalls) === JSON.stringify([
    { name: "view_read", arguments: { tool: "get_job", arguments: { job_id: saidId } } },
    { name: "view_read", arguments: { tool: "get_job_activities", arguments: { job_id: saidId, limit: 10, offset: 0 } } }]),
    JSON.stringify(lockedCalls));
  clean("lockdown", l.seen);
  await l.page.close();
  const lf = await open(browser, hostUrl, sandboxUrl, lk, html, "list_jobs", { limit: 20 });
  await waitUntil(() => lf.view.locator("tbody tr").count());
  await lf.view.locator("#filter").selectOption("failed");
  await waitUntil(() => lf.page.evaluate(() => window.viewCalls.length >= 2));
  const listCalls = await lf.page.evaluate(() => window.viewCalls);
  check("lockdown: the list is read again, and filtered, through view_read", JSON.stringify(listCalls) === JSON.stringify([
    { name: "view_read", arguments: { tool: "list_jobs", arguments: { limit: 20, detail: "full" } } },
    { name: "view_read", arguments: { tool: "list_jobs", arguments: { limit: 20, detail: "full", status: "failed" } } }]), JSON.stringify(listCalls));
  await lf.page.close();
  const n = await open(browser, hostUrl, sandboxUrl, lk, html, "get_job", { job_id: saidId }, { refuse: ["view_read"] });
  await waitUntil(async () => (await n.view.locator("section.card > p").allTextContents()).some((t) => t.includes("[withheld in lockdown:")));
  const notices = await n.view.locator("dd, section.card > p").allTextContents();
  check("lockdown, a host that refuses view_read: the view shows the withheld notices", !notices.join().includes(SAID)
    && notices.some((t) => t.startsWith("[withheld in lockdown: job params")), notices.join(" | ").slice(0, 160));
  await n.page.close();
}

const jobIdOf = (result) => { const c = result.structuredContent; return (c.job || c).job_id; };

// cancel_jobs from the view: rows selected, a preview through the host (no DELETE), the
// person's yes through the host's approval, one DELETE each, the list read again; and the
// same refused by the host at the apply: no DELETE, said so. Then the auto-refresh.
async function bulkChecks(api, browser, hostUrl, sandboxUrl, server, html, servers) {
  const made = [];
  for (let i = 0; i < 3; i++) made.unshift(jobIdOf(await server.call("create_job", { job_type_id: "nps-survey",
    target_channel: i ? { platform: "slack", code: "C0BULK" + i } : { platform: "whatsapp", code: "5511977700000" },
    params: { customer_name: "Bulk " + i } })));
  const b = await open(browser, hostUrl, sandboxUrl, server, html, "list_jobs", { limit: 3 });
  await waitUntil(() => b.view.locator("tbody tr .plat").count());
  await b.view.locator("#select-all").check();
  await b.view.locator("#bulk-cancel").click();
  await b.view.locator("#bulk-reason").fill("Wrong list");
  await b.view.locator("#bulk-preview").click();
  await waitUntil(() => b.view.locator("#bulk-yes").count());
  const previewCall = await b.page.evaluate(() => window.viewCalls[1]);
  const listed = await b.view.locator("#bulk-list li").count();
  check("bulk: all on this page selected, cancel_jobs asked for a preview {job_ids, reason}, no DELETE", JSON.stringify(previewCall) ===
    JSON.stringify({ name: "cancel_jobs", arguments: { job_ids: made, reason: "Wrong list" } }) && listed === 3 &&
    made.every((id) => deletes(api, id) === 0) && (await b.view.locator("#bulk-h").textContent()) === "Cancel these 3 jobs?",
    JSON.stringify(previewCall));
  await shot(b.page, "bulk-preview-light-960");
  await b.view.locator("#bulk-yes").click();
  await waitUntil(() => b.view.locator("#outcome strong").count());
  await waitUntil(async () => (await b.view.locator("tbody .status").allTextContents()).every((x) => x === "CANCELED"));
  const apply = await b.page.evaluate(() => window.viewCalls.find((c) => c.name === "cancel_jobs" && c.arguments.confirm));
  check("bulk: the yes applies that preview (its token), through the host's approval, one DELETE each",
    apply && JSON.stringify(apply.arguments.job_ids) === JSON.stringify(made) && apply.arguments.reason === "Wrong list"
    && typeof apply.arguments.confirm === "string" && b.approvals.join() === "cancel_jobs,cancel_jobs"
    && made.every((id) => deletes(api, id) === 1), made.map((id) => deletes(api, id)).join() + "; " + b.approvals.join());
  const outcome = await b.view.locator("#outcome").textContent();
  const statuses = await b.view.locator("tbody .status").allTextContents();
  check("bulk: the outcome per job, and the list read again shows them canceled", outcome.startsWith("3 jobs canceled.")
    && made.every((id) => outcome.includes(id + ": canceled")) && statuses.join() === "CANCELED,CANCELED,CANCELED", outcome.slice(0, 160));
  await shot(b.page, "bulk-done-light-960");
  clean("bulk", b.seen);
  await b.page.close();

  const kept = [];
  for (let i = 0; i < 2; i++) kept.unshift(jobIdOf(await server.call("create_job", { job_type_id: "customer-followup",
    target_channel: { platform: "web", code: "web-bulk-" + i }, params: { customer_name: "Kept " + i } })));
  const n = await open(browser, hostUrl, sandboxUrl, server, html, "list_jobs", { limit: 2 },
    { theme: "dark", width: 480, approve: ["yes", "no"] });
  await waitUntil(() => n.view.locator("tbody tr .plat").count());
  await n.view.locator("input.pick").nth(0).check();
  await n.view.locator("input.pick").nth(1).check();
  await n.view.locator("#bulk-cancel").click();
  await n.view.locator("#bulk-preview").click();
  await waitUntil(() => n.view.locator("#bulk-yes").count());
  const wide = await n.frame.evaluate(WIDER);
  check("bulk 480px: the preview fits, no sideways scrolling", !wide.length, wide.join(" | "));
  await shot(n.page, "bulk-preview-dark-480");
  await n.view.locator("#bulk-yes").click();
  await waitUntil(() => n.view.locator("#outcome strong").count());
  await waitUntil(() => n.view.locator("tbody .status").count());
  const said = await n.view.locator("#outcome").textContent();
  const still = await n.view.locator("tbody .status").allTextContents();
  check("bulk: the host refused the apply: no DELETE, said so, the jobs still waiting", n.approvals.join() === "cancel_jobs,cancel_jobs"
    && kept.every((id) => deletes(api, id) === 0) && said.startsWith("Nothing was canceled.The host did not pass the call on")
    && still.join() === "WAITING,WAITING", said.slice(0, 160) + " / " + still.join());
  await shot(n.page, "bulk-refused-dark-480");
  clean("bulk refused", n.seen);
  await n.page.close();

  // AGENTJOBS_CONFIRM=cancel_jobs: the person is asked once before any DELETE; a no is said so.
  const cj = startServer(api, "initialize", { AGENTJOBS_CONFIRM: "cancel_jobs" }, "decline");
  servers.push(await cj.start());
  const asked = jobIdOf(await server.call("create_job", { job_type_id: "customer-followup",
    target_channel: { platform: "web", code: "web-bulk-confirm" }, params: { customer_name: "Asked" } }));
  const q = await open(browser, hostUrl, sandboxUrl, cj, html, "list_jobs", { limit: 1 });
  await waitUntil(() => q.view.locator("tbody tr .plat").count());
  await q.view.locator("input.pick").first().check();
  await q.view.locator("#bulk-cancel").click();
  await q.view.locator("#bulk-preview").click();
  await waitUntil(() => q.view.locator("#bulk-yes").count());
  await q.view.locator("#bulk-yes").click();
  await waitUntil(() => q.view.locator("#outcome strong").count());
  const told = await q.view.locator("#outcome p").first().textContent();
  check("bulk under AGENTJOBS_CONFIRM=cancel_jobs: asked once, the no shown in the view's words, no DELETE",
    cj.elicited === 1 && deletes(api, asked) === 0 && told === "You said no in the confirmation. Nothing was sent.", cj.elicited + " asked; " + told);
  await q.page.close();

  // The model's own preview (a host shows the view beside cancel_jobs): the person's yes
  // in the view applies exactly it.
  const one = jobIdOf(await server.call("create_job", { job_type_id: "customer-followup",
    target_channel: { platform: "whatsapp", code: "5511977700009" }, params: { customer_name: "Model" } }));
  const m = await open(browser, hostUrl, sandboxUrl, server, html, "cancel_jobs", { job_ids: [one] });
  await waitUntil(() => m.view.locator("#bulk-yes").count());
  const heading = await m.view.locator("#bulk-h").textContent();
  await m.view.locator("#bulk-yes").click();
  await waitUntil(() => m.view.locator("#outcome strong").count());
  const applied = await m.page.evaluate(() => window.viewCalls);
  check("bulk: the model's preview shown in the view, the person's yes applies it (one DELETE)", heading === "Cancel this job?"
    && applied.length === 1 && applied[0].arguments.confirm === m.result.structuredContent.confirm && deletes(api, one) === 1
    && (await m.view.locator("#outcome strong").textContent()) === "1 job canceled.", heading + "; " + JSON.stringify(applied).slice(0, 120));
  clean("bulk from the model", m.seen);
  await m.page.close();

  // Auto-refresh: off by default; on, the view reads the list again every 30 s (a fake clock).
  const a = await open(browser, hostUrl, sandboxUrl, server, html, "list_jobs", { limit: 2 }, { clock: true });
  await waitUntil(() => a.view.locator("tbody tr .plat").count());
  const before = await a.page.evaluate(() => window.viewCalls.length);
  await a.view.locator("#auto").check();
  await a.page.clock.runFor(30000);
  await waitUntil(() => a.page.evaluate((k) => window.viewCalls.length > k, before), 3000);
  const again = await a.page.evaluate(() => window.viewCalls.slice(-1)[0]);
  check("auto-refresh: every 30 s the list is read again, and the time of the last update shown", JSON.stringify(again) ===
    JSON.stringify({ name: "list_jobs", arguments: { limit: 2, detail: "full" } }) &&
    /^Updated \S/.test(await a.view.locator("#updated").textContent()), JSON.stringify(again));
  await a.page.close();
}

main().catch((error) => { console.error(error); console.log(`${passed} passed, ${failed + 1} failed`); process.exitCode = 1; });

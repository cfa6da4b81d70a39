// The official TypeScript SDK clients against the real server, over stdio (run by interop/run.py).
//   @modelcontextprotocol/sdk (v1 line): 1.32.2 speaks 2025-11-25; the older pins in package.json
//     (sdk-2024-11-05 = 1.10.2, sdk-2025-03-26 = 1.12.3, sdk-2025-06-18 = 1.22.0) are releases
//     whose LATEST_PROTOCOL_VERSION is that revision: a v1 client always asks for its own.
//   @modelcontextprotocol/client 2.4.0: versionNegotiation "legacy" (initialize), "auto"
//     (server/discover probe, in a sibling process on stdio) and {pin: "2026-07-28"}.
// Each session: the negotiated revision, server info, tools/list (every name), every tool
// called (not isError, text, structuredContent present and valid against the outputSchema with
// Ajv 2020-12 - the SDK validates it too - or, for revisions before 2025-06-18, neither
// outputSchema nor structuredContent), and two calls that must come back as isError. Before the
// tools: resource templates, resources/list (the context and the session's running job), that job
// read (application/json + text/markdown), an unknown job (-32002; -32602 under 2026-07-28),
// job_id and job_type_id completions, prompts/list and prompts/get (and a missing required
// argument: -32602), and a log message: logging/setLevel in the initialize era, the per-request
// _meta["io.modelcontextprotocol/logLevel"] under 2026-07-28.
// Env: AGENTJOBS_SERVER, AGENTJOBS_PYTHON, AICONNECT_API_URL, AICONNECT_API_KEY,
// RUNNING_JOBS (comma-separated ids, one per session: cancelled with the reason "<label> <id>";
// create_job uses the channel code "interop-<id>"; run.py checks both on the stand-in API's
// side), PLAN_FILE (written here: {job id: session label}).
// One line per check, then "N passed, N failed".
import { Client as V2Client } from "@modelcontextprotocol/client";
import { StdioClientTransport as V2Stdio } from "@modelcontextprotocol/client/stdio";
import Ajv2020 from "ajv/dist/2020.js";
import { writeFileSync } from "node:fs";

const env = process.env;
const running = (env.RUNNING_JOBS || "").split(",");
const TOOLS = ["cancel_job", "cancel_jobs", "create_job", "get_context", "get_job", "get_job_activities",
               "get_job_type", "get_jobs_stats", "list_jobs", "watch_job"];
let passed = 0, failed = 0;
const ajv = new Ajv2020({ strict: false, allErrors: true });

function check(label, ok, detail) {
  if (ok) passed++; else failed++;
  const text = detail ? ": " + String(detail).replace(/\s+/g, " ").slice(0, 160) : "";
  console.log(`${ok ? "ok  " : "FAIL"} ${label}${text}`);
}

function calls(job, who) {
  return [
    ["get_context", {}],
    ["list_jobs", { status: "running", limit: 5 }],
    ["get_jobs_stats", { created_at_gte: "2024-01-01" }],
    ["get_job", { job_id: "job-0001", include_activities: true }],
    ["get_job_activities", { job_id: "job-0001", limit: 2 }],
    ["get_job_type", { job_type_id: "customer-followup" }],
    ["watch_job", { job_id: "job-0004", wait: 5 }],  // COMPLETED: answered at once
    ["create_job", { job_type_id: "customer-followup", target_channel: { platform: "web", code: `interop-${job}` },
                     params: { customer_name: "Ana" } }],
    ["cancel_job", { job_id: job, reason: `${who} ${job}` }],
  ];
}

// A v1 transport wrapper that records the initialize exchange (the v1 Client has no getter
// for the negotiated revision in its older releases).
class Spy {
  constructor(inner) { this.inner = inner; this.sent = []; this.received = []; }
  async start() {
    this.inner.onmessage = (message, extra) => { this.received.push(message); this.onmessage?.(message, extra); };
    this.inner.onclose = () => this.onclose?.();
    this.inner.onerror = (error) => this.onerror?.(error);
    return this.inner.start();
  }
  send(message, options) { this.sent.push(message); return this.inner.send(message, options); }
  close() { return this.inner.close(); }
  get sessionId() { return this.inner.sessionId; }
  setProtocolVersion(version) { this.inner.setProtocolVersion?.(version); }
  negotiated() {
    const request = this.sent.find((m) => m.method === "initialize");
    const answer = request && this.received.find((m) => m.id === request.id);
    return { asked: request?.params?.protocolVersion, got: answer?.result?.protocolVersion };
  }
}

async function failure(promise) {  // the JSON-RPC error code and message a request fails with
  try { await promise; return { code: null, message: "no error" }; }
  catch (error) { return { code: error.code, message: String(error.message) }; }
}

async function features(label, client, job, revision, logs, spy) {
  const modern = revision >= "2026";
  const logMeta = { "io.modelcontextprotocol/logLevel": "debug" };
  if (!modern) await client.setLoggingLevel("debug");
  const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
  check(`${label}: resources/templates/list`, templates.join() === "agentjobs://jobs/{job_id},agentjobs://job-types/{job_type_id}",
        templates.join(", "));
  const uris = (await client.listResources()).resources.map((r) => r.uri);
  check(`${label}: resources/list -> the context and the running job`, uris[0] === "agentjobs://context" &&
        uris.includes(`agentjobs://jobs/${job}`), `${uris.length} resources`);
  const read = await client.readResource({ uri: `agentjobs://jobs/${job}` });
  const kinds = read.contents.map((c) => c.mimeType);
  let data = {};
  try { data = JSON.parse(read.contents[0].text); } catch (_) { /* checked below */ }
  check(`${label}: resources/read ${job} -> JSON and markdown`, kinds.join() === "application/json,text/markdown" &&
        data.job && data.job.job_id === job && read.contents[1].text.includes(job), kinds.join(", "));
  const missing = await failure(client.readResource({ uri: "agentjobs://jobs/no-such-job" }));
  // The code as sent: the v2 client reports a -32002 that carries data.uri as its
  // ResourceNotFoundError, whose code is -32602, so it is read off the transport.
  const sent = spy.received.filter((m) => m.error).pop();
  const notFound = modern ? -32602 : -32002;
  check(`${label}: resources/read of an unknown job -> ${notFound}`, sent && sent.error.code === notFound &&
        sent.error.data && sent.error.data.uri === "agentjobs://jobs/no-such-job" &&
        missing.message.includes("No job 'no-such-job'"), `${sent && sent.error.code} ${missing.message}`);
  const done = await client.complete({ ref: { type: "ref/prompt", name: "cancel" },
                                       argument: { name: "job_id", value: job.slice(0, -1) } });
  check(`${label}: completion/complete cancel.job_id '${job.slice(0, -1)}'`, done.completion.values.includes(job),
        done.completion.values.join(", "));
  const types = await client.complete({ ref: { type: "ref/resource", uri: "agentjobs://job-types/{job_type_id}" },
                                        argument: { name: "job_type_id", value: "cust" } });
  check(`${label}: completion/complete job_type_id 'cust'`, types.completion.values.join() === "customer-followup",
        types.completion.values.join(", "));
  const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
  check(`${label}: prompts/list`, prompts.join() === "triage,cancel,report", prompts.join(", "));
  const got = await client.getPrompt({ name: "cancel", arguments: { job_id: job } });
  const text = got.messages[0].content.text;
  check(`${label}: prompts/get cancel`, text.includes(`cancel_job with job_id="${job}"`), text);
  const bad = await failure(client.getPrompt({ name: "cancel", arguments: {} }));
  check(`${label}: prompts/get cancel without job_id -> -32602`, bad.code === -32602 && bad.message.includes("'job_id'"),
        `${bad.code} ${bad.message}`);
  await client.callTool({ name: "get_job", arguments: { job_id: job }, ...(modern ? { _meta: logMeta } : {}) });
  check(`${label}: log message received (${modern ? "per-request _meta logLevel" : "logging/setLevel"})`,
        logs.some((m) => m.level === "debug" && m.logger === "agentjobs_mcp" && String(m.data).includes(`GET http`)),
        `${logs.length} messages`);
}

async function session(label, client, transport, job, negotiated, logs) {  // transport: a Spy
  try {
    await client.connect(transport);
    const version = negotiated();
    check(`${label}: negotiated revision`, version.ok, version.detail);
    const info = client.getServerVersion();
    check(`${label}: server info`, info && info.name === "agentjobs-mcp", JSON.stringify(info));
    await features(label, client, job, version.revision, logs, transport);
    const listed = await client.listTools();
    const tools = Object.fromEntries(listed.tools.map((t) => [t.name, t]));
    const names = Object.keys(tools).sort();
    check(`${label}: tools/list -> ${names.length} tools`, names.join() === TOOLS.join(), names.join(", "));
    const structured = version.revision >= "2025-06-18";
    for (const [name, args] of calls(job, label)) {
      let result;
      try {
        result = await client.callTool({ name, arguments: args });
      } catch (error) {  // e.g. the SDK's own outputSchema check; the other tools still run
        check(`${label}: tools/call ${name}`, false, `${error.name}: ${error.message}`);
        continue;
      }
      const text = result.content && result.content[0] ? result.content[0].text : "";
      const problems = [];
      if (result.isError) problems.push("isError: " + text);
      if (!text) problems.push("no text");
      const schema = tools[name] && tools[name].outputSchema;
      if (structured) {
        if (!schema) problems.push("no outputSchema listed");
        else if (result.structuredContent === undefined) problems.push("no structuredContent");
        else {
          const validate = ajv.compile(schema);
          if (!validate(result.structuredContent)) problems.push("structuredContent: " + ajv.errorsText(validate.errors));
        }
      } else if (schema !== undefined || result.structuredContent !== undefined) {
        problems.push(`outputSchema/structuredContent sent to a ${version.revision} client`);
      }
      check(`${label}: tools/call ${name}`, problems.length === 0, problems.join("; ") ||
            `${text.length} characters${structured ? ", structuredContent valid" : ", text only (no structuredContent before 2025-06-18)"}`);
    }
    const unknown = await client.callTool({ name: "get_job", arguments: { job_id: "no-such-job" } });
    check(`${label}: get_job of an unknown id -> isError`, unknown.isError === true &&
          unknown.content[0].text.includes("No job 'no-such-job'"), unknown.content[0].text);
    const bad = await client.callTool({ name: "list_jobs", arguments: { limit: 0 } });
    check(`${label}: list_jobs limit=0 -> isError`, bad.isError === true && bad.content[0].text.includes("'limit'"),
          bad.content[0].text);
    await client.close();
  } catch (error) {
    check(`${label}: session`, false, `${error.name}: ${error.message}`);
    try { await client.close(); } catch (_) { /* already broken */ }
  }
}

const serverParams = {
  command: env.AGENTJOBS_PYTHON,
  args: [env.AGENTJOBS_SERVER],
  env: { AICONNECT_API_URL: env.AICONNECT_API_URL, AICONNECT_API_KEY: env.AICONNECT_API_KEY, PATH: env.PATH || "" },
};

const v1 = [  // [npm name in package.json, its version, the revision it asks for]
  ["sdk-2024-11-05", "1.10.2", "2024-11-05"],
  ["sdk-2025-03-26", "1.12.3", "2025-03-26"],
  ["sdk-2025-06-18", "1.22.0", "2025-06-18"],
  ["@modelcontextprotocol/sdk", "1.32.2", "2025-11-25"],
];
const modes = [  // [label, versionNegotiation, the revision expected]
  ["legacy", { mode: "legacy" }, "2025-11-25"],
  ["auto", { mode: "auto" }, "2026-07-28"],
  ["2026-07-28", { mode: { pin: "2026-07-28" } }, "2026-07-28"],
];
const labels = [...v1.map(([, version]) => `ts-sdk ${version}`), ...modes.map(([mode]) => `ts-client 2.4.0 ${mode}`)];
if (env.PLAN_FILE) writeFileSync(env.PLAN_FILE, JSON.stringify(Object.fromEntries(labels.map((l, i) => [running[i], l]))));
let index = 0;
for (const [pkg, version, revision] of v1) {
  const { Client } = await import(`${pkg}/client/index.js`);
  const { StdioClientTransport } = await import(`${pkg}/client/stdio.js`);
  const { LoggingMessageNotificationSchema } = await import(`${pkg}/types.js`);
  const spy = new Spy(new StdioClientTransport(serverParams));
  const client = new Client({ name: "interop-ts-sdk", version });
  const logs = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => { logs.push(n.params); });
  await session(labels[index], client, spy, running[index++], () => {
    const { asked, got } = spy.negotiated();
    return { ok: asked === revision && got === revision, revision: got, detail: `asked ${asked}, got ${got}` };
  }, logs);
}

for (const [mode, versionNegotiation, revision] of modes) {
  const client = new V2Client({ name: "interop-ts-client", version: "2.4.0" }, { versionNegotiation });
  const logs = [];
  client.setNotificationHandler("notifications/message", (n) => { logs.push(n.params); });
  await session(labels[index], client, new Spy(new V2Stdio(serverParams)), running[index++], () => {
    const got = client.getNegotiatedProtocolVersion();
    const era = client.getProtocolEra();
    return { ok: got === revision && era === (revision >= "2026" ? "modern" : "legacy"), revision: got,
             detail: `${got} (${era} era)` };
  }, logs);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

// The official TypeScript SDK clients against the real server, over stdio.
//   @modelcontextprotocol/sdk 1.x: the initialize era (it knows no other)
//   @modelcontextprotocol/client 2.x: forced to the initialize era, auto, and pinned to 2026-07-28
// Lists the tools, calls every tool, checks text, isError and structuredContent (the SDK
// validates it against the outputSchema; so does this script, with the SDK's own ajv).
// Env: AGENTJOBS_SERVER (path of agentjobs_mcp.py), AGENTJOBS_PYTHON, AICONNECT_API_URL,
// AICONNECT_API_KEY, RUNNING_JOBS (comma-separated ids to cancel, one per session).
// One line per check, then "N passed, N failed".
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport as V1Stdio } from "@modelcontextprotocol/sdk/client/stdio.js";
import { Client as V2Client } from "@modelcontextprotocol/client";
import { StdioClientTransport as V2Stdio } from "@modelcontextprotocol/client/stdio";
import Ajv from "ajv";

const env = process.env;
const running = (env.RUNNING_JOBS || "").split(",");
let passed = 0, failed = 0;
const ajv = new Ajv({ strict: false, allErrors: true });

function check(label, ok, detail) {
  if (ok) passed++; else failed++;
  const text = detail ? ": " + String(detail).replace(/\s+/g, " ").slice(0, 160) : "";
  console.log(`${ok ? "ok  " : "FAIL"} ${label}${text}`);
}

function calls(jobToCancel, who) {
  return [
    ["get_context", {}],
    ["list_jobs", { status: "running", limit: 5 }],
    ["get_jobs_stats", { created_at_gte: "2024-01-01" }],
    ["get_job", { job_id: "job-0001", include_activities: true }],
    ["get_job_activities", { job_id: "job-0001", limit: 2 }],
    ["get_job_type", { job_type_id: "customer-followup" }],
    ["create_job", { job_type_id: "customer-followup",
                     target_channel: { platform: "web", code: "ts-user" }, params: { customer_name: "Ana" } }],
    ["cancel_job", { job_id: jobToCancel, reason: `${who} ${jobToCancel}` }],
  ];
}

async function session(label, client, transport, jobToCancel, expectVersion) {
  try {
    await client.connect(transport);
    if (expectVersion) {
      const era = typeof client.getProtocolEra === "function" ? client.getProtocolEra() : "legacy";
      check(`${label} era`, era === expectVersion, era);
    }
    const info = client.getServerVersion();
    check(`${label} server info`, info && info.name === "agentjobs-mcp", JSON.stringify(info));
    const listed = await client.listTools();
    const tools = Object.fromEntries(listed.tools.map((t) => [t.name, t]));
    check(`${label} tools/list`, listed.tools.length === 8, `${listed.tools.length} tools`);
    for (const [name, args] of calls(jobToCancel, label)) {
      const result = await client.callTool({ name, arguments: args });
      const text = result.content && result.content[0] ? result.content[0].text : "";
      const problems = [];
      if (result.isError) problems.push("isError: " + text);
      if (!text) problems.push("no text");
      const validate = ajv.compile(tools[name].outputSchema);
      if (!validate(result.structuredContent)) problems.push("structuredContent: " + ajv.errorsText(validate.errors));
      check(`${label} tools/call ${name}`, problems.length === 0,
            problems.join("; ") || `${text.length} characters, structuredContent valid`);
    }
    const bad = await client.callTool({ name: "get_job", arguments: { job_id: "no-such-job" } });
    check(`${label} unknown job is an error result`, bad.isError === true &&
          bad.content[0].text.includes("No job 'no-such-job'"), bad.content[0].text);
    await client.close();
  } catch (error) {
    check(`${label} session`, false, `${error.name}: ${error.message}`);
    try { await client.close(); } catch (_) { /* already broken */ }
  }
}

const serverParams = {
  command: env.AGENTJOBS_PYTHON,
  args: [env.AGENTJOBS_SERVER],
  env: { AICONNECT_API_URL: env.AICONNECT_API_URL, AICONNECT_API_KEY: env.AICONNECT_API_KEY,
         PATH: env.PATH || "" },
};

await session("ts-sdk-v1 (initialize era)", new V1Client({ name: "interop-ts-v1", version: "1.0.0" }),
              new V1Stdio(serverParams), running[0], null);
await session("ts-client-v2 legacy", new V2Client({ name: "interop-ts-v2", version: "1.0.0" },
              { versionNegotiation: { mode: "legacy" } }), new V2Stdio(serverParams), running[1], "legacy");
await session("ts-client-v2 auto", new V2Client({ name: "interop-ts-v2", version: "1.0.0" },
              { versionNegotiation: { mode: "auto" } }), new V2Stdio(serverParams), running[2], "modern");
await session("ts-client-v2 2026-07-28", new V2Client({ name: "interop-ts-v2", version: "1.0.0" },
              { versionNegotiation: { mode: { pin: "2026-07-28" } } }), new V2Stdio(serverParams), running[3], "modern");
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

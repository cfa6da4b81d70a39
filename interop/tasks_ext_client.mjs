// MCP tasks through the reference requester, @modelcontextprotocol/ext-tasks 0.2.2, on the
// TypeScript client 2.4.0 over stdio, in both generations (run by interop/run.py):
//   v1: versionNegotiation "legacy" -> 2025-11-25, the server's capabilities.tasks -> experimental
//       tasks (a call becomes a task when the tool says optional and the caller prefers one);
//   v2: versionNegotiation "auto" -> 2026-07-28 via server/discover, the extension
//       io.modelcontextprotocol/tasks; every tools/call and tasks/* goes through rawDispatch, which
//       the host supplies: here the Tap below, a transport wrapper that owns the ids of the
//       requests it sends itself and matches their answers (the SDK Client would refuse a
//       resultType "task").
// Per generation: the negotiation and the tool list (execution.taskSupport in v1, none in v2); a
// client without tasks that sees no change; create_job as a task followed to its end; watch_job as
// a task (to COMPLETED, and a job that ends FAILED); a job cancelled behind the task's back (a
// DELETE sent straight to the API); tasks/cancel (the job goes on: checked here with a GET straight
// to the API, and by run.py: no DELETE); a task resumed after the server restarts
// (serializeReference, the client and its server process closed, a new one, resumeTask); an
// unknown task id; in v2 the removed tasks/result and a tasks/get from a client that did not
// declare the extension.
// Env: AGENTJOBS_SERVER, AGENTJOBS_PYTHON, AICONNECT_API_URL, AICONNECT_API_KEY, JOBS (JSON {generation: {watch, failing, behind,
// cancel, restart}}: job ids run.py made), PLAN_FILE (written here: what was done to which job).
// One line per check, then "N passed, N failed".
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { createTaskSessionFromClient, resultFromTaskOutcome } from "@modelcontextprotocol/ext-tasks/client";
import { writeFileSync } from "node:fs";

const env = process.env;
const jobs = JSON.parse(env.JOBS || "{}");
const EXT = "io.modelcontextprotocol/tasks";
const TOOLS = ["cancel_job", "cancel_jobs", "create_job", "get_context", "get_job", "get_job_activities",
               "get_job_type", "get_jobs_stats", "list_jobs", "watch_job"];
const VERSION = "0.2.2";
let passed = 0, failed = 0;
const plan = {};

function check(label, ok, detail) {
  if (ok) passed++; else failed++;
  const text = detail ? ": " + String(detail).replace(/\s+/g, " ").slice(0, 200) : "";
  console.log(`${ok ? "ok  " : "FAIL"} ${label}${text}`);
}

// A transport wrapper: records every message, and is the host's request coordinator for V2
// (rawDispatch): it sends requests under ids of its own ("raw-N") and keeps their answers from
// the Client.
class Tap {
  constructor(inner) { this.inner = inner; this.sent = []; this.received = []; this.pending = new Map(); this.next = 0; }
  async start() {
    this.inner.onmessage = (message, extra) => {
      this.received.push(message);
      const waiting = !("method" in message) && this.pending.get(message.id);
      if (waiting) {
        this.pending.delete(message.id);
        waiting.resolve(message.error ? { kind: "error", error: message.error } : { kind: "result", result: message.result });
        return;
      }
      this.onmessage?.(message, extra);
    };
    this.inner.onclose = () => {
      for (const waiting of this.pending.values()) waiting.reject(new Error("MCP connection closed"));
      this.pending.clear();
      this.onclose?.();
    };
    this.inner.onerror = (error) => this.onerror?.(error);
    return this.inner.start();
  }
  send(message, options) { this.sent.push(message); return this.inner.send(message, options); }
  close() { return this.inner.close(); }
  get sessionId() { return this.inner.sessionId; }
  get pid() { return this.inner.pid; }
  setProtocolVersion(version) { this.inner.setProtocolVersion?.(version); }
  dispatch = async (request, options = {}) => {
    const id = `raw-${++this.next}`;
    const answer = new Promise((resolve, reject) => { this.pending.set(id, { resolve, reject }); });
    await this.send({ jsonrpc: "2.0", id, method: request.method, ...(request.params ? { params: request.params } : {}) });
    if (!options.signal) return answer;
    return Promise.race([answer, new Promise((_, reject) => {
      if (options.signal.aborted) reject(options.signal.reason);
      options.signal.addEventListener("abort", () => reject(options.signal.reason), { once: true });
    })]);
  };
  requests(method) { return this.sent.filter((m) => m.method === method); }
  answerTo(request) { return this.received.find((m) => !("method" in m) && m.id === request.id); }
}

const serverParams = {
  command: env.AGENTJOBS_PYTHON,
  args: [env.AGENTJOBS_SERVER],
  env: { AICONNECT_API_URL: env.AICONNECT_API_URL, AICONNECT_API_KEY: env.AICONNECT_API_KEY, PATH: env.PATH || "" },
};
const clientInfo = { name: "interop-ext-tasks", version: VERSION };

async function connect(generation) {
  const mode = generation === "v1" ? { mode: "legacy" } : { mode: "auto" };
  const client = new Client(clientInfo, { versionNegotiation: mode });
  const tap = new Tap(new StdioClientTransport(serverParams));
  await client.connect(tap);
  return { client, tap };
}

function taskSession(generation, client, tap) {
  return createTaskSessionFromClient(client, {
    endpointId: "interop-agentjobs",
    ...(generation === "v2" ? {
      rawDispatch: tap.dispatch,
      v2RequestFraming: { protocolVersion: "2026-07-28", clientInfo, clientCapabilities: {} },
    } : {}),
    onError: (error) => console.error(`ext-tasks background error: ${error && error.message}`),
  });
}

async function api(method, path, body) {  // straight to the stand-in API (a person, a cron, another app)
  const response = await fetch(`${env.AICONNECT_API_URL}${path}`, {
    method, headers: { authorization: `Bearer ${env.AICONNECT_API_KEY}`, "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

function textOf(result) {
  return (result && result.content || []).map((c) => c.text || "").join(" ");
}

async function outcomeOf(execution, seconds = 60) {  // {status, text}; a task that never ends: a FAIL, not a hang
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no end within ${seconds} s`)), seconds * 1000); });
  const { outcome } = await Promise.race([execution.settle(), late]).finally(() => clearTimeout(timer));
  if (outcome.status === "completed") return { status: "completed", result: outcome.result, text: textOf(outcome.result) };
  if (outcome.status === "failed") return { status: "failed", text: String(outcome.error && outcome.error.message) };
  return { status: outcome.status, text: outcome.task ? String(outcome.task.statusMessage || "") : "" };
}

async function failure(promise) {
  try { await promise; return { code: null, message: "no error" }; }
  catch (error) { return { code: error.code, message: String(error.message) }; }
}

async function generationRun(generation) {
  const label = `ext-tasks ${VERSION} ${generation} (${generation === "v1" ? "2025-11-25" : "2026-07-28"})`;
  const ids = jobs[generation] || {};
  const mine = plan[generation] = { label, code: `interop-ext-${generation}`, jobs: ids, ran: [] };
  let { client, tap } = await connect(generation);
  const revision = client.getNegotiatedProtocolVersion();
  const capabilities = client.getServerCapabilities() || {};
  if (generation === "v1") {
    check(`${label}: initialize 2025-11-25; capabilities.tasks offers tools/call and cancel`,
          revision === "2025-11-25" && capabilities.tasks && capabilities.tasks.requests &&
          capabilities.tasks.requests.tools && capabilities.tasks.requests.tools.call && capabilities.tasks.cancel,
          `${revision}; ${JSON.stringify(capabilities.tasks)}`);
  } else {
    const value = capabilities.extensions && capabilities.extensions[EXT];
    check(`${label}: server/discover -> 2026-07-28 and the extension {} (no capabilities.tasks)`,
          revision === "2026-07-28" && value && Object.keys(value).length === 0 && !capabilities.tasks,
          `${revision}; ${JSON.stringify(capabilities.extensions)}`);
  }
  const listed = (await client.listTools()).tools;
  const names = listed.map((t) => t.name).sort();
  check(`${label}: tools/list -> ${names.length} tools`, names.join() === TOOLS.join(), names.join(", "));
  const support = Object.fromEntries(listed.map((t) => [t.name, t.execution && t.execution.taskSupport]));
  if (generation === "v1") {
    const others = Object.entries(support).filter(([n, s]) => !["create_job", "watch_job"].includes(n) && s && s !== "forbidden");
    check(`${label}: execution.taskSupport optional on create_job and watch_job only`,
          support.create_job === "optional" && support.watch_job === "optional" && others.length === 0,
          JSON.stringify(support));
  } else {
    const carrying = listed.filter((t) => t.execution !== undefined).map((t) => t.name);
    check(`${label}: no execution field on any tool under 2026-07-28`, carrying.length === 0, carrying.join(", "));
  }

  // A client without tasks sees no change: the plain SDK call (no task asked for, and in v2
  // no extension declared) gets today's answer.
  const plain = await client.callTool({ name: "create_job", arguments: {
    job_type_id: "customer-followup", target_channel: { platform: "web", code: `${mine.code}-plain` }, params: { customer_name: "Ana" } } });
  const plainCall = tap.requests("tools/call").pop();
  const plainAnswer = tap.answerTo(plainCall) || {};
  check(`${label}: a client without tasks: create_job answered as before, no task`,
        !plain.isError && textOf(plain).startsWith("Job created: job-") && plain.structuredContent &&
        !("task" in (plainCall.params || {})) && !(plainAnswer.result && (plainAnswer.result.task || plainAnswer.result.resultType === "task")),
        textOf(plain).slice(0, 100));
  if (generation === "v2") {
    const answer = await tap.dispatch({ method: "tasks/get", params: { taskId: "aj1-l2x9k3a0-job-0001", _meta: {
      "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientInfo": clientInfo,
      "io.modelcontextprotocol/clientCapabilities": {} } } });
    const required = answer.error && answer.error.data && answer.error.data.requiredCapabilities;
    check(`${label}: tasks/get from a client that did not declare the extension -> -32021 naming it`,
          answer.kind === "error" && answer.error.code === -32021 && required && required.extensions && EXT in required.extensions,
          JSON.stringify(answer.error || answer.result));
  }

  let session = taskSession(generation, client, tap);
  const prefer = { task: { preference: "prefer" } };
  try {
    if (generation === "v1") {  // the same requester, not asking: an ordinary call
      const execution = await session.callTool("get_job", { job_id: "job-0001" });
      check(`${label}: a tool call it does not ask to be a task -> immediate`, execution.kind === "immediate" &&
            textOf(resultFromTaskOutcome((await execution.settle()).outcome)).startsWith("Job job-0001"), execution.kind);
    }

    // create_job as a task, followed to its end (run.py moves created jobs on).
    let execution = await session.callTool("create_job", { job_type_id: "customer-followup",
      target_channel: { platform: "whatsapp", code: mine.code }, params: { customer_name: "Ana" } }, prefer);
    const created = execution.kind === "task" ? execution.handle.taskId : null;
    let end = await outcomeOf(execution);
    const structured = end.result && end.result.structuredContent || {};
    const asked = tap.requests("tools/call").filter((m) => m.params.name === "create_job").pop();
    const how = generation === "v1" ? JSON.stringify(asked && asked.params.task) : String(asked && asked.id);
    const createdAnswer = ((asked && tap.answerTo(asked)) || {}).result || {};
    const immediate = String((createdAnswer._meta || {})["io.modelcontextprotocol/model-immediate-response"] || "");
    check(`${label}: create_job as a task (${created}; ${generation === "v1" ? `task: ${how}, the call's answer as model-immediate-response` : `rawDispatch id ${how}, resultType task`}), followed to COMPLETED`,
          execution.kind === "task" && end.status === "completed" && end.text.includes("COMPLETED") &&
          JSON.stringify(structured).includes("COMPLETED") && (generation === "v1" ? how === "{}" &&
            immediate.startsWith("Job created: job-") : how.startsWith("raw-") && createdAnswer.resultType === "task"),
          `${execution.kind} ${end.status}: ${end.text.slice(0, 120)}`);
    mine.createdTask = created;
    mine.ran.push("created");

    // watch_job as a task: an existing job, to its end.
    execution = await session.callTool("watch_job", { job_id: ids.watch }, prefer);
    end = await outcomeOf(execution);
    check(`${label}: watch_job ${ids.watch} as a task -> COMPLETED`, execution.kind === "task" &&
          end.status === "completed" && end.text.includes(ids.watch) && end.text.includes("COMPLETED"),
          `${execution.kind} ${end.status}: ${end.text.slice(0, 120)}`);
    mine.ran.push("watch");

    execution = await session.callTool("watch_job", { job_id: ids.failing }, prefer);
    end = await outcomeOf(execution);
    mine.failingOutcome = end.status;
    mine.ran.push("failing");
    check(`${label}: watch_job ${ids.failing} that ends FAILED -> ${end.status}, the job's end told`,
          execution.kind === "task" && end.status === (generation === "v1" ? "failed" : "completed") &&
          end.text.includes("FAILED") && (generation === "v2" || end.text.includes(`get_job job_id=${ids.failing}`)),
          `${end.status}: ${end.text.slice(0, 140)}`);

    // A job cancelled behind the task's back: a DELETE straight to the API.
    execution = await session.callTool("watch_job", { job_id: ids.behind }, prefer);
    const reason = `behind the back of ${label}`;
    const deleted = await api("DELETE", `/services/agent-jobs/${ids.behind}`, { reason });
    end = await outcomeOf(execution);
    mine.behindReason = reason;
    mine.ran.push("behind");
    check(`${label}: job ${ids.behind} cancelled behind the task's back -> the task ends cancelled`,
          deleted.status === 200 && end.status === "cancelled", `DELETE ${deleted.status}; ${end.status}: ${end.text.slice(0, 120)}`);

    // tasks/cancel: the following stops, the job goes on.
    execution = await session.callTool("watch_job", { job_id: ids.cancel }, prefer);
    const cancelTask = execution.kind === "task" ? execution.handle.taskId : null;
    await execution.cancel();
    end = await outcomeOf(execution);
    const after = await session.task(cancelTask).snapshot();
    const job = await api("GET", `/services/agent-jobs/${ids.cancel}`);
    const jobStatus = job.body && job.body.data && job.body.data.job_status;
    check(`${label}: tasks/cancel -> the task ends cancelled`, end.status === "cancelled" && after.status === "cancelled",
          `${end.status}; tasks/get: ${after.status}`);
    check(`${label}: ... its message says the job goes on and names cancel_job`,
          /cancel_job/.test(after.statusMessage || ""), after.statusMessage);
    check(`${label}: ... and the job goes on (${ids.cancel} still ${jobStatus} at the API)`,
          ["RUNNING", "WAITING", "SCHEDULED"].includes(jobStatus), jobStatus);
    mine.ran.push("cancel");

    // An unknown task id.
    const unknown = await failure(session.task("no-such-task").snapshot());
    check(`${label}: tasks/get of an unknown task id -> -32602`, unknown.code === -32602, `${unknown.code} ${unknown.message}`);
    if (generation === "v2") {
      const answer = await tap.dispatch({ method: "tasks/result", params: { taskId: created || "x",
        _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientInfo": clientInfo,
                 "io.modelcontextprotocol/clientCapabilities": { extensions: { [EXT]: {} } } } } });
      check(`${label}: tasks/result is gone under 2026-07-28 -> -32601`, answer.kind === "error" && answer.error.code === -32601,
            JSON.stringify(answer.error || answer.result));
    }

    // A task resumed after the server restarts: persist the reference, close the client and
    // its server process (not the task session: closing that cancels its unsettled tasks),
    // start a new server, resume.
    execution = await session.callTool("watch_job", { job_id: ids.restart }, prefer);
    const reference = JSON.parse(JSON.stringify(execution.serializeReference()));
    const before = await api("GET", `/services/agent-jobs/${ids.restart}`);
    const statusBefore = before.body && before.body.data && before.body.data.job_status;
    const firstPid = tap.pid;
    const firstTap = tap;
    await client.close();
    ({ client, tap } = await connect(generation));
    session = taskSession(generation, client, tap);
    const resumed = await session.resumeTask(reference);
    end = await outcomeOf(resumed);
    mine.restartTask = reference.taskId;
    const cancels = firstTap.requests("tasks/cancel").filter((m) => m.params && m.params.taskId === reference.taskId);
    mine.ran.push("restart");
    check(`${label}: a task resumed after the server restarts (${statusBefore} before, new process) -> COMPLETED`,
          execution.kind === "task" && cancels.length === 0 && firstPid !== tap.pid && end.status === "completed" &&
          end.text.includes(ids.restart) && end.text.includes("COMPLETED"),
          `pid ${firstPid} -> ${tap.pid}; ${end.status}: ${end.text.slice(0, 100)}`);

    // The session closed with a task unsettled (an app that quits): ext-tasks sends
    // tasks/cancel for it; the job goes on.
    execution = await session.callTool("watch_job", { job_id: ids.closed }, prefer);
    const closing = execution.kind === "task" ? execution.handle.taskId : null;
    await session.close();
    const sentCancel = () => tap.requests("tasks/cancel").find((m) => m.params && m.params.taskId === closing);
    for (let i = 0; i < 100 && !(sentCancel() && tap.answerTo(sentCancel())); i++) await new Promise((r) => setTimeout(r, 50));
    const acknowledged = sentCancel() && tap.answerTo(sentCancel());
    const closedJob = await api("GET", `/services/agent-jobs/${ids.closed}`);
    const closedStatus = closedJob.body && closedJob.body.data && closedJob.body.data.job_status;
    check(`${label}: session.close() with a task unsettled -> tasks/cancel, answered; ${ids.closed} still ${closedStatus}`,
          closing && acknowledged && !acknowledged.error && closedStatus === "RUNNING",
          `${closing}; ${JSON.stringify(acknowledged && (acknowledged.error || acknowledged.result)).slice(0, 120)}`);
    mine.ran.push("closed");
  } catch (error) {
    check(`${label}: session`, false, `${error.name}: ${error.message}`);
  } finally {
    await session.close().catch(() => {});
    await client.close().catch(() => {});
  }
}

for (const generation of ["v1", "v2"]) {
  try {
    await generationRun(generation);
  } catch (error) {
    check(`ext-tasks ${VERSION} ${generation}: session`, false, `${error.name}: ${error.message}`);
  }
}
if (env.PLAN_FILE) writeFileSync(env.PLAN_FILE, JSON.stringify(plan));
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

"""MCP tasks through two agent frameworks' own MCP clients, no model involved (run by interop/run.py).

Runs in one of the venvs interop/run.py makes, and drives what that venv holds:
  - Strands Agents (`strands-agents`): `MCPClient(..., tasks_config=TasksConfig(...))` and
    `call_tool_sync`. With `mcp` 2.x it speaks the 2026-07-28 extension
    `io.modelcontextprotocol/tasks` (server/discover, `resultType: "task"`, tasks/get, and
    tasks/cancel when its own wait runs out); with `mcp` 1.x it speaks 2025-11-25 (initialize,
    `task: {ttl}` on tools marked optional or required, tasks/get, tasks/result).
  - Microsoft Agent Framework (`agent-framework-core`): 1.22.0 (on `mcp` 1.x) follows
    2025-11-25 tasks with `call_tool_as_task()` (`task: {}`, tasks/get, tasks/result; tasks/cancel
    when it gives up); its plain `call_tool` (the agent's path) makes a task only of a required
    tool. 1.23.0 (on `mcp` 2.x) removed tasks and skips every tool whose execution.taskSupport is
    optional or required; against this server it must settle on 2026-07-28 (no `execution` there)
    and lose no tool.
The server runs behind interop/wire_tap.py, so every check can read the exact JSON-RPC the
framework sent and got; the stand-in API runs in this process (jobs that move on by themselves,
faults), and what it received is checked too: a followed job is never cancelled (no DELETE).
One line per check, then "N passed, N failed".
"""
import asyncio
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from datetime import timedelta

try:
    from importlib.metadata import PackageNotFoundError, version as installed_version
except ImportError:  # pragma: no cover - the venvs are >= 3.10
    raise SystemExit("tasks_frameworks.py needs Python >= 3.8")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from standin import StandInAPI  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moving_jobs import moving_created_jobs, moving_job, set_status  # noqa: E402

KEY = "interop-key-0123456789"
SERVER = os.path.join(ROOT, "agentjobs_mcp.py")
TAP = os.path.join(ROOT, "interop", "wire_tap.py")
TOOLS = ["cancel_job", "cancel_jobs", "create_job", "get_context", "get_job", "get_job_activities",
         "get_job_type", "get_jobs_stats", "list_jobs", "watch_job"]
TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
results = []


def check(label, ok, detail=""):
    results.append(bool(ok))
    detail = " ".join(str(detail).split())[:200]
    sys.stdout.write("%-4s %s%s\n" % ("ok" if ok else "FAIL", label, (": " + detail) if detail else ""))
    sys.stdout.flush()


def package(name):
    try:
        return installed_version(name)
    except PackageNotFoundError:
        return None


# -- the wire, as the tap saw it ------------------------------------------------------

class Wire(object):
    """The JSON-RPC lines of one server process, read from the tap's log."""

    def __init__(self, folder, name):
        self.path = os.path.join(folder, name + ".wire")

    def messages(self):
        out = []
        try:
            with open(self.path, encoding="utf-8") as handle:
                for line in handle:
                    try:
                        out.append((line[:1], json.loads(line[2:])))
                    except ValueError:
                        out.append((line[:1], {"unparsed": line[2:].strip()}))
        except OSError:
            pass
        return out

    def sent(self, method=None):
        return [m for d, m in self.messages() if d == ">" and (method is None or m.get("method") == method)]

    def answer(self, request):
        """The response to a request the client sent (matched by id)."""
        for d, m in self.messages():
            if d == "<" and "method" not in m and m.get("id") == request.get("id"):
                return m
        return None

    def answers(self, method):
        return [(request, self.answer(request)) for request in self.sent(method)]

    def task_calls(self, tool):
        return [r for r in self.sent("tools/call") if (r.get("params") or {}).get("name") == tool]

    async def wait_async(self, predicate, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not predicate(self):
            await asyncio.sleep(0.05)
        return predicate(self)

    def wait_for(self, predicate, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.05)
        return predicate(self)


def server_argv(python, wire):
    return [TAP, wire.path, "--", python, SERVER]


def server_env(api, **extra):
    env = {"AICONNECT_API_URL": api.url, "AICONNECT_API_KEY": KEY, "PATH": os.environ.get("PATH", "")}
    env.update(extra)
    return env


# -- the stand-in API ---------------------------------------------------------------

def deletes(api, job_id=None):
    return [r.path for r in api.requests if r.method == "DELETE" and (job_id is None or r.path.endswith("/" + job_id))]


def no_delete(label, api, job_id):
    sent = deletes(api, job_id)
    status = api.jobs[job_id]["job_status"]
    check(label + ": the job goes on (no DELETE reached the API, %s still %s)" % (job_id, status),
          not sent and status not in ("CANCELED",), "; ".join(sent) or status)


OUTAGE = 6  # 503 answers to a job's GETs: two failed looks (the server tries a GET 3 times)


def start_outage(api, wire, job_id):
    """Once the client polls a task (tasks/get), the API answers the job's GETs with 503,
    OUTAGE times, then the job COMPLETES. A started thread (join it after the call), and
    where the task's tasks/get began on the wire."""
    gets_before = len(wire.sent("tasks/get"))

    def outage():
        wire.wait_for(lambda w: len(w.sent("tasks/get")) > gets_before, 30)
        api.add_fault(status=503, method="GET", path_contains=job_id, times=OUTAGE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the faults are used up
            with api.lock:
                if not [f for f in api.faults if f["path_contains"] == job_id]:
                    break
            time.sleep(0.05)
        set_status(api, job_id, "COMPLETED")
    thread = threading.Thread(target=outage, name="outage-" + job_id)
    thread.daemon = True
    thread.start()
    return thread, gets_before


def outage_seen(wire, gets_before):
    """The tasks/get answers since `gets_before` that were errors, and those that told
    (statusMessage) that the last look failed."""
    answers = [a for r, a in wire.answers("tasks/get")[gets_before:]]
    errors = [a for a in answers if a is None or "error" in a]
    noted = [a for a in answers if "could not be read just now" in str(((a or {}).get("result") or {}).get("statusMessage"))]
    return errors, noted


CREATE_ARGS = {"job_type_id": "customer-followup", "target_channel": {"platform": "whatsapp", "code": "interop-tasks"},
               "params": {"customer_name": "Ana", "order_id": "A-1"}}


def wire_text(result):
    """The text blocks of a CallToolResult as sent on the wire."""
    return " ".join(c.get("text", "") for c in (result or {}).get("content") or [] if isinstance(c, dict))


def text_of_strands(result):
    return " ".join(c.get("text", "") for c in (result or {}).get("content") or [] if isinstance(c, dict))


# -- Strands Agents -------------------------------------------------------------------

def strands(folder):
    from mcp import StdioServerParameters
    from mcp.client.stdio import stdio_client
    from strands.tools.mcp import MCPClient, TasksConfig
    mcp_version = package("mcp")
    modern = int(mcp_version.split(".")[0]) >= 2
    era = "2026-07-28" if modern else "2025-11-25"
    label = "strands %s (mcp %s, %s)" % (package("strands-agents"), mcp_version, era)
    api = StandInAPI(key=KEY)
    api.start()
    try:
        wire = Wire(folder, "strands-" + era)
        params = StdioServerParameters(command=sys.executable, args=server_argv(sys.executable, wire),
                                       env=server_env(api))
        config = TasksConfig(poll_interval=timedelta(milliseconds=200), ttl=timedelta(minutes=10))
        client = MCPClient(lambda: stdio_client(params), tasks_config=config)
        with client:
            first = (wire.sent() or [{}])[0]
            if modern:
                check(label + ": settles on 2026-07-28 via server/discover, declaring the extension",
                      first.get("method") == "server/discover" and not wire.sent("initialize") and
                      TASKS_EXTENSION in (((first.get("params") or {}).get("_meta") or {}).get(
                          "io.modelcontextprotocol/clientCapabilities") or {}).get("extensions", {}),
                      first.get("method"))
            else:
                init = (wire.sent("initialize") or [{}])[0].get("params") or {}
                check(label + ": initialize 2025-11-25 (no tasks capability declared, as seen before)",
                      init.get("protocolVersion") == "2025-11-25" and "tasks" not in (init.get("capabilities") or {}),
                      json.dumps(init.get("capabilities")))
            names = sorted(t.tool_name for t in client.list_tools_sync())
            check("%s: list_tools_sync -> %d tools" % (label, len(names)), names == TOOLS, ", ".join(names))

            # create_job as a task, followed to its end (the job moves on by itself)
            moving_created_jobs(api)
            try:
                result = client.call_tool_sync("create-1", "create_job", CREATE_ARGS,
                                               read_timeout_seconds=timedelta(seconds=60))
            finally:
                api.create_moves = None
            text = text_of_strands(result)
            calls = wire.task_calls("create_job")
            created = [r.path for r in api.requests if r.method == "POST"]
            job_id = [j for j in api.jobs if api.jobs[j].get("channel_code") == "interop-tasks" or
                      (api.jobs[j].get("channel_data") or {}).get("channel_id") == "interop-tasks"]
            if modern:
                answer = wire.answer(calls[0]) if calls else None
                task = (answer or {}).get("result") or {}
                asked = task.get("resultType") == "task"
                how = "resultType task, tasks/get until completed"
            else:
                asked = bool(calls) and "task" in (calls[0].get("params") or {})
                ttl = ((calls[0].get("params") or {}).get("task") or {}).get("ttl") if calls else None
                how = "task: {ttl: %s}, tasks/get, tasks/result" % ttl
                asked = asked and ttl == 600000 and len(wire.sent("tasks/result")) == 1
            check("%s: create_job as a task, followed to its end (%s)" % (label, how),
                  result.get("status") == "success" and asked and "COMPLETED" in text and len(created) == 1 and
                  len(wire.sent("tasks/get")) >= 1, "%s; %s" % (result.get("status"), text[:160]))
            if job_id:
                no_delete(label + ": create_job", api, job_id[0])

            # watch_job as a task: an existing job (a person or a cron made it) to its end
            job_id = moving_job(api)
            result = client.call_tool_sync("watch-1", "watch_job", {"job_id": job_id},
                                           read_timeout_seconds=timedelta(seconds=60))
            text = text_of_strands(result)
            check(label + ": watch_job %s as a task, followed to COMPLETED" % job_id,
                  result.get("status") == "success" and job_id in text and "COMPLETED" in text, text[:200])

            # A job that ends FAILED.
            job_id = moving_job(api, end="FAILED")
            result = client.call_tool_sync("watch-2", "watch_job", {"job_id": job_id},
                                           read_timeout_seconds=timedelta(seconds=60))
            text = text_of_strands(result)
            check(label + ": watch_job %s that ends FAILED -> the job's end, told%s" % (
                job_id, "" if modern else " (the statusMessage alone, naming get_job)"),
                  job_id in text and "FAILED" in text and (modern or "get_job job_id=" + job_id in text),
                  "%s: %s" % (result.get("status"), text[:200]))

            # The API down while the task is followed: the task goes on (an error answer to
            # tasks/get would end Strands' wait and make it cancel the task).
            job_id = api.add_job(job_status="RUNNING")["job_id"]
            cancels_before = len(wire.sent("tasks/cancel"))
            thread, gets_before = start_outage(api, wire, job_id)
            result = client.call_tool_sync("watch-outage", "watch_job", {"job_id": job_id},
                                           read_timeout_seconds=timedelta(seconds=60))
            thread.join(35)
            text = text_of_strands(result)
            errors, noted = outage_seen(wire, gets_before)
            check(label + ": the API down mid-task (503 x%d) -> tasks/get gives the last state (told), the task goes on"
                  % OUTAGE, result.get("status") == "success" and "COMPLETED" in text and not errors and noted and
                  len(wire.sent("tasks/cancel")) == cancels_before,
                  "%d error answers, %d told the look failed; %s" % (len(errors), len(noted), text[:100]))

            # Its own wait runs out (5 min by default; 2 s here) on a job that does not end:
            # a job it created (would the model, told only "timed out", create it again?).
            before = len(wire.sent("tasks/cancel"))
            args = dict(CREATE_ARGS, target_channel={"platform": "whatsapp", "code": "interop-timeout"})
            result = client.call_tool_sync("create-3", "create_job", args, read_timeout_seconds=timedelta(seconds=2))
            text = text_of_strands(result)
            job_id = ([j for j in api.jobs if api.jobs[j].get("channel_code") == "interop-timeout"] or ["?"])[0]
            if modern:
                wire.wait_for(lambda w: len(w.sent("tasks/cancel")) > before, 5)
            cancels = wire.answers("tasks/cancel")[before:]
            if modern:  # the trap: Strands sends tasks/cancel when its wait runs out
                check(label + ": its wait runs out -> it sends tasks/cancel, the server acknowledges",
                      result.get("status") == "error" and "timed out" in text and len(cancels) == 1 and
                      cancels[0][1] is not None and "result" in cancels[0][1],
                      "%s; %s" % (text[:80], cancels and json.dumps(cancels[0][1])[:120]))
            else:
                check(label + ": its wait runs out -> an error result (mcp 1.x sends no tasks/cancel then)",
                      result.get("status") == "error" and "timed out" in text, "%s; %d tasks/cancel" % (
                          text[:120], len(cancels)))
            check(label + ": ... what the model is handed names the created job (%s, in the task id)" % job_id,
                  job_id in text, text[:120])
            no_delete(label + ": after its wait ran out", api, job_id)

            # A tool that is no task: an answer as before.
            result = client.call_tool_sync("get-1", "get_job", {"job_id": "job-0001"})
            text = text_of_strands(result)
            check(label + ": get_job (not a task) answers at once", result.get("status") == "success" and
                  text.startswith("Job job-0001"), text[:120])

        # Without tasks_config: a client without tasks sees no change.
        wire = Wire(folder, "strands-plain-" + era)
        params = StdioServerParameters(command=sys.executable, args=server_argv(sys.executable, wire),
                                       env=server_env(api))
        with MCPClient(lambda: stdio_client(params)) as client:
            client.list_tools_sync()
            result = client.call_tool_sync("create-2", "create_job", CREATE_ARGS)
            text = text_of_strands(result)
            call = (wire.task_calls("create_job") or [{}])[0]
            answer = (wire.answer(call) or {}).get("result") or {}
            job_id = moving_job(api)
            progress = []
            result = client.call_tool_sync("watch-plain", "watch_job", {"job_id": job_id, "wait": 30},
                                           progress_callback=lambda done, total, message=None: progress.append(
                                               (done, total, message)))
            watched = text_of_strands(result)
            calls = wire.task_calls("watch_job")
            check(label + ": without tasks_config, watch_job waits for the change, with notifications/progress",
                  result.get("status") == "success" and job_id in watched and "(SCHEDULED)" not in watched and
                  len(progress) >= 2 and calls and "task" not in (calls[0].get("params") or {}),
                  "%d progress; %s" % (len(progress), (progress[-1:] or [""])[0]))
            check(label + ": without tasks_config, create_job answers as before (no task on the wire)",
                  result.get("status") == "success" and text.startswith("Job created: job-") and
                  wire_text(answer).startswith("Job created: job-") and "structuredContent" in answer and
                  "task" not in (call.get("params") or {}) and answer.get("resultType") != "task" and
                  "task" not in answer and not wire.sent("tasks/get"), text[:120])
    finally:
        api.stop()


# -- Microsoft Agent Framework --------------------------------------------------------

class Captured(logging.Handler):
    def __init__(self):
        logging.Handler.__init__(self, logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record.getMessage())


def text_of_af(contents):
    if isinstance(contents, str):
        return contents
    return " ".join(getattr(c, "text", None) or "" for c in contents or [])


async def agent_framework_tasks(folder):
    """1.22.0: 2025-11-25 tasks with call_tool_as_task(); the traps."""
    from agent_framework import MCPStdioTool
    af_version = package("agent-framework-core")
    label = "agent-framework %s (mcp %s, 2025-11-25)" % (af_version, package("mcp"))
    try:
        from agent_framework import MCPTaskOptions
    except ImportError:
        from agent_framework._mcp import MCPTaskOptions
    captured = Captured()  # what it logs when a tasks/cancel fails
    logging.getLogger("agent_framework").addHandler(captured)
    api = StandInAPI(key=KEY)
    api.start()
    try:
        wire = Wire(folder, "af-" + af_version)
        tool = MCPStdioTool(name="agentjobs", command=sys.executable, args=server_argv(sys.executable, wire),
                            env=server_env(api), load_prompts=False)
        bounded = MCPTaskOptions(max_task_wait=timedelta(seconds=60))  # a server that never ends a task: a FAIL, not a hang
        tool.task_options = bounded
        async with tool:
            init = (wire.sent("initialize") or [{}])[0].get("params") or {}
            answer = ((wire.answer((wire.sent("initialize") or [{}])[0]) or {}).get("result") or {})
            check(label + ": initialize 2025-11-25; the server offers tasks for tools/call",
                  init.get("protocolVersion") == "2025-11-25" and answer.get("protocolVersion") == "2025-11-25" and
                  "call" in (((answer.get("capabilities") or {}).get("tasks") or {}).get("requests") or {}).get(
                      "tools", {}), json.dumps((answer.get("capabilities") or {}).get("tasks")))
            names = sorted(f.name for f in tool.functions)
            check("%s: all %d tools loaded" % (label, len(names)), names == TOOLS, ", ".join(names))

            # The agent's path (call_tool): create_job is optional, so no task, today's answer.
            text = text_of_af(await tool.call_tool("create_job", **CREATE_ARGS))
            call = (wire.task_calls("create_job") or [{}])[-1]
            answer = (wire.answer(call) or {}).get("result") or {}
            check(label + ": call_tool create_job (the agent's path) -> no task, answered as before",
                  '"job_id": "job-' in text and wire_text(answer).startswith("Job created: job-") and
                  "task" not in (call.get("params") or {}) and "task" not in answer, wire_text(answer)[:120])

            # call_tool_as_task: create_job followed to its end.
            moving_created_jobs(api)
            try:
                text = text_of_af(await tool.call_tool_as_task("create_job", **CREATE_ARGS))
            finally:
                api.create_moves = None
            call = (wire.task_calls("create_job") or [{}])[-1]
            created = ((wire.answer(call) or {}).get("result") or {}).get("task") or {}
            results_sent = wire.answers("tasks/result")
            related = ((((results_sent or [({}, {})])[-1][1] or {}).get("result") or {}).get("_meta") or {}).get(
                "io.modelcontextprotocol/related-task") or {}
            check(label + ": call_tool_as_task create_job -> task: {}, tasks/get, tasks/result, the job COMPLETED",
                  (call.get("params") or {}).get("task") == {} and created.get("status") == "working" and
                  "COMPLETED" in text and len(results_sent) == 1 and related.get("taskId") == created.get("taskId"),
                  "%s; task %s; %s" % (json.dumps((call.get("params") or {}).get("task")), created.get("taskId"),
                                       text[:120]))

            # watch_job as a task.
            job_id = moving_job(api)
            text = text_of_af(await tool.call_tool_as_task("watch_job", job_id=job_id))
            check(label + ": call_tool_as_task watch_job %s -> COMPLETED (handed on as the structuredContent "
                  "JSON, third-party text marked)" % job_id,
                  job_id in text and "COMPLETED" in text and text.startswith("{") and "[ext:" in text, text[:200])

            # A job that ends FAILED: a failed task (2025-11-25), which this client raises with
            # the statusMessage, without asking tasks/result.
            job_id = moving_job(api, end="FAILED")
            results_before = len(wire.sent("tasks/result"))
            try:
                text = text_of_af(await tool.call_tool_as_task("watch_job", job_id=job_id))
                error = None
            except Exception as failure:  # noqa: BLE001 - the expected way it reports a failed task
                error = "%s: %s" % (type(failure).__name__, failure)
            check(label + ": call_tool_as_task watch_job %s that ends FAILED -> raised with the statusMessage" % job_id,
                  error is not None and job_id in error and "FAILED" in error and "get_job job_id=" + job_id in error and
                  len(wire.sent("tasks/result")) == results_before, error or text[:160])

            # The API down while the task is followed: tasks/get must not answer with an error
            # (this client sends tasks/cancel after any error answer); the task goes on.
            job_id = api.add_job(job_status="RUNNING")["job_id"]
            cancels_before = len(wire.sent("tasks/cancel"))
            thread, gets_before = start_outage(api, wire, job_id)
            try:
                text = text_of_af(await tool.call_tool_as_task("watch_job", job_id=job_id))
                error = None
            except Exception as failure:  # noqa: BLE001 - reported as a failed check
                text, error = "", "%s: %s" % (type(failure).__name__, failure)
            thread.join(35)
            errors, noted = outage_seen(wire, gets_before)
            check(label + ": the API down mid-task (503 x%d) -> tasks/get gives the last state (told), the task goes on"
                  % OUTAGE, error is None and "COMPLETED" in text and not errors and noted and
                  len(wire.sent("tasks/cancel")) == cancels_before,
                  error or "%d error answers, %d told the look failed; %s" % (len(errors), len(noted), text[:100]))

            # It gives up (max_task_wait) -> tasks/cancel; the job goes on.
            job_id = api.add_job(job_status="RUNNING")["job_id"]
            tool.task_options = MCPTaskOptions(max_task_wait=timedelta(seconds=2))
            try:
                await tool.call_tool_as_task("watch_job", job_id=job_id)
                error = None
            except Exception as failure:  # noqa: BLE001 - the expected way it gives up
                error = "%s: %s" % (type(failure).__name__, failure)
            tool.task_options = bounded
            # its cancel is a task of this loop, sent "best effort" (5 s at most)
            await wire.wait_async(lambda w: len(w.sent("tasks/cancel")) > cancels_before and
                                  all(a is not None for r, a in w.answers("tasks/cancel")), 20)
            cancels = wire.answers("tasks/cancel")[cancels_before:]
            task = ((cancels[0][1] or {}).get("result") or {}) if cancels else {}
            said = [m for m in captured.records if "tasks/cancel" in m]
            check(label + ": max_task_wait runs out -> it sends tasks/cancel; the task ends cancelled",
                  error is not None and "max_task_wait" in error and len(cancels) == 1 and
                  task.get("status") == "cancelled", "%s; %s%s" % (error, json.dumps(task)[:160], "; ".join(
                      [""] + said)[:200]))
            check(label + ": the cancelled task's message says the job goes on and names cancel_job",
                  "cancel_job" in (task.get("statusMessage") or ""), task.get("statusMessage"))
            no_delete(label + ": after tasks/cancel", api, job_id)
    finally:
        logging.getLogger("agent_framework").removeHandler(captured)
        api.stop()


async def agent_framework_without_tasks(folder):
    """1.23.0: no tasks; against this server it settles on 2026-07-28 and keeps every tool."""
    from agent_framework import MCPStdioTool
    af_version = package("agent-framework-core")
    label = "agent-framework %s (mcp %s)" % (af_version, package("mcp"))
    captured = Captured()
    logging.getLogger().addHandler(captured)
    logging.getLogger().setLevel(logging.DEBUG)
    api = StandInAPI(key=KEY)
    api.start()
    try:
        wire = Wire(folder, "af-" + af_version)
        tool = MCPStdioTool(name="agentjobs", command=sys.executable, args=server_argv(sys.executable, wire),
                            env=server_env(api), load_prompts=False)
        async with tool:
            first = (wire.sent() or [{}])[0]
            check(label + ": settles on 2026-07-28 via server/discover (no initialize)",
                  first.get("method") == "server/discover" and not wire.sent("initialize") and
                  (((first.get("params") or {}).get("_meta") or {}).get("io.modelcontextprotocol/protocolVersion")
                   == "2026-07-28"), first.get("method"))
            listed = [a for r, a in wire.answers("tools/list")]
            tools = [t for a in listed for t in ((a or {}).get("result") or {}).get("tools") or []]
            check(label + ": tools/list under 2026-07-28 carries no execution field",
                  tools and not [t["name"] for t in tools if "execution" in t],
                  ", ".join(t["name"] for t in tools if "execution" in t) or "%d tools" % len(tools))
            names = sorted(f.name for f in tool.functions)
            skipped = [m for m in captured.records if "Skipping MCP tool" in m]
            check("%s: all %d tools loaded, none skipped" % (label, len(names)), names == TOOLS and not skipped,
                  "; ".join(skipped)[:160] or ", ".join(names))
            text = text_of_af(await tool.call_tool("create_job", **CREATE_ARGS))
            call = (wire.task_calls("create_job") or [{}])[-1]
            answer = (wire.answer(call) or {}).get("result") or {}
            check(label + ": create_job works, answered as before (it declared no extension: no task)",
                  '"job_id": "job-' in text and wire_text(answer).startswith("Job created: job-") and
                  answer.get("resultType") != "task", wire_text(answer)[:120] or text[:120])
            job_id = moving_job(api)
            text = text_of_af(await tool.call_tool("watch_job", job_id=job_id))
            check(label + ": watch_job without tasks -> the job as it then is", job_id in text, text[:160])

        # The trap the 2026-07-28 list avoids: a host that pins 2025-11-25 for it (an mcp
        # Client in legacy mode) sees execution.taskSupport, and this version skips those tools.
        from mcp import Client, StdioServerParameters
        del captured.records[:]
        params = StdioServerParameters(command=sys.executable, args=[SERVER], env=server_env(api))
        async with Client(params, mode="legacy") as client:
            revision = client.protocol_version
            tool = MCPStdioTool(name="agentjobs", mcp_client=client, load_prompts=False)
            async with tool:
                names = sorted(f.name for f in tool.functions)
        skipped = sorted(m.split("'")[1] for m in captured.records if m.startswith("Skipping MCP tool '"))
        check(label + ": pinned to 2025-11-25 instead, it skips the tools marked optional (%s)" % (
            ", ".join(skipped) or "none"), revision == "2025-11-25" and
            skipped == ["create_job", "watch_job"] and names == [t for t in TOOLS if t not in skipped],
            "%s; %s" % (revision, ", ".join(names)))
    finally:
        logging.getLogger().removeHandler(captured)
        api.stop()


def main():
    # The frameworks log their failures with tracebacks, and warn that tasks are experimental:
    # the checks report what matters, so keep stderr for what the server says.
    logging.getLogger().addHandler(logging.NullHandler())
    warnings.simplefilter("ignore")
    folder = tempfile.mkdtemp(prefix="interop-tasks-")
    steps = []
    if package("strands-agents"):
        steps.append(("strands", lambda: strands(folder)))
    af = package("agent-framework-core")
    if af:
        tasks_era = tuple(int(n) for n in af.split(".")[:2]) < (1, 23)
        run = agent_framework_tasks if tasks_era else agent_framework_without_tasks
        steps.append(("agent-framework " + af, lambda: asyncio.run(run(folder))))
    for name, step in steps:
        try:
            step()
        except Exception as error:  # a broken session is a failed check, not a crash
            while getattr(error, "exceptions", None):
                error = error.exceptions[0]
            check(name + ": session", False, "%s: %s" % (type(error).__name__, error))
    if os.environ.get("TASKS_KEEP_WIRE"):
        sys.stdout.write("wire logs kept in %s\n" % folder)
    else:
        shutil.rmtree(folder, ignore_errors=True)
    failed = results.count(False)
    sys.stdout.write("%d passed, %d failed\n" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The official MCP Python SDK client (PyPI `mcp`, pinned in interop/run.py) against the real server.

Runs in the venv interop/run.py makes. For each era mode of the SDK's Client - "auto"
(probes server/discover, falls back to initialize), "legacy" (initialize) and
"2026-07-28" (stateless, no probe) - it starts agentjobs_mcp.py over stdio (the SDK's
stdio client) against the stand-in API, run in this process, and checks: the revision
negotiated, the server's identity, tools/list (every name), every tool called (not
isError, text, structuredContent present and valid against the tool's outputSchema with
jsonschema; the SDK validates it too and would raise), cancel_jobs' preview (no DELETE)
and apply (one DELETE per previewed job), two calls that must come back as
isError, and what the stand-in API received (the key, the POST of create_job, the DELETE
with its reason as the JSON body). Then the guard rails, in the initialize era ("legacy")
and the stateless one ("2026-07-28"): with AGENTJOBS_CONFIRM=cancel_job an elicitation
callback that accepts one cancel and declines the next (the API gets the one DELETE, the
audit log says "confirmed by the client" and "declined by the client"), and
AGENTJOBS_READ_ONLY and AGENTJOBS_TOOLS as list_tools shows them, with a call they refuse.
Then the rest of what the server offers: resource
templates, the resource list (the context and the running job), a job read as JSON and
markdown, an unknown job (-32002, or -32602 under 2026-07-28), job_id and job_type_id
completions, prompts/list and prompts/get, and log messages: logging/setLevel in the
initialize era, the SDK's per-request log_level under 2026-07-28.
One line per check, then "N passed, N failed".
"""
import asyncio
import json
import os
import shutil
import sys
import tempfile
import warnings

import jsonschema
import mcp
from mcp import Client, MCPDeprecationWarning, MCPError, StdioServerParameters, types
from mcp.types import PromptReference, ResourceTemplateReference

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from standin import StandInAPI  # noqa: E402

KEY = "interop-key-0123456789"
TOOLS = ["cancel_job", "cancel_jobs", "create_job", "get_context", "get_job", "get_job_activities",
         "get_job_type", "get_jobs_stats", "list_jobs", "watch_job"]
EXPECTED_VERSION = {"auto": "2026-07-28", "legacy": "2025-11-25", "2026-07-28": "2026-07-28"}
VERSION = getattr(mcp, "__version__", None) or __import__("importlib.metadata").metadata.version("mcp")
results = []


def check(label, ok, detail=""):
    results.append(bool(ok))
    detail = " ".join(str(detail).split())[:160]
    sys.stdout.write("%-4s %s%s\n" % ("ok" if ok else "FAIL", label, (": " + detail) if detail else ""))
    sys.stdout.flush()


def calls(job, who):
    return [
        ("get_context", {}),
        ("list_jobs", {"status": "running", "limit": 5}),
        ("get_jobs_stats", {"created_at_gte": "2024-01-01"}),
        ("get_job", {"job_id": "job-0001", "include_activities": True}),
        ("get_job_activities", {"job_id": "job-0001", "limit": 2}),
        ("get_job_type", {"job_type_id": "customer-followup"}),
        ("watch_job", {"job_id": "job-0004", "wait": 5}),  # COMPLETED: answered at once
        ("create_job", {"job_type_id": "customer-followup",
                        "target_channel": {"platform": "whatsapp", "code": "interop-%s" % job},
                        "params": {"customer_name": "Ana", "order_id": "A-1"}}),
        ("cancel_job", {"job_id": job, "reason": "%s %s" % (who, job)}),
    ]


async def features(client, mode, label, job, logs):
    """Resources, completions, prompts and log messages (before the job is cancelled)."""
    modern = mode != "legacy"
    if not modern:
        with warnings.catch_warnings():  # the SDK warns that 2026-07-28 deprecates logging; known
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            await client.set_logging_level("debug")
    templates = await client.list_resource_templates()
    check(label + ": resources/templates/list", [t.uri_template for t in templates.resource_templates] ==
          ["agentjobs://jobs/{job_id}", "agentjobs://job-types/{job_type_id}"],
          [t.uri_template for t in templates.resource_templates])
    listed = await client.list_resources()
    uris = [str(r.uri) for r in listed.resources]
    check(label + ": resources/list -> the context and the running job", uris[:1] == ["agentjobs://context"]
          and "agentjobs://jobs/" + job in uris, "%d resources" % len(uris))
    read = await client.read_resource("agentjobs://jobs/" + job)
    kinds = [c.mime_type for c in read.contents]
    data = json.loads(read.contents[0].text) if kinds[:1] == ["application/json"] else {}
    check(label + ": resources/read %s -> JSON and markdown" % job, kinds == ["application/json", "text/markdown"]
          and (data.get("job") or {}).get("job_id") == job and job in read.contents[1].text, kinds)
    try:
        await client.read_resource("agentjobs://jobs/no-such-job")
        code, message = None, "no error"
    except MCPError as error:
        code, message = error.code, error.message
    check(label + ": resources/read of an unknown job -> %d" % (-32602 if modern else -32002),
          code == (-32602 if modern else -32002) and "No job 'no-such-job'" in message, "%s %s" % (code, message))
    done = await client.complete(PromptReference(type="ref/prompt", name="cancel"),
                                 {"name": "job_id", "value": job[:-1]})
    check(label + ": completion/complete cancel.job_id %r" % job[:-1], job in done.completion.values,
          done.completion.values)
    done = await client.complete(ResourceTemplateReference(type="ref/resource", uri="agentjobs://job-types/{job_type_id}"),
                                 {"name": "job_type_id", "value": "cust"})
    check(label + ": completion/complete job_type_id 'cust'", done.completion.values == ["customer-followup"],
          done.completion.values)
    prompts = await client.list_prompts()
    check(label + ": prompts/list", [p.name for p in prompts.prompts] == ["triage", "cancel", "report"],
          [p.name for p in prompts.prompts])
    got = await client.get_prompt("cancel", {"job_id": job, "reason": "interop"})
    text = got.messages[0].content.text if got.messages else ""
    check(label + ": prompts/get cancel", "cancel_job with job_id=\"%s\"" % job in text, text[:120])
    try:
        await client.get_prompt("cancel", {})
        code, message = None, "no error"
    except MCPError as error:
        code, message = error.code, error.message
    check(label + ": prompts/get cancel without job_id -> -32602", code == -32602 and "'job_id'" in message,
          "%s %s" % (code, message))
    check(label + ": log messages received (%s)" % ("per-request _meta logLevel" if modern else "logging/setLevel"),
          any(m.level == "debug" and m.logger == "agentjobs_mcp" and "GET http" in str(m.data) for m in logs),
          "%d messages" % len(logs))


def answer_problems(tool, result):
    """What is wrong with a tool's answer: isError, no text, structuredContent missing or
    not valid against the tool's outputSchema."""
    text = result.content[0].text if result.content else ""
    problems = []
    if result.is_error:
        problems.append("isError: " + text[:200])
    if not text:
        problems.append("no text")
    schema = tool.output_schema
    if not schema:
        problems.append("no outputSchema listed")
    elif result.structured_content is None:
        problems.append("no structuredContent")
    else:
        try:
            jsonschema.validators.validator_for(schema, jsonschema.Draft202012Validator)(schema).validate(
                result.structured_content)
        except jsonschema.ValidationError as error:
            problems.append("structuredContent: %s" % error.message)
    return problems


async def bulk_cancel(api, client, label, tool):
    """cancel_jobs: a preview that sends no DELETE, then the apply with its token, which
    sends one DELETE per previewed job with the reason."""
    jobs = [api.add_job(job_status="RUNNING")["job_id"] for _ in range(3)]
    arguments = {"job_ids": jobs, "reason": label + " bulk"}
    preview = await client.call_tool("cancel_jobs", arguments)
    data = preview.structured_content or {}
    problems = answer_problems(tool, preview)
    sent = [r.path for r in api.requests if r.method == "DELETE" and r.path.rsplit("/", 1)[-1] in jobs]
    check("%s: tools/call cancel_jobs (preview)" % label, not problems and data.get("job_ids") == jobs and not sent,
          "; ".join(problems) or "%s, DELETEs %s" % (data.get("job_ids"), sent))
    applied = await client.call_tool("cancel_jobs", dict(arguments, confirm=data.get("confirm")))
    problems = answer_problems(tool, applied)
    deletes = [r for r in api.requests if r.method == "DELETE" and r.path.rsplit("/", 1)[-1] in jobs]
    check("%s: tools/call cancel_jobs (apply) -> one DELETE per previewed job" % label,
          not problems and (applied.structured_content or {}).get("canceled") == jobs and
          sorted(r.path.rsplit("/", 1)[-1] for r in deletes) == sorted(jobs) and
          all(r.json == {"reason": label + " bulk"} for r in deletes),
          "; ".join(problems) or "%s, %d DELETEs" % (applied.structured_content, len(deletes)))


async def session(api, mode, label):
    params = StdioServerParameters(command=sys.executable, args=[os.path.join(ROOT, "agentjobs_mcp.py")],
                                   env={"AICONNECT_API_URL": api.url, "AICONNECT_API_KEY": KEY})
    job = api.add_job(job_status="RUNNING")["job_id"]
    logs = []

    async def on_log(params):
        logs.append(params)
    async with Client(params, mode=mode, logging_callback=on_log,
                      log_level=None if mode == "legacy" else "debug") as client:
        check(label + ": negotiated revision", client.protocol_version == EXPECTED_VERSION[mode],
              client.protocol_version)
        info = client.server_info
        if mode == "2026-07-28":  # pinned, no probe: the SDK synthesizes the discover result
            check(label + ": server info (none without a probe, by the SDK's design)", info is None, info)
        else:
            check(label + ": server info", info is not None and info.name == "agentjobs-mcp",
                  info and "%s %s" % (info.name, info.version))
        await features(client, mode, label, job, logs)
        listed = await client.list_tools()
        tools = dict((t.name, t) for t in listed.tools)
        check("%s: tools/list -> %d tools" % (label, len(tools)), sorted(tools) == TOOLS, ", ".join(sorted(tools)))
        for name, arguments in calls(job, label):
            try:
                result = await client.call_tool(name, arguments)
            except Exception as error:  # e.g. the SDK's own outputSchema check; the other tools still run
                check("%s: tools/call %s" % (label, name), False, "%s: %s" % (type(error).__name__, error))
                continue
            text = result.content[0].text if result.content else ""
            problems = answer_problems(tools[name], result)
            check("%s: tools/call %s" % (label, name), not problems,
                  "; ".join(problems) or "%d characters, structuredContent valid" % len(text))
        await bulk_cancel(api, client, label, tools["cancel_jobs"])
        unknown = await client.call_tool("get_job", {"job_id": "no-such-job"})
        text = unknown.content[0].text if unknown.content else ""
        check(label + ": get_job of an unknown id -> isError", bool(unknown.is_error) and "No job 'no-such-job'" in text,
              text)
        bad = await client.call_tool("list_jobs", {"limit": 0})
        text = bad.content[0].text if bad.content else ""
        check(label + ": list_jobs limit=0 -> isError", bool(bad.is_error) and "'limit'" in text, text)
    # What the API received.
    keys = set(r.headers.get("authorization") for r in api.requests)
    check(label + ": the API got the key on every request", keys == {"Bearer " + KEY}, "%d requests" % len(api.requests))
    posts = [r.json for r in api.requests if r.method == "POST"]
    channel = (posts[0] or {}).get("target_channel") or {} if len(posts) == 1 else {}
    check(label + ": the API received POST /services/agent-jobs", len(posts) == 1 and
          posts[0].get("job_type_id") == "customer-followup" and channel.get("platform") == "whatsapp" and
          channel.get("code") == "interop-" + job, posts)
    deletes = [r for r in api.requests if r.method == "DELETE" and r.path.endswith("/" + job)]
    check(label + ": the API received DELETE %s with the reason as JSON" % job, len(deletes) == 1 and
          deletes[0].path.endswith("/services/agent-jobs/" + job) and
          deletes[0].json == {"reason": "%s %s" % (label, job)} and
          (deletes[0].headers.get("content-type") or "").startswith("application/json"),
          deletes and "%s %s" % (deletes[0].path, deletes[0].json))


def server_params(api, **settings):
    env = {"AICONNECT_API_URL": api.url, "AICONNECT_API_KEY": KEY}
    env.update(settings)
    return StdioServerParameters(command=sys.executable, args=[os.path.join(ROOT, "agentjobs_mcp.py")], env=env)


async def confirm_session(api, mode, label, folder):
    """AGENTJOBS_CONFIRM=cancel_job: the SDK's elicitation callback accepts, then declines."""
    audit = os.path.join(folder, "audit-%s.log" % mode)
    asked, answers = [], [types.ElicitResult(action="accept", content={"confirm": True}),
                          types.ElicitResult(action="decline")]

    async def elicitation_callback(context, params):
        asked.append(params)
        return answers[len(asked) - 1]

    jobs = [api.add_job(job_status="RUNNING")["job_id"] for _ in range(2)]
    params = server_params(api, AGENTJOBS_CONFIRM="cancel_job", AGENTJOBS_AUDIT_LOG=audit)
    async with Client(params, mode=mode, elicitation_callback=elicitation_callback) as client:
        first = await client.call_tool("cancel_job", {"job_id": jobs[0], "reason": "interop"})
        text = first.content[0].text if first.content else ""
        check(label + ": confirm, accepted -> cancelled", not first.is_error and "Successfully canceled" in text, text)
        message = asked[0].message if asked else ""
        schema = asked[0].requested_schema if asked else {}
        check(label + ": the form shows the job and asks yes/no", "Job: " + jobs[0] in message and
              "Status: RUNNING" in message and schema.get("properties", {}).get("confirm", {}).get("type") ==
              "boolean", message)
        second = await client.call_tool("cancel_job", {"job_id": jobs[1]})
        text = second.content[0].text if second.content else ""
        check(label + ": confirm, declined -> isError, not cancelled",
              bool(second.is_error) and text.startswith("not cancelled: the user declined"), text)
    deletes = [r.path.rsplit("/", 1)[-1] for r in api.requests if r.method == "DELETE"]
    check(label + ": the API got the accepted DELETE only", deletes == [jobs[0]] and
          api.jobs[jobs[1]]["job_status"] == "RUNNING", deletes)
    with open(audit) as handle:
        lines = [json.loads(line) for line in handle]
    seen = [(line["job_id"], line["outcome"], line["confirmation"]) for line in lines if line["outcome"] != "asked"]
    check(label + ": the audit log records both answers", seen == [
        (jobs[0], "sending", "confirmed by the client"), (jobs[0], "ok", "confirmed by the client"),
        (jobs[1], "refused", "declined by the client")], seen)
    # The era the confirmation went through: elicitation/create requests (initialize), or
    # input_required answers and retries (stateless), which the log records as "asked".
    asks = [line["protocol"] for line in lines if line["outcome"] == "asked"]
    stateless = mode == "2026-07-28"
    check(label + ": asked by %s" % ("input_required and a retry" if stateless else "elicitation/create"),
          asks == (["2026-07-28"] * 2 if stateless else []) and
          set(line["protocol"] for line in lines) == {EXPECTED_VERSION[mode]}, [l["protocol"] for l in lines])


async def listing_session(api, mode, label, expected, call, refusal, **settings):
    """What list_tools shows under a guard setting, and a call it refuses."""
    async with Client(server_params(api, **settings), mode=mode) as client:
        names = sorted(t.name for t in (await client.list_tools()).tools)
        check("%s: %s -> list_tools" % (label, " ".join("%s=%s" % kv for kv in settings.items())),
              names == expected, ", ".join(names))
        result = await client.call_tool(call[0], call[1])
        text = result.content[0].text if result.content else ""
        check("%s: %s refused" % (label, call[0]), bool(result.is_error) and refusal in text, text)


async def guard_rails(api, mode, label, folder):
    await confirm_session(api, mode, label, folder)
    before = len(api.requests)
    await listing_session(api, mode, label, [t for t in TOOLS if t not in ("cancel_job", "cancel_jobs", "create_job")],
                          ("cancel_job", {"job_id": "job-0001"}), "this server is read-only",
                          AGENTJOBS_READ_ONLY="1")
    await listing_session(api, mode, label, ["get_job", "list_jobs"], ("get_context", {}),
                          "get_context is not enabled on this server", AGENTJOBS_TOOLS="list_jobs,get_job")
    check(label + ": the refused calls reached no API", len(api.requests) == before,
          "%d requests" % (len(api.requests) - before))


async def main():
    folder = tempfile.mkdtemp(prefix="agentjobs-interop-")
    for mode in ("legacy", "2026-07-28"):
        label = "python-sdk %s guard rails mode=%s" % (VERSION, mode)
        api = StandInAPI(key=KEY)
        api.start()
        try:
            await guard_rails(api, mode, label, folder)
        except Exception as error:
            while getattr(error, "exceptions", None):
                error = error.exceptions[0]
            check(label + ": session", False, "%s: %s" % (type(error).__name__, error))
        finally:
            api.stop()
    shutil.rmtree(folder, ignore_errors=True)
    for mode in ("auto", "legacy", "2026-07-28"):
        label = "python-sdk %s mode=%s" % (VERSION, mode)
        api = StandInAPI(key=KEY)
        api.start()
        try:
            await session(api, mode, label)
        except Exception as error:  # a broken session is a failed check, not a crash
            while getattr(error, "exceptions", None):  # an ExceptionGroup from anyio
                error = error.exceptions[0]
            check(label + ": session", False, "%s: %s" % (type(error).__name__, error))
        finally:
            api.stop()
    failed = results.count(False)
    sys.stdout.write("%d passed, %d failed\n" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

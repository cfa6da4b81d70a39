"""The official MCP Python SDK client (mcp, pinned in interop/run.py) against the real server.

Runs in the venv interop/run.py makes. For each era mode of the SDK's Client - "auto"
(probes server/discover, falls back to initialize), "legacy" (initialize) and
"2026-07-28" (stateless, no probe) - it starts agentjobs_mcp.py over stdio against the
stand-in API, lists the tools, calls every tool, checks the results (text, isError,
structuredContent against each tool's outputSchema, which the SDK validates too) and what
the stand-in API received. One line per check, then "N passed, N failed".
"""
import asyncio
import os
import sys

import jsonschema
from mcp import Client, StdioServerParameters

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)
from standin import StandInAPI  # noqa: E402

KEY = "interop-key"
EXPECTED_VERSION = {"auto": "2026-07-28", "legacy": "2025-11-25", "2026-07-28": "2026-07-28"}
results = []


def check(label, ok, detail=""):
    results.append(ok)
    detail = " ".join(str(detail).split())[:160]
    sys.stdout.write("%-4s python-sdk %s%s\n" % ("ok" if ok else "FAIL", label, (": " + detail) if detail else ""))
    sys.stdout.flush()


def calls(api):
    running = api.add_job(job_status="RUNNING")["job_id"]
    return [
        ("get_context", {}),
        ("list_jobs", {"status": "running", "limit": 5}),
        ("get_jobs_stats", {"created_at_gte": "2024-01-01"}),
        ("get_job", {"job_id": "job-0001", "include_activities": True}),
        ("get_job_activities", {"job_id": "job-0001", "limit": 2}),
        ("get_job_type", {"job_type_id": "customer-followup"}),
        ("create_job", {"job_type_id": "customer-followup",
                        "target_channel": {"platform": "whatsapp", "code": "5511999999999"},
                        "params": {"customer_name": "Ana", "order_id": "A-1"}}),
        ("cancel_job", {"job_id": running, "reason": "interop %s" % running}),
    ]


async def run_mode(mode):
    with StandInAPI(key=KEY) as api:
        params = StdioServerParameters(command=sys.executable, args=[os.path.join(HERE, "agentjobs_mcp.py")],
                                       env={"AICONNECT_API_URL": api.url, "AICONNECT_API_KEY": KEY})
        label = "mode=%s" % mode
        try:
            async with Client(params, mode=mode) as client:
                check(label + " negotiated", client.protocol_version == EXPECTED_VERSION[mode],
                      client.protocol_version)
                listed = await client.list_tools()
                tools = dict((t.name, t) for t in listed.tools)
                check(label + " tools/list", len(tools) == 8, "%d tools" % len(tools))
                for name, arguments in calls(api):
                    result = await client.call_tool(name, arguments)
                    text = result.content[0].text if result.content else ""
                    problems = []
                    if result.is_error:
                        problems.append("isError: " + text[:200])
                    if not text:
                        problems.append("no text")
                    schema = tools[name].output_schema
                    try:
                        jsonschema.validate(result.structured_content, schema)
                    except jsonschema.ValidationError as error:
                        problems.append("structuredContent: %s" % error.message)
                    check("%s tools/call %s" % (label, name), not problems, "; ".join(problems) or
                          "%d characters, structuredContent valid" % len(text))
                cancel = [r for r in api.requests if r.method == "DELETE"]
                check(label + " the API received the DELETE with its reason",
                      len(cancel) == 1 and (cancel[0].json or {}).get("reason", "").startswith("interop job-"),
                      cancel[0].raw_path if cancel else "no DELETE")
                failed = await client.call_tool("get_job", {"job_id": "no-such-job"})
                check(label + " unknown job is an error result", bool(failed.is_error) and
                      "No job 'no-such-job'" in failed.content[0].text, failed.content[0].text[:120])
                bad = await client.call_tool("list_jobs", {"limit": 0})
                check(label + " bad argument is an error result", bool(bad.is_error) and "'limit'" in
                      bad.content[0].text, bad.content[0].text[:120])
        except Exception as error:  # a broken session is a failed check, not a crash
            while hasattr(error, "exceptions") and error.exceptions:  # an ExceptionGroup from anyio
                error = error.exceptions[0]
            check(label + " session", False, "%s: %s" % (type(error).__name__, error))


async def main():
    for mode in ("auto", "legacy", "2026-07-28"):
        await run_mode(mode)
    failed = results.count(False)
    sys.stdout.write("%d passed, %d failed\n" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

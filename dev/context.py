"""make context: the context budget of agentjobs_mcp.py (issue 11), a table and a verdict.

Prints each tool definition's size against its share, their total, and the typical
answers (text and structuredContent) against the stand-in API, each with its budget and
whether it holds; exits 1 when one does not. test_agentjobs_mcp.py checks the same
budgets from this file (ContextBudgetTest).

Every conversation with the server configured carries its tool definitions, and every
answer lands in the context. Sizes are characters of compact JSON
(json.dumps(x, separators=(",", ":"), ensure_ascii=False); about 4 characters a token),
deterministic for a given file, so the test suite checks the same budgets.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)

# Tool definitions as a model sees them, [{name, description, inputSchema}], plus the
# `execution` field a 2025-11-25 list gives the tools that can run as a task (issue 27):
# each tool's share, and all of them together (the shares add up to at most it).
# cancel_jobs (issue 28) came with 7,600 for all: room for it and for watch_job (issue 27);
# with both, the shares of the others were cut from ~30 characters of room to ~15.
SHARES = {"cancel_job": 440, "get_job": 670, "list_jobs": 1580, "get_jobs_stats": 670,
          "get_job_activities": 990, "create_job": 1430, "get_job_type": 370, "get_context": 280,
          "cancel_jobs": 760, "watch_job": 410}
DEFINITIONS_BUDGET = 7600


def compact_size(value):
    """Characters of compact JSON: the measure of issue 11."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def definition_sizes(tools):
    """[(name, characters)] of each tool's definition as a model sees it, with its
    execution field where a 2025-11-25 list has one."""
    import agentjobs_mcp
    return [(entry.name, compact_size(dict(
        {"name": entry.name, "description": entry.description, "inputSchema": entry.published_schema},
        **({"execution": {"taskSupport": "optional"}} if entry.name in agentjobs_mcp.TASK_TOOLS else {}))))
            for entry in tools]

# Typical answers against the stand-in API with 120 waiting jobs added to its seed data,
# as issue 11 measured them; the Node server 1.3.0's numbers from the same measure.
NODE = {"definitions": 9526, "list_jobs": 2668, "create_job": 975, "get_jobs_stats": 1554,
        "list50_text": 9985}
SEEDED_WAITING_JOBS = 120


def seed_waiting_jobs(api, count=SEEDED_WAITING_JOBS):
    """Add `count` waiting jobs, newer than the seed's, at fixed times (sizes never vary)."""
    for number in range(count):
        stamp = "2024-08-01T%02d:%02d:00.000Z" % (8 + number // 60, number % 60)
        api.add_job(created_at=stamp, updated_at=stamp, scheduled_at=stamp)


def answer_rows(call):
    """[(what, characters, budget, Node's or None)] of the typical answers; `call(name,
    arguments)` returns a tools/call result of a 2025-06-18-or-later session."""
    def sizes(name, arguments):
        result = call(name, arguments)
        if result.get("isError"):
            raise RuntimeError("%s %r failed: %s" % (name, arguments, result["content"][0]["text"]))
        return len(result["content"][0]["text"]), compact_size(result["structuredContent"])

    rows = []
    text, data = sizes("list_jobs", {"limit": 50})
    rows += [("list_jobs limit=50: text", text, min(5000, NODE["list50_text"] // 2), NODE["list50_text"]),
             ("list_jobs limit=50: structuredContent", data, min(10000, NODE["list50_text"], 2 * text), None)]
    text, data = sizes("list_jobs", {"limit": 100})
    rows += [("list_jobs limit=100: text", text, 10000, None),
             ("list_jobs limit=100: structuredContent", data, 20000, None)]
    for what, name, arguments, text_budget, data_budget in (
            ("get_job job-0001", "get_job", {"job_id": "job-0001"}, 1200, 1250),
            ("get_job job-0001 include_activities", "get_job", {"job_id": "job-0001", "include_activities": True},
             2000, 2600),
            ("get_jobs_stats", "get_jobs_stats", {}, 550, 400),
            ("get_job_activities job-0001", "get_job_activities", {"job_id": "job-0001"}, 1000, 1400)):
        text, data = sizes(name, arguments)
        rows += [(what + ": text", text, text_budget, None),
                 (what + ": structuredContent", data, data_budget, None)]
    return rows


def ceiling_rows(api, call, max_answer_chars):
    """Answers to what would flood a context: a job with a 1 MB params, an activity with a
    5 MB output, 100 jobs with long names; each at most the ceiling, text plus structured."""
    big = api.add_job(created_at="2024-01-01T00:00:00Z", params={"blob": "z" * (1 << 20)})["job_id"]
    api.activities[big] = [{"id": "act-huge", "status": "completed", "created_at": "2024-01-01T00:00:00Z",
                            "payloads": {"output": "y" * (5 << 20)}}]
    rows = []
    for what, name, arguments in (
            ("get_job with a 1 MB params", "get_job", {"job_id": big}),
            ("get_job_activities detail=full, a 5 MB output", "get_job_activities",
             {"job_id": big, "detail": "full"})):
        result = call(name, arguments)
        rows.append((what + ": text + structuredContent", len(result["content"][0]["text"])
                     + compact_size(result["structuredContent"]), max_answer_chars, None))
    for number in range(100):
        api.add_job(created_at="2025-01-01T00:00:%02d.000Z" % (number % 60), job_type_id="t" * 3000,
                    result="r" * 3000, channel_data={"platform": "web", "name": "n" * 3000})
    result = call("list_jobs", {"limit": 100, "detail": "full"})
    rows.append(("list_jobs limit=100 detail=full, long names: text + structuredContent",
                 len(result["content"][0]["text"]) + compact_size(result["structuredContent"]),
                 max_answer_chars, None))
    return rows


def definition_rows(tools):
    """The rows of the tool definitions: each within its share, and the total."""
    sizes = definition_sizes(tools)
    rows = [("tool definitions, all of them", sum(size for _, size in sizes), DEFINITIONS_BUDGET,
             NODE["definitions"])]
    rows += [("  " + name, size, SHARES[name], NODE.get(name)) for name, size in sizes]
    return rows


def run_session(api_url, key):
    """A real server process (this checkout's agentjobs_mcp.py) and a call function."""
    import subprocess
    env = dict((k, v) for k, v in os.environ.items() if not (  # as the suite's clean_env
        k.upper().endswith("_PROXY") or k.startswith(("AICONNECT_", "AGENTJOBS_", "DEFAULT_"))
        or k in ("MCP_DEBUG", "SSL_CERT_FILE")))
    env.update(AICONNECT_API_URL=api_url, AICONNECT_API_KEY=key)
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "agentjobs_mcp.py")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    counter = [0]

    def request(method, params):
        counter[0] += 1
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": counter[0], "method": method,
                                     "params": params}).encode("utf-8") + b"\n")
        proc.stdin.flush()
        answer = json.loads(proc.stdout.readline().decode("utf-8"))
        if "result" not in answer:
            raise RuntimeError("%s failed: %r" % (method, answer))
        return answer["result"]

    request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                           "clientInfo": {"name": "make-context", "version": "1"}})
    return proc, lambda name, arguments: request("tools/call", {"name": name, "arguments": arguments})


def main():
    import agentjobs_mcp
    from standin import StandInAPI
    with StandInAPI(key="context-key") as api:
        seed_waiting_jobs(api)
        proc, call = run_session(api.url, "context-key")
        try:
            rows = definition_rows(agentjobs_mcp.TOOLS) + answer_rows(call)
            rows += ceiling_rows(api, call, agentjobs_mcp.MAX_ANSWER_CHARS)
        finally:
            proc.stdin.close()
            proc.wait(10)
            proc.stdout.close()
    sys.stdout.write("Context budget of agentjobs_mcp.py %s: characters of compact JSON (about 4 a token);\n"
                     "answers against the stand-in API with %d waiting jobs added to its seed data.\n\n"
                     % (agentjobs_mcp.__version__, SEEDED_WAITING_JOBS))
    line = "%-70s %8s %8s %11s  %s\n"
    sys.stdout.write(line % ("what", "ours", "budget", "Node 1.3.0", "holds"))
    failed = []
    for what, size, limit, node in rows:
        holds = size <= limit
        if not holds:
            failed.append(what.strip())
        sys.stdout.write(line % (what, "{:,}".format(size), "{:,}".format(limit),
                                 "{:,}".format(node) if node else "", "yes" if holds else "NO"))
    if failed:
        sys.stdout.write("FAILED: %s over budget\n" % ", ".join(failed))
        return 1
    sys.stdout.write("All %d budgets hold.\n" % len(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

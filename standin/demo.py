"""make demo: the stand-in API and the real server, and a short session between them.

Starts the stand-in Agent Jobs API on 127.0.0.1, starts `agentjobs_mcp.py` against it as
an MCP client would, and shows each JSON-RPC exchange: initialize, tools/list, get_context,
list_jobs, cancel_job with a reason, and the error you get cancelling the same job again.
Then it closes the server's stdin (the server exits) and stops the API.
"""
import json
import os
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)
from standin import StandInAPI  # noqa: E402

KEY = "demo-key"


def show(direction, message, width=100):
    text = json.dumps(message, ensure_ascii=False)
    if len(text) > 400:
        text = text[:400] + " ..."
    sys.stdout.write("%s %s\n" % (direction, text))


def main():
    with StandInAPI(key=KEY) as api:
        running = [j for j in api.jobs.values() if j.get("job_status") == "RUNNING"]
        job_id = running[0]["job_id"] if running else api.add_job(job_status="RUNNING")["job_id"]
        env = dict((k, v) for k, v in os.environ.items() if not k.upper().endswith("_PROXY"))
        env.update(AICONNECT_API_URL=api.url, AICONNECT_API_KEY=KEY)
        sys.stdout.write("Stand-in API at %s (key %r)\nServer: %s %s\n\n" % (
            api.url, KEY, sys.executable, os.path.join(HERE, "agentjobs_mcp.py")))
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "agentjobs_mcp.py")],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        counter = [0]

        def rpc(method, params=None, notify=False):
            message = {"jsonrpc": "2.0", "method": method}
            if params is not None:
                message["params"] = params
            if not notify:
                counter[0] += 1
                message["id"] = counter[0]
            show("->", message)
            proc.stdin.write(json.dumps(message).encode() + b"\n")
            proc.stdin.flush()
            if notify:
                return None
            answer = json.loads(proc.stdout.readline())
            return answer

        def tool(name, arguments):
            answer = rpc("tools/call", {"name": name, "arguments": arguments})
            result = answer["result"]
            sys.stdout.write("<- isError=%s\n%s\n\n" % (result["isError"], textwrap.indent(
                result["content"][0]["text"], "   | ", lambda line: True)))
            return result

        answer = rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                    "clientInfo": {"name": "make-demo", "version": "1"}})
        show("<-", answer)
        rpc("notifications/initialized", notify=True)
        sys.stdout.write("   (a notification: no answer)\n\n")
        answer = rpc("tools/list")
        sys.stdout.write("<- tools: %s\n\n" % ", ".join(t["name"] for t in answer["result"]["tools"]))
        tool("get_context", {})
        tool("list_jobs", {"status": "running", "limit": 3})
        tool("cancel_job", {"job_id": job_id, "reason": "Customer asked to stop (make demo)"})
        last = api.requests[-1]
        sys.stdout.write("   The stand-in API received: %s %s with body %s\n\n" % (
            last.method, last.raw_path, last.body.decode()))
        tool("cancel_job", {"job_id": job_id})
        proc.stdin.close()
        code = proc.wait(10)
        sys.stdout.write("stdin closed; the server exited with %d. %d requests reached the API.\n"
                         % (code, len(api.requests)))
        return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

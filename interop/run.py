"""make interop: the real server against MCP clients nobody here wrote.

Installs, into interop/.deps/ (ignored by git), the pinned clients - a venv with the
official Python SDK (PyPI `mcp`, PYTHON_SDK below) and the npm packages of
interop/package.json (the TypeScript SDK 1.x, its 2.x client, the MCP Inspector) - then:
  1. interop/python_sdk_client.py: the Python SDK in auto, legacy and 2026-07-28 modes;
  2. interop/ts_sdk_client.mjs: the TypeScript SDK 1.x (initialize era) and the 2.x
     client in legacy, auto and 2026-07-28 modes;
  3. the MCP Inspector's CLI: tools/list, and tools/call cancel_job with a reason in the
     legacy and modern eras, checked on the stand-in API's side.
Each prints one line per check; this prints its own and a closing "N passed, N failed",
and exits 1 if any check failed or any client could not run.
"""
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEPS = os.path.join(HERE, ".deps")
NODE_DIR = os.path.join(DEPS, "node")
VENV = os.path.join(DEPS, "venv")
PYTHON_SDK = "mcp==2.3.0"
SERVER = os.path.join(ROOT, "agentjobs_mcp.py")
KEY = "interop-key-0123456789"
sys.path.insert(0, ROOT)
from standin import StandInAPI  # noqa: E402

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


def modern_python():
    """A CPython >= 3.10 for the Python SDK: this one, or the newest one pyenv has."""
    if sys.version_info >= (3, 10):
        return sys.executable
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = []
    for name in os.listdir(os.path.join(root, "versions")) if os.path.isdir(os.path.join(root, "versions")) else ():
        match = re.match(r"^3\.(\d+)\.(\d+)$", name)
        if match and int(match.group(1)) >= 10:
            found.append((int(match.group(1)), int(match.group(2)), os.path.join(root, "versions", name, "bin", "python")))
    for minor in ("3.13", "3.12", "3.11", "3.10"):
        if shutil.which("python" + minor):
            found.append((int(minor[2:]), 0, shutil.which("python" + minor)))
    if not found:
        raise SystemExit("interop: the Python SDK needs CPython 3.10 or newer; none found")
    return max(found)[2]


def install():
    """Install the pinned clients once; a stamp file remembers what is installed."""
    os.makedirs(DEPS, exist_ok=True)
    with open(os.path.join(HERE, "package.json"), "rb") as handle:
        package = handle.read()
    with open(os.path.join(HERE, "package-lock.json"), "rb") as handle:
        lock = handle.read()
    wanted = json.dumps([PYTHON_SDK, package.decode(), len(lock)])
    stamp = os.path.join(DEPS, "installed.json")
    if os.path.exists(stamp) and open(stamp).read() == wanted:
        return
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        run([modern_python(), "-m", "venv", VENV])
    run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PYTHON_SDK, "jsonschema"])
    os.makedirs(NODE_DIR, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(HERE, name), os.path.join(NODE_DIR, name))
    run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR)
    with open(stamp, "w") as handle:
        handle.write(wanted)


def child_checks(label, argv, **kwargs):
    """Run a client script; relay its lines and fold its counts into ours."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)
    output = proc.communicate(timeout=600)[0].decode("utf-8", "replace")
    sys.stdout.write(output)
    found = re.findall(r"^(\d+) passed, (\d+) failed$", output, re.M)
    if not found:
        check(label + " ran", False, "exit %s, no closing line" % proc.returncode)
        return
    passed, failed = (int(n) for n in found[-1])
    counts["passed"] += passed
    counts["failed"] += failed
    if proc.returncode != 0 and failed == 0:
        check(label + " exit code", False, proc.returncode)


def deletes(api):
    return [(r.segments[-1], r.json) for r in api.requests if r.method == "DELETE"]


def typescript(env):
    with StandInAPI(key=KEY) as api:
        jobs = [api.add_job(job_status="RUNNING")["job_id"] for _ in range(4)]
        script = os.path.join(NODE_DIR, "ts_sdk_client.mjs")  # ESM resolves packages beside the script
        shutil.copy(os.path.join(HERE, "ts_sdk_client.mjs"), script)
        child_checks("ts-sdk", ["node", script], cwd=NODE_DIR, env=dict(
            env, AGENTJOBS_SERVER=SERVER, AGENTJOBS_PYTHON=sys.executable, AICONNECT_API_URL=api.url,
            AICONNECT_API_KEY=KEY, RUNNING_JOBS=",".join(jobs)))
        seen = dict(deletes(api))
        for job_id, who in zip(jobs, ("ts-sdk-v1 (initialize era)", "ts-client-v2 legacy", "ts-client-v2 auto",
                                      "ts-client-v2 2026-07-28")):
            check("%s: the API received DELETE %s with the reason" % (who, job_id),
                  seen.get(job_id) == {"reason": "%s %s" % (who, job_id)}, seen.get(job_id))


def inspector(env):
    cli = os.path.join(NODE_DIR, "node_modules", "@modelcontextprotocol", "inspector", "clients", "launcher",
                       "build", "index.js")
    with StandInAPI(key=KEY) as api:
        target = ["node", cli, "--cli", sys.executable, SERVER, "-e", "AICONNECT_API_URL=" + api.url,
                  "-e", "AICONNECT_API_KEY=" + KEY]
        for era in ("legacy", "modern"):
            label = "inspector --protocol-era %s" % era
            proc = subprocess.run(target + ["--method", "tools/list", "--protocol-era", era],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120)
            try:
                names = [t["name"] for t in json.loads(proc.stdout.decode())["tools"]]
            except (ValueError, KeyError, TypeError):
                names = []
            check(label + " tools/list", proc.returncode == 0 and len(names) == 8,
                  "exit %d, %s" % (proc.returncode, ", ".join(names) or proc.stderr.decode()[-200:]))
            job_id = api.add_job(job_status="RUNNING")["job_id"]
            reason = "inspector %s era" % era
            proc = subprocess.run(target + ["--method", "tools/call", "--tool-name", "cancel_job",
                                            "--tool-arg", "job_id=" + job_id, "--tool-arg", "reason=" + reason,
                                            "--protocol-era", era],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120)
            try:
                result = json.loads(proc.stdout.decode())
                text = result["content"][0]["text"]
            except (ValueError, KeyError, TypeError, IndexError):
                result, text = {}, proc.stderr.decode()[-200:]
            check(label + " tools/call cancel_job", proc.returncode == 0 and result.get("isError") is False
                  and "Successfully canceled job" in text, text)
            check(label + " the API received DELETE %s with the reason as JSON" % job_id,
                  dict(deletes(api)).get(job_id) == {"reason": reason}, dict(deletes(api)).get(job_id))


def main():
    install()
    env = dict((k, v) for k, v in os.environ.items() if not k.upper().endswith("_PROXY"))
    child_checks("python-sdk", [os.path.join(VENV, "bin", "python"), os.path.join(HERE, "python_sdk_client.py")],
                 env=env)
    typescript(env)
    inspector(env)
    sys.stdout.write("%d passed, %d failed\n" % (counts["passed"], counts["failed"]))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())

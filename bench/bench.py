"""Benchmark of agentjobs_mcp.py (make bench; make bench QUICK=1 for a smoke run).

Measures, against the stand-in API on 127.0.0.1, with the floor measured in the same run:
  1. cold start: spawn -> initialize answered, spawn -> tools/list answered, against a
     minimal script that reads one line and writes a canned answer (median of N, interleaved);
  2. per-call overhead: sequential cancel_job calls on fresh jobs, p50/p99, minus a plain
     urllib.request call to the same stand-in;
  3. burst: 50 tools/call written at once, API answering in 50 ms, against 50 bare threads;
  4. memory: the server's peak RSS (VmHWM) beside `python -c pass`;
  5. exit: stdin closed -> process gone.
Prints a table of measurements, targets and ratios. Exits non-zero only if the
benchmark itself breaks, never because of a timing.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)
from standin import StandInAPI  # noqa: E402

SERVER = os.path.join(HERE, "agentjobs_mcp.py")
KEY = "bench-key"
PY = sys.executable
INIT = (b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
        b'"capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}\n')
LIST = b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'
FLOOR = ("import sys\nsys.stdin.buffer.readline()\n"
         "sys.stdout.buffer.write(b'{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"protocolVersion\":"
         "\"2025-06-18\",\"capabilities\":{},\"serverInfo\":{\"name\":\"floor\",\"version\":\"0\"}}}\\n')\n"
         "sys.stdout.buffer.flush()\n")


def env_for(api=None):
    env = dict((k, v) for k, v in os.environ.items() if not k.upper().endswith("_PROXY"))
    env["AICONNECT_API_KEY"] = KEY
    if api is not None:
        env["AICONNECT_API_URL"] = api.url
    return env


def median(values):
    return statistics.median(values) if values else float("nan")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def time_start(argv, lines, env):
    """Spawn, write `lines`, return the ms at which each answer line arrived."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    proc.stdin.write(b"".join(lines))
    proc.stdin.flush()
    stamps = []
    for _ in lines:
        if not proc.stdout.readline():
            raise RuntimeError("%s answered nothing" % argv)
        stamps.append((time.perf_counter() - started) * 1000)
    proc.stdin.close()
    proc.wait()
    proc.stdout.close()
    return stamps


def bare_start(flags):
    best = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.check_call([PY] + flags + ["-c", "pass"])
        best.append((time.perf_counter() - started) * 1000)
    return median(best)


def cold_start(runs, flags, env):
    floor, init, listed, module = [], [], [], []
    for _ in range(runs):
        floor.append(time_start([PY] + flags + ["-c", FLOOR], [INIT], env)[0])
        stamps = time_start([PY] + flags + [SERVER], [INIT, LIST], env)
        init.append(stamps[0])
        listed.append(stamps[1])
        module.append(time_start([PY] + flags + ["-m", "agentjobs_mcp"], [INIT], dict(env, PYTHONPATH=HERE))[0])
    return median(floor), median(init), median(listed), median(module)


class Client(object):
    def __init__(self, api, module=False, flags=()):
        argv = [PY] + list(flags) + (["-m", "agentjobs_mcp"] if module else [SERVER])
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=dict(env_for(api), PYTHONPATH=HERE))
        self.send(INIT)
        self.proc.stdout.readline()

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def call(self, request_id, name, arguments):
        self.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
                              "params": {"name": name, "arguments": arguments}}).encode() + b"\n")

    def read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the server closed stdout")
        return json.loads(line)

    def peak_rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return float("nan")

    def close(self):
        started = time.perf_counter()
        self.proc.stdin.close()
        self.proc.wait()
        elapsed = (time.perf_counter() - started) * 1000
        self.proc.stdout.close()
        return elapsed


def module_rss(api, calls, flags=()):
    """Peak RSS of `python -m agentjobs_mcp` (no compile at start) after `calls` cancels."""
    client = Client(api, module=True, flags=flags)
    for number in range(calls):
        client.call(number, "cancel_job", {"job_id": api.add_job(job_status="RUNNING")["job_id"]})
        client.read()
    rss = client.peak_rss_kib()
    client.close()
    return rss


def per_call(api, calls):
    ids = [api.add_job(job_status="RUNNING")["job_id"] for _ in range(calls * 2)]
    baseline = []
    for job_id in ids[calls:]:
        request = urllib.request.Request("%s/services/agent-jobs/%s" % (api.url, job_id), method="DELETE",
                                         headers={"Authorization": "Bearer " + KEY, "Accept": "application/json",
                                                  "X-Client-Type": "mcp"})
        started = time.perf_counter()
        with urllib.request.urlopen(request) as response:
            json.loads(response.read())
        baseline.append((time.perf_counter() - started) * 1000)
    client = Client(api)
    rounds = []
    for number, job_id in enumerate(ids[:calls]):
        started = time.perf_counter()
        client.call(number, "cancel_job", {"job_id": job_id})
        answer = client.read()
        rounds.append((time.perf_counter() - started) * 1000)
        if answer["result"]["isError"]:
            raise RuntimeError("cancel_job failed: %r" % answer)
    return client, baseline, rounds


def burst(api, size, latency):
    api.latency = latency
    jobs = [api.add_job(job_status="RUNNING")["job_id"] for _ in range(size * 2)]
    client = Client(api)
    client.call("warm", "list_jobs", {"limit": 1})
    client.read()
    api.reset_in_flight()
    payload = b"".join(json.dumps({"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {
        "name": "get_job", "arguments": {"job_id": jobs[n]}}}).encode() + b"\n" for n in range(size))
    started = time.perf_counter()
    client.send(payload)
    for _ in range(size):
        client.read()
    server_ms = (time.perf_counter() - started) * 1000
    server_peak = api.max_in_flight
    client.close()
    api.reset_in_flight()

    def fetch(job_id):
        request = urllib.request.Request("%s/services/agent-jobs/%s" % (api.url, job_id),
                                         headers={"Authorization": "Bearer " + KEY})
        with urllib.request.urlopen(request) as response:
            response.read()
    threads = [threading.Thread(target=fetch, args=(job_id,)) for job_id in jobs[size:]]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bare_ms = (time.perf_counter() - started) * 1000
    bare_peak = api.max_in_flight
    api.latency = 0
    return server_ms, server_peak, bare_ms, bare_peak


def bare_rss_kib(code="pass", flags=()):
    out = subprocess.check_output([PY] + list(flags) + ["-c", code + "\nprint(open('/proc/self/status').read())"])
    for line in out.decode().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of about 30 seconds")
    opts = parser.parse_args()
    runs, calls = (5, 200) if opts.quick else (21, 2000)
    import platform
    print("agentjobs-mcp benchmark%s: Python %s (%s), %s, %d CPUs" % (
        " (QUICK: fewer runs, smoke only)" if opts.quick else "", platform.python_version(), PY,
        platform.platform(), os.cpu_count() or 0))
    # `python -m agentjobs_mcp` runs from cached bytecode: make sure there is some, even
    # where PYTHONDONTWRITEBYTECODE is set (it forbids writing it, not reading it).
    import py_compile
    py_compile.compile(SERVER, doraise=True)
    with StandInAPI(key=KEY) as api:
        env = env_for(api)
        bare = bare_start([])
        bare_s = bare_start(["-S"])
        floor, init, listed, module = cold_start(runs, [], env)
        floor_s, init_s, listed_s, module_s = cold_start(runs, ["-S"], env)
        client, baseline, rounds = per_call(api, calls)
        rss = client.peak_rss_kib()
        rss_module = module_rss(api, calls)
        rss_module_s = module_rss(api, calls, ["-S"])
        exit_ms = [client.close()]
        for _ in range(4 if opts.quick else 9):
            exit_ms.append(Client(api).close())
        server_ms, server_peak, bare_ms, bare_peak = burst(api, 50, 0.05)
    bare_rss = bare_rss_kib()
    bare_rss_s = bare_rss_kib(flags=["-S"])
    urllib_rss = bare_rss_kib("import urllib.request")
    over50 = median(rounds) - median(baseline)
    over99 = percentile(rounds, 0.99) - percentile(baseline, 0.99)
    rows = [
        ("python -c pass / python -S -c pass", "%.1f / %.1f ms" % (bare, bare_s), "", ""),
        ("floor (minimal script) to initialize", "%.1f ms (-S: %.1f)" % (floor, floor_s), "", ""),
        ("server to initialize, as a script", "%.1f ms = %.2fx floor (-S: %.1f = %.2fx)" % (
            init, init / floor, init_s, init_s / floor_s), "<= 1.3x", ok(init / floor <= 1.3)),
        ("server to initialize, -m (cached bytecode)", "%.1f ms = %.2fx floor (-S: %.1f = %.2fx)" % (
            module, module / floor, module_s, module_s / floor_s), "<= 1.3x", ok(module / floor <= 1.3)),
        ("tools/list after initialize", "+%.2f ms (-S: +%.2f)" % (listed - init, listed_s - init_s),
         "<= 2 ms", ok(listed - init <= 2)),
        ("per call, p50 over the API's own", "%.3f ms (%.3f vs %.3f, n=%d)" % (
            over50, median(rounds), median(baseline), calls), "<= 0.5 ms", ok(over50 <= 0.5)),
        ("per call, p99 over the API's own", "%.3f ms (%.3f vs %.3f)" % (
            over99, percentile(rounds, 0.99), percentile(baseline, 0.99)), "<= 2 ms", ok(over99 <= 2)),
        ("50 calls at once, API at 50 ms", "%.1f ms, %d in flight; bare threads %.1f ms, %d in flight = %.2fx" % (
            server_ms, server_peak, bare_ms, bare_peak, server_ms / bare_ms), "<= 1.3x, 50",
         ok(server_ms / bare_ms <= 1.3 and server_peak == 50)),
        ("peak RSS after %d calls" % calls, "%.1f MiB (python -c pass: %.1f; import urllib.request: %.1f)" % (
            rss / 1024.0, bare_rss / 1024.0, urllib_rss / 1024.0), "<= 20 MiB", ok(rss / 1024.0 <= 20)),
        ("peak RSS after %d calls, -m" % calls, "%.1f MiB (-S: %.1f; python -S -c pass: %.1f)" % (
            rss_module / 1024.0, rss_module_s / 1024.0, bare_rss_s / 1024.0), "<= 20 MiB",
         ok(rss_module / 1024.0 <= 20)),
        ("stdin closed -> exit (median of %d)" % len(exit_ms), "%.1f ms" % median(exit_ms), "<= 50 ms",
         ok(median(exit_ms) <= 50)),
    ]
    width = max(len(r[0]) for r in rows)
    print("")
    print("%-*s  %-62s %-14s %s" % (width, "what", "measured", "target", "met"))
    for row in rows:
        print("%-*s  %-62s %-14s %s" % (width, row[0], row[1], row[2], row[3]))
    return 0


def ok(condition):
    return "yes" if condition else "NO"


if __name__ == "__main__":
    sys.exit(main())

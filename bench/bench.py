"""Benchmark of agentjobs_mcp.py (make bench; make bench QUICK=1 for a smoke run).

Every Python here, the floors' and the server's, is this interpreter run with -S (no
`site`: a .pth file in site-packages would add the same start-up cost to both sides of a
ratio and hide ours); `make bench` runs this file with -S too. Measures, against the
stand-in API on 127.0.0.1, with each floor measured in the same run, interleaved:
  1. cold start: spawn -> initialize answered, spawn -> tools/list answered, against a
     minimal script that imports json, parses the line and writes its answer (median of N);
     the server as a script (compiled at every start) and as the installed command runs it
     (`from agentjobs_mcp import main`, cached bytecode);
  2. per-call overhead: sequential cancel_job calls on fresh jobs, p50/p99, minus the same
     request by http.client on one kept-alive connection to the same stand-in;
  3. burst: 50 tools/call written at once, API answering in 50 ms, against 50 bare threads;
  4. memory: the server's peak RSS (VmHWM) beside `python -S -c pass`;
  5. exit: stdin closed -> process gone;
  6. slow network: the https stand-in (its test CA) behind standin/relay.py, which holds
     every chunk 20 ms each way (a 40 ms round trip; the handshake with the relay itself is
     not delayed), 2 + 20 sequential get_job calls: the server, the server with
     AGENTJOBS_IDLE_TIMEOUT=0 (a new connection per call), and a keep-alive floor
     (http.client on one connection), interleaved; p50 of the last 20 in round trips, and
     the TCP connections the stand-in accepted for the server's 22 calls.
     --compare NAME=COMMAND (repeatable) runs the same calls, interleaved, by another MCP
     stdio server: COMMAND (split like a shell would, run as is, never built) gets the
     environment our server gets (AICONNECT_API_URL, AICONNECT_API_KEY, AGENTJOBS_CA_BUNDLE)
     plus each --compare-env KEY=VALUE, where {ca} in VALUE is the stand-in's test CA file
     (e.g. --compare-env NODE_EXTRA_CA_CERTS={ca} for a Node.js server). It must have a
     get_job tool that takes {"job_id": ...}. --slow-network-only runs only this scenario.
Prints a table of measurements, targets and ratios. Exits non-zero only if the
benchmark itself breaks, never because of a timing.
"""
import argparse
import http.client
import json
import os
import shlex
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)
from standin import StandInAPI  # noqa: E402
from standin.agentjobs_api import CA_FILE  # noqa: E402
from standin.relay import Relay  # noqa: E402

SERVER = os.path.join(HERE, "agentjobs_mcp.py")
KEY = "bench-key"
PY = sys.executable
FLAGS = ["-S"]  # the isolated interpreter of every floor and server (see the docstring)
SCRIPT = [PY] + FLAGS + [SERVER]
# What the installed agentjobs-mcp command runs (pip's console script, less its `import re`,
# which json imports anyway): the module from cached bytecode.
INSTALLED = [PY] + FLAGS + ["-c", "import sys\nfrom agentjobs_mcp import main\nsys.exit(main())"]
HOP_S = 0.020  # the slow network's delay each way
INIT = (b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
        b'"capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}\n')
LIST = b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'
INITIALIZED = b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
# The floor: what any MCP server in Python must do to answer initialize.
FLOOR = ("import json, sys\nmessage = json.loads(sys.stdin.buffer.readline())\n"
         "sys.stdout.buffer.write(json.dumps({'jsonrpc': '2.0', 'id': message['id'], 'result': {\n"
         "    'protocolVersion': '2025-06-18', 'capabilities': {},\n"
         "    'serverInfo': {'name': 'floor', 'version': '0'}}}).encode() + b'\\n')\n"
         "sys.stdout.buffer.flush()\n")


def env_for(api=None, **extra):
    env = dict((k, v) for k, v in os.environ.items() if not (
        k.upper().endswith("_PROXY") or k.startswith(("AICONNECT_", "AGENTJOBS_", "DEFAULT_"))
        or k in ("MCP_DEBUG", "SSL_CERT_FILE", "PYTHONPATH")))
    env["AICONNECT_API_KEY"] = KEY
    env["PYTHONPATH"] = HERE  # for INSTALLED; -S honours it
    if api is not None:
        env["AICONNECT_API_URL"] = api.url
    env.update(extra)
    return env


def median(values):
    return statistics.median(values) if values else float("nan")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def time_start(argv, lines, env):
    """Spawn, write `lines`, return the ms at which each answer line arrived, and last the
    CPU ms (user + system) the process used in all (less disturbed by a loaded machine)."""
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
    if hasattr(os, "wait4"):
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0
        stamps.append((usage.ru_utime + usage.ru_stime) * 1000)
    else:
        proc.wait()
        stamps.append(float("nan"))
    proc.stdout.close()
    return stamps


def bare_start(flags):
    best = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.check_call([PY] + flags + ["-c", "pass"])
        best.append((time.perf_counter() - started) * 1000)
    return median(best)


def cold_start(runs, env):
    """Medians (wall ms to initialize, to tools/list; CPU ms) of the floor, the script
    and the installed command, interleaved."""
    floor, script, installed = [], [], []
    for _ in range(runs):
        floor.append(time_start([PY] + FLAGS + ["-c", FLOOR], [INIT], env))
        script.append(time_start(SCRIPT, [INIT, LIST], env))
        installed.append(time_start(INSTALLED, [INIT, LIST], env))
    floor = [(init, init, cpu) for init, cpu in floor]
    return [[median(column) for column in zip(*runs_of)] for runs_of in (floor, script, installed)]


class Client(object):
    def __init__(self, api, argv=SCRIPT, **extra_env):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env_for(api, **extra_env))
        self.send(INIT)
        if not self.proc.stdout.readline():
            raise RuntimeError("%s did not answer initialize" % " ".join(argv))

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


def installed_rss(api, calls):
    """Peak RSS of the installed command (no compile at start) after `calls` cancels."""
    client = Client(api, INSTALLED)
    for number in range(calls):
        client.call(number, "cancel_job", {"job_id": api.add_job(job_status="RUNNING")["job_id"]})
        client.read()
    rss = client.peak_rss_kib()
    client.close()
    return rss


def keep_alive_floor(api, context=None):
    """http.client on one kept-alive connection: a function that makes one request."""
    host, port = api.address if hasattr(api, "address") else api.httpd.server_address
    if context is None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
    else:
        conn = http.client.HTTPSConnection(host, port, timeout=30, context=context)
    headers = {"Authorization": "Bearer " + KEY, "Accept": "application/json", "X-Client-Type": "mcp"}

    def request(method, path):
        conn.request(method, "/api/v0" + path, headers=headers)
        response = conn.getresponse()
        return json.loads(response.read())
    request.close = conn.close
    return request


def per_call(api, calls):
    ids = [api.add_job(job_status="RUNNING")["job_id"] for _ in range(calls * 2)]
    baseline = []
    floor = keep_alive_floor(api)
    for job_id in ids[calls:]:
        started = time.perf_counter()
        floor("DELETE", "/services/agent-jobs/" + job_id)
        baseline.append((time.perf_counter() - started) * 1000)
    floor.close()
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
        floor = keep_alive_floor(api)
        floor("GET", "/services/agent-jobs/" + job_id)
        floor.close()
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


def slow_network(calls, compare=(), compare_env=()):
    """get_job over https through a 20 ms-each-way relay: p50 ms of the last `calls` of
    2 + calls, for the server, the server without keep-alive, the keep-alive floor, then
    each (name, argv) of `compare`; and the connections the stand-in accepted for each
    server's calls (the floor's left out)."""
    import ssl
    with StandInAPI(key=KEY, tls=True) as api:
        relay = Relay(api.httpd.server_address, delay=HOP_S).start()
        try:
            url = "https://127.0.0.1:%d/api/v0" % relay.address[1]
            context = ssl.create_default_context(cafile=CA_FILE)
            floor = keep_alive_floor(relay, context)
            servers = [Client(None, SCRIPT, AICONNECT_API_URL=url, AGENTJOBS_CA_BUNDLE=CA_FILE),
                       Client(None, SCRIPT, AICONNECT_API_URL=url, AGENTJOBS_CA_BUNDLE=CA_FILE,
                              AGENTJOBS_IDLE_TIMEOUT="0")]
            other_env = dict((key, value.replace("{ca}", CA_FILE)) for key, value in compare_env)
            other_env.update(AICONNECT_API_URL=url, AGENTJOBS_CA_BUNDLE=CA_FILE)
            for _, argv in compare:
                servers.append(Client(None, argv, **other_env))
                servers[-1].send(INITIALIZED)
            floor_times, times = [], [[] for _ in servers]
            connections = [0 for _ in servers]
            for number in range(2 + calls):
                started = time.perf_counter()
                floor("GET", "/services/agent-jobs/job-0001")
                floor_times.append((time.perf_counter() - started) * 1000)
                for index, client in enumerate(servers):
                    before, asked = api.connections_accepted, len(api.requests)
                    started = time.perf_counter()
                    client.call(number, "get_job", {"job_id": "job-0001"})
                    answer = client.read()
                    while answer.get("id") != number:  # a notification the server sent first
                        answer = client.read()
                    times[index].append((time.perf_counter() - started) * 1000)
                    connections[index] += api.connections_accepted - before
                    # A server may report a failure as plain text without isError: the
                    # stand-in must have been asked once and the answer must name the job.
                    result = answer.get("result") or {}
                    text = "".join(part.get("text", "") for part in result.get("content", []))
                    if result.get("isError", not result) or "job-0001" not in text \
                            or text.startswith("Error") or len(api.requests) != asked + 1:
                        raise RuntimeError("get_job failed: %r" % answer)
            floor.close()
            for client in servers:
                client.close()
        finally:
            relay.stop()
    medians = [median(values[2:]) for values in times]
    return medians[:2] + [median(floor_times[2:])] + medians[2:], connections


def bare_rss_kib(code="pass", flags=()):
    out = subprocess.check_output([PY] + list(flags) + ["-c", code + "\nprint(open('/proc/self/status').read())"])
    for line in out.decode().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of about 15 seconds")
    parser.add_argument("--slow-network-only", action="store_true", help="run only the slow-network scenario")
    parser.add_argument("--compare", action="append", default=[], metavar="NAME=COMMAND",
                        help="also run the slow-network calls by this MCP stdio server (repeatable)")
    parser.add_argument("--compare-env", action="append", default=[], metavar="KEY=VALUE",
                        help="environment for the --compare servers; {ca} in VALUE: the stand-in's CA file")
    opts = parser.parse_args()
    compare, compare_env = [], []
    for option, form, values, pairs in (("--compare", "NAME=COMMAND", opts.compare, compare),
                                        ("--compare-env", "KEY=VALUE", opts.compare_env, compare_env)):
        for value in values:
            name, sep, rest = value.partition("=")
            if not (name and sep and rest):
                parser.error("%s wants %s, not %r" % (option, form, value))
            pairs.append((name, shlex.split(rest) if pairs is compare else rest))
    runs, calls = (5, 200) if opts.quick else (21, 2000)
    import platform
    print("agentjobs-mcp benchmark%s, %s UTC: Python %s (%s %s), %s, %d CPUs, load average %s" % (
        " (QUICK: fewer runs, smoke only)" if opts.quick else "",
        time.strftime("%Y-%m-%d %H:%M", time.gmtime()), platform.python_version(), PY,
        " ".join(FLAGS), platform.platform(), os.cpu_count() or 0,
        " ".join("%.2f" % load for load in os.getloadavg()) if hasattr(os, "getloadavg") else "?"))
    # The installed command runs from cached bytecode: make sure there is some, even
    # where PYTHONDONTWRITEBYTECODE is set (it forbids writing it, not reading it).
    import py_compile
    py_compile.compile(SERVER, doraise=True)
    if opts.slow_network_only:
        print_rows(slow_rows(20, compare, compare_env))
        return 0
    with StandInAPI(key=KEY) as api:
        env = env_for(api)
        bare = bare_start([])
        bare_s = bare_start(FLAGS)
        (floor, _, floor_cpu), (init, listed, cpu), (installed, installed_listed, installed_cpu) = \
            cold_start(runs, env)
        client, baseline, rounds = per_call(api, calls)
        rss = client.peak_rss_kib()
        rss_installed = installed_rss(api, calls)
        exit_ms = [client.close()]
        for _ in range(4 if opts.quick else 9):
            exit_ms.append(Client(api).close())
        server_ms, server_peak, bare_ms, bare_peak = burst(api, 50, 0.05)
    rows_slow = slow_rows(20, compare, compare_env)
    bare_rss_s = bare_rss_kib(flags=FLAGS)
    urllib_rss = bare_rss_kib("import urllib.request", flags=FLAGS)
    over50 = median(rounds) - median(baseline)
    over99 = percentile(rounds, 0.99) - percentile(baseline, 0.99)
    rows = [
        ("python -c pass / python -S -c pass", "%.1f / %.1f ms (the rest: -S)" % (bare, bare_s), "", ""),
        ("floor (imports json) to initialize", "%.1f ms; CPU %.1f ms" % (floor, floor_cpu), "", ""),
        ("server to initialize, as a script", "%.1f ms = %.2fx floor; CPU %.1f ms = %.2fx" % (
            init, init / floor, cpu, cpu / floor_cpu), "<= 1.3x", ok(init / floor <= 1.3)),
        ("server to initialize, installed command", "%.1f ms = %.2fx floor; CPU %.1f ms = %.2fx" % (
            installed, installed / floor, installed_cpu, installed_cpu / floor_cpu), "<= 1.3x",
         ok(installed / floor <= 1.3)),
        ("tools/list after initialize", "+%.2f ms (as a script: +%.2f)" % (
            installed_listed - installed, listed - init), "<= 2 ms", ok(installed_listed - installed <= 2)),
        ("per call, p50 over a keep-alive client", "%.3f ms (%.3f vs %.3f, n=%d)" % (
            over50, median(rounds), median(baseline), calls), "<= 0.5 ms", ok(over50 <= 0.5)),
        ("per call, p99 over a keep-alive client", "%.3f ms (%.3f vs %.3f)" % (
            over99, percentile(rounds, 0.99), percentile(baseline, 0.99)), "<= 2 ms", ok(over99 <= 2)),
        ("50 calls at once, API at 50 ms", "%.1f ms, %d in flight; bare threads %.1f ms, %d in flight = %.2fx" % (
            server_ms, server_peak, bare_ms, bare_peak, server_ms / bare_ms), "<= 1.3x, 50",
         ok(server_ms / bare_ms <= 1.3 and server_peak == 50)),
        ("peak RSS after %d calls, script / installed" % calls, "%.1f / %.1f MiB (-c pass: %.1f; "
         "import urllib.request: %.1f)" % (rss / 1024.0, rss_installed / 1024.0, bare_rss_s / 1024.0,
                                           urllib_rss / 1024.0), "<= 20 MiB", ok(rss_installed / 1024.0 <= 20)),
        ("stdin closed -> exit (median of %d)" % len(exit_ms), "%.1f ms" % median(exit_ms), "<= 50 ms",
         ok(median(exit_ms) <= 50)),
    ]
    print_rows(rows + rows_slow)
    return 0


def slow_rows(calls, compare, compare_env):
    slow, connections = slow_network(calls, compare, compare_env)
    rtt = 2 * HOP_S * 1000
    rows = [
        ("slow network (40 ms RTT), get_job p50", "%.1f ms = %.2f RTT; keep-alive floor %.1f ms = %.2f RTT; "
         "%.2fx floor" % (slow[0], slow[0] / rtt, slow[2], slow[2] / rtt, slow[0] / slow[2]),
         "<= 1.1 RTT", ok(slow[0] / rtt <= 1.1)),
        ("slow network, AGENTJOBS_IDLE_TIMEOUT=0", "%.1f ms = %.2f RTT (a new connection per call)" % (
            slow[1], slow[1] / rtt), "", ""),
        ("slow network, TCP connections for 22 calls", "%d (AGENTJOBS_IDLE_TIMEOUT=0: %d)" % tuple(connections[:2]),
         "1", ok(connections[0] == 1)),
    ]
    for (name, _), took, used in zip(compare, slow[3:], connections[2:]):
        rows.append(("slow network, %s get_job p50" % name, "%.1f ms = %.2f RTT; ours %.2fx; TCP connections for %d "
                     "calls: %d" % (took, took / rtt, slow[0] / took, 2 + calls, used),
                     "ours <= it", ok(slow[0] <= took)))
    return rows


def print_rows(rows):
    width = max(len(r[0]) for r in rows)
    print("")
    print("%-*s  %-62s %-14s %s" % (width, "what", "measured", "target", "met"))
    for row in rows:
        print("%-*s  %-62s %-14s %s" % (width, row[0], row[1], row[2], row[3]))


def ok(condition):
    return "yes" if condition else "NO"


if __name__ == "__main__":
    sys.exit(main())

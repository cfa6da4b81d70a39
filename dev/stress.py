"""The race hunt (make stress): the test classes where threads meet, run again and again
with every thread switch the interpreter allows.

A free-threaded CPython (3.14t, PYTHON_GIL=0) runs threads truly at once; none can be had
here (docs/pythons.md), so this makes the GIL hand over as often as it can instead:
`sys.setswitchinterval(1e-6)` (its floor: CPython counts the interval in whole
microseconds) in a sitecustomize.py on PYTHONPATH, which the suite passes on to every
server it starts (SERVER_PYTHONPATH) and which its own process, the stand-in API's
threads included, runs too. The server has no code for this.

    python3 dev/stress.py [--repeat N] [--python 3.13 --python 3.15 | PATH] [-j N] [CLASS ...]

Defaults: 20 repetitions on 3.13 and 3.15 (found as make test-all finds them; run
dev/sid_pythons.sh for 3.15), two repetitions at once, the classes in CLASSES. One line
per repetition; a failed one's output goes to test-stress-VERSION-N.log. Ends with the
summed "N passed, N failed" line; exits 1 if any test failed.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(HERE, "dev"))
import test_all  # noqa: E402  (finds interpreters the way make test-all does)

# Concurrency and its limit, kept-alive connections, cancellation (stateless calls too)
# and its twin the deadline (the watchdog thread shuts a call's sockets), confirmation
# (elicitation and its stateless retry).
CLASSES = ["ConcurrencyTest", "ConcurrencyLimitTest", "KeepAliveTest", "StatelessRevisionTest",
           "DeadlineTest", "ConfirmTest", "ConfirmStatelessTest"]
PYTHONS = ["3.13", "3.15"]
SWITCH_INTERVAL = 1e-6
SITECUSTOMIZE = ("# dev/stress.py: hand the GIL over as often as CPython allows.\n"
                 "import sys\nsys.setswitchinterval(%r)\n" % SWITCH_INTERVAL)


def interpreter(name, found):
    """A minor version (3.13) as make test-all finds it, or a path."""
    if os.sep in name:
        return name
    if name not in found:
        raise SystemExit("stress: no CPython %s here (pyenv's versions, python%s on PATH, or "
                         "dev/sid_pythons.sh %s for 3.14 and later)" % (name, name, name))
    return found[name]


def checked_version(python, env):
    """The interpreter's version (3.13.0), once the sitecustomize is seen to take effect."""
    out = subprocess.check_output([python, "-c", "import platform, sys; print(repr(sys.getswitchinterval()), "
                                   "platform.python_version())"], env=env).decode().split()
    if float(out[0]) != SWITCH_INTERVAL:
        raise SystemExit("stress: %s reports a switch interval of %s, not %r: the sitecustomize "
                         "on PYTHONPATH did not run" % (python, out[0], SWITCH_INTERVAL))
    return out[1]


def run_once(python, label, number, classes, env, results, lock):
    started = time.time()
    proc = subprocess.Popen([python, "test_agentjobs_mcp.py"] + classes, cwd=HERE, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = proc.communicate()[0].decode("utf-8", "replace")
    counts = re.findall(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$", output, re.M)
    passed, failed = (int(counts[-1][0]), int(counts[-1][1])) if counts else (0, 1)
    ok = proc.returncode == 0 and counts and failed == 0
    with lock:
        line = "stress: Python %s run %d: %d passed, %d failed (%.0f s)" % (
            label, number, passed, failed, time.time() - started)
        if not ok:
            log = os.path.join(HERE, "test-stress-%s-%d.log" % (label, number))
            with open(log, "w", encoding="utf-8") as handle:
                handle.write(output)
            failures = re.findall(r"^(?:FAIL|ERROR): (\S+ \(\S+\))", output, re.M)
            line += " FAIL %s; output in %s" % (", ".join(failures) or "(no test line)", log)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        results.append((label, passed, failed))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dev/stress.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="repetitions per interpreter (20)")
    parser.add_argument("--python", action="append", help="3.13, 3.15 or a path (repeatable)")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="repetitions at once (2)")
    parser.add_argument("classes", nargs="*", help="test classes (default: %s)" % " ".join(CLASSES))
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.jobs < 1:
        parser.error("--repeat and -j need 1 or more")
    found = test_all.find_interpreters()
    pythons = [(name, interpreter(name, found)) for name in args.python or PYTHONS]
    classes = args.classes or CLASSES
    folder = tempfile.mkdtemp(prefix="agentjobs-stress-")
    try:
        with open(os.path.join(folder, "sitecustomize.py"), "w", encoding="utf-8") as handle:
            handle.write(SITECUSTOMIZE)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([folder] + [p for p in [env.get("PYTHONPATH")] if p])
        results, lock = [], threading.Lock()
        started = time.time()
        for name, python in pythons:
            label = checked_version(python, env)
            sys.stdout.write("stress: Python %s (%s), switch interval %r s, %d runs of %s\n" % (
                label, python, SWITCH_INTERVAL, args.repeat, " ".join(classes)))
            sys.stdout.flush()
            python_started = time.time()
            pending = list(range(1, args.repeat + 1))
            while pending:
                batch, pending = pending[:args.jobs], pending[args.jobs:]
                threads = [threading.Thread(target=run_once, args=(
                    python, label, number, classes, env, results, lock)) for number in batch]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            mine = [r for r in results if r[0] == label]
            sys.stdout.write("stress: Python %s: %d runs, %d failed, %.0f s\n" % (
                label, len(mine), sum(1 for r in mine if r[2]), time.time() - python_started))
        passed = sum(r[1] for r in results)
        failed = sum(r[2] for r in results)
        sys.stdout.write("stress: %d runs in %.0f s\n%d passed, %d failed\n" % (
            len(results), time.time() - started, passed, failed))
        return 1 if failed else 0
    finally:
        shutil.rmtree(folder, True)


if __name__ == "__main__":
    sys.exit(main())

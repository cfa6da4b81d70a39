"""Run the test suite under every CPython 3.6-3.13 on this machine (make test-all).

Interpreters come from pyenv's versions folder (the newest patch of each minor), from
python3.X on PATH, and from dev/pythons/3.X (dev/sid_pythons.sh puts Debian sid's 3.14
and 3.15 there; SID_PYTHONS names another folder). One line per version; the run fails
if any suite fails or if any of 3.6 ... 3.13 is missing. Newer ones (3.14 on) run too
when they are found, but are not required; a free-threaded one (dev/pythons/3.14t) runs
with PYTHON_GIL=0. Ends with the summed "N passed, N failed" line.
"""
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WANTED = ["3.%d" % minor for minor in range(6, 14)]
OPTIONAL = ["3.%d" % minor for minor in range(14, 17)]
FREE_THREADED = [minor + "t" for minor in OPTIONAL]
SID_PYTHONS = os.environ.get("SID_PYTHONS") or os.path.join(HERE, "dev", "pythons")


def pyenv_root():
    if os.environ.get("PYENV_ROOT"):
        return os.environ["PYENV_ROOT"]
    try:
        return subprocess.check_output(["pyenv", "root"], stderr=subprocess.DEVNULL).decode().strip()
    except (OSError, subprocess.CalledProcessError):
        return os.path.expanduser("~/.pyenv")


def find_interpreters():
    found = {}
    versions = os.path.join(pyenv_root(), "versions")
    if os.path.isdir(versions):
        for name in os.listdir(versions):
            match = re.match(r"^(3\.\d+)\.(\d+)$", name)
            exe = os.path.join(versions, name, "python.exe" if os.name == "nt" else os.path.join("bin", "python"))
            if match and match.group(1) in WANTED + OPTIONAL and os.access(exe, os.X_OK):
                patch = int(match.group(2))
                if match.group(1) not in found or found[match.group(1)][0] < patch:
                    found[match.group(1)] = (patch, exe)
    for minor in WANTED + OPTIONAL:
        if minor not in found:
            exe = shutil.which("python" + minor)
            if exe:
                found[minor] = (0, exe)
    for minor in OPTIONAL + FREE_THREADED:
        exe = os.path.join(SID_PYTHONS, minor, "python")
        if minor not in found and os.access(exe, os.X_OK):
            found[minor] = (0, exe)
    return dict((minor, exe) for minor, (_, exe) in found.items())


def main():
    interpreters = find_interpreters()
    missing = [minor for minor in WANTED if minor not in interpreters]
    total_passed = total_failed = total_skipped = 0
    bad = []
    for minor in WANTED + OPTIONAL + FREE_THREADED:
        if minor not in interpreters:
            continue
        started = time.time()
        env = dict(os.environ)
        if minor.endswith("t"):
            env["PYTHON_GIL"] = "0"  # the GIL off, even if a module asked for it
        proc = subprocess.Popen([interpreters[minor], "test_agentjobs_mcp.py"], cwd=HERE, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output = proc.communicate()[0].decode("utf-8", "replace")
        counts = re.findall(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$", output, re.M)
        passed, failed, skipped = (int(n or 0) for n in counts[-1]) if counts else (0, 1, 0)
        total_passed += passed
        total_failed += failed
        total_skipped += skipped
        ok = proc.returncode == 0 and counts
        if not ok:
            bad.append(minor)
            log = os.path.join(HERE, "test-%s.log" % minor)
            with open(log, "w", encoding="utf-8") as handle:
                handle.write(output)
            sys.stdout.write(output[-6000:] + "\n")
        sys.stdout.write("Python %-5s %-4s %d passed, %d failed, %d skipped (%.0f s) %s\n" % (
            minor, "ok" if ok else "FAIL", passed, failed, skipped, time.time() - started,
            interpreters[minor]))
        sys.stdout.flush()
    if missing:
        sys.stdout.write("missing interpreters: %s (install them with pyenv)\n" % ", ".join(missing))
        total_failed += len(missing)
    sys.stdout.write("%d passed, %d failed, %d skipped\n" % (total_passed, total_failed, total_skipped))
    return 1 if bad or missing else 0


if __name__ == "__main__":
    sys.exit(main())

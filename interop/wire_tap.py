"""A wire tap for stdio MCP servers (interop only): `wire_tap.py LOG -- COMMAND [ARG ...]`.

Runs COMMAND with this process's stdin and stdout passed through line by line, and appends
every line to LOG as it passes: "> " + the line for client-to-server, "< " + the line for
server-to-client (stderr is inherited, untouched). The frameworks under test start it as
their "server", so the interop scripts can check the exact JSON-RPC a client sent (the
`task` field, the capabilities, `tasks/cancel`) whatever transport objects the client hides
it behind. SIGTERM and SIGINT are passed on to COMMAND; the exit status is COMMAND's.
Standard library only.
"""
import signal
import subprocess
import sys
import threading


def main(argv):
    if len(argv) < 4 or argv[2] != "--":
        sys.stderr.write("usage: wire_tap.py LOG -- COMMAND [ARG ...]\n")
        return 2
    log = open(argv[1], "ab", buffering=0)
    lock = threading.Lock()
    child = subprocess.Popen(argv[3:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def record(direction, line):
        with lock:
            log.write(direction + line.rstrip(b"\r\n") + b"\n")

    def forward_signal(number, frame):
        if child.poll() is None:
            child.send_signal(number)
    signal.signal(signal.SIGTERM, forward_signal)
    signal.signal(signal.SIGINT, forward_signal)

    def pump_in():
        source = sys.stdin.buffer
        try:
            for line in iter(source.readline, b""):
                record(b"> ", line)
                child.stdin.write(line)
                child.stdin.flush()
        except (OSError, ValueError):
            pass
        try:
            child.stdin.close()
        except OSError:
            pass
    thread = threading.Thread(target=pump_in, name="wire-tap-in")
    thread.daemon = True
    thread.start()
    out = sys.stdout.buffer
    for line in iter(child.stdout.readline, b""):
        record(b"< ", line)
        try:
            out.write(line)
            out.flush()
        except OSError:  # the client went away; let the server finish on its own
            pass
    code = child.wait()
    log.close()
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""python3 -m standin: serve the stand-in Agent Jobs API on 127.0.0.1 until told to stop.

Prints one line, AICONNECT_API_URL=http://127.0.0.1:PORT/api/v0, then serves until
SIGTERM or SIGINT (Ctrl-C) arrives, or, when stdin is a terminal, until Ctrl-D there (exit
status 0 each way). Stdin that is not a terminal (a script's `&`, nohup, a pipe, a service
manager) is not read: the stand-in keeps serving in the background until it is killed;
so does it in the background of an interactive shell (`&`), where it says so on stderr.
Point the server at it with that URL and AICONNECT_API_KEY set to --key (default
demo-key). --log prints one line per request on stderr; --quiet (the default) prints none.
--moves SECONDS: every job created through the API moves on by itself, SCHEDULED, then
RUNNING after SECONDS, then COMPLETED (or --moves-end FAILED) after SECONDS more.
"""
import argparse
import os
import signal
import sys
import threading

from standin.agentjobs_api import StandInAPI, moves_to


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m standin", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    parser.add_argument("--key", default="demo-key", help="the API key it accepts (default: demo-key)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before each answer")
    parser.add_argument("--moves", type=float, metavar="SECONDS",
                        help="created jobs move on by themselves, a step every SECONDS")
    parser.add_argument("--moves-end", choices=("COMPLETED", "FAILED"), default="COMPLETED",
                        help="where a moving job ends (default: COMPLETED)")
    logging = parser.add_mutually_exclusive_group()
    logging.add_argument("--log", action="store_true", help="one line per request on stderr")
    logging.add_argument("--quiet", action="store_true", help="no per-request lines (the default)")
    opts = parser.parse_args(argv)
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    api = StandInAPI(key=opts.key, latency=opts.latency, port=opts.port,
                     log=(lambda line: sys.stderr.write(line + "\n")) if opts.log else None)
    if opts.moves is not None:
        api.create_moves = moves_to(opts.moves_end, opts.moves)
    try:
        api.start()
    except OSError as error:  # a fixed --port that is taken: say so, no traceback
        sys.stderr.write("python3 -m standin: cannot listen on 127.0.0.1:%d: %s; give another "
                         "--port, or none for any free one\n" % (opts.port, error.strerror or error))
        return 1
    try:
        sys.stdout.write("AICONNECT_API_URL=%s\n" % api.url)
        sys.stdout.flush()
        if stdin_is_terminal():
            if hasattr(signal, "SIGTTIN"):  # see wait_for_ctrl_d
                signal.signal(signal.SIGTTIN, signal.SIG_IGN)
            reader = threading.Thread(target=wait_for_ctrl_d, args=(done,))
            reader.daemon = True
            reader.start()
        while not done.wait(0.2):  # a timed wait, so signals are handled promptly on 3.6 too
            pass
    finally:
        api.stop()
    return 0


def stdin_is_terminal():
    try:
        return os.isatty(sys.stdin.fileno())
    except (AttributeError, OSError, ValueError):  # no stdin at all
        return False


def wait_for_ctrl_d(done):
    """Set `done` when the terminal on stdin reaches end of file (Ctrl-D).

    Started in the background of an interactive shell (`&`), the process still has the
    terminal as stdin, and a read from it would stop the whole process (SIGTTIN): main()
    ignores SIGTTIN, so the read fails instead (EIO), and the stand-in goes on serving
    until a signal. Reads the raw descriptor: a daemon thread blocked inside sys.stdin's
    buffered reader holds its lock, and the interpreter aborts at exit after a signal
    ("could not acquire lock").
    """
    try:
        fd = sys.stdin.fileno()
        while os.read(fd, 65536):
            pass
    except (AttributeError, OSError, ValueError):  # a background job's read (EIO): keep serving
        sys.stderr.write("python3 -m standin: in the background: serving until SIGTERM or SIGINT\n")
        sys.stderr.flush()
        return
    done.set()


if __name__ == "__main__":
    sys.exit(main())

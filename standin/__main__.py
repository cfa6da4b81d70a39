"""python3 -m standin: serve the stand-in Agent Jobs API on 127.0.0.1 until stdin closes.

Prints one line, AICONNECT_API_URL=http://127.0.0.1:PORT/api/v0, then serves until stdin
reaches end of file or SIGTERM/SIGINT arrives (exit status 0 either way). Point the server
at it with that URL and AICONNECT_API_KEY set to --key (default demo-key). --log prints one
line per request on stderr; --quiet (the default) prints none.
"""
import argparse
import os
import signal
import sys
import threading

from standin.agentjobs_api import StandInAPI


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m standin", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    parser.add_argument("--key", default="demo-key", help="the API key it accepts (default: demo-key)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before each answer")
    logging = parser.add_mutually_exclusive_group()
    logging.add_argument("--log", action="store_true", help="one line per request on stderr")
    logging.add_argument("--quiet", action="store_true", help="no per-request lines (the default)")
    opts = parser.parse_args(argv)
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    api = StandInAPI(key=opts.key, latency=opts.latency, port=opts.port,
                     log=(lambda line: sys.stderr.write(line + "\n")) if opts.log else None)
    api.start()
    try:
        sys.stdout.write("AICONNECT_API_URL=%s\n" % api.url)
        sys.stdout.flush()
        reader = threading.Thread(target=wait_for_eof, args=(done,))
        reader.daemon = True
        reader.start()
        while not done.wait(0.2):  # a timed wait, so signals are handled promptly on 3.6 too
            pass
    finally:
        api.stop()
    return 0


def wait_for_eof(done):
    """Set `done` when stdin reaches end of file (the parent closed it or went away).

    Reads the raw descriptor: a daemon thread blocked inside sys.stdin's buffered reader
    holds its lock, and the interpreter aborts at exit after a signal ("could not acquire lock").
    """
    try:
        fd = sys.stdin.fileno()
        while os.read(fd, 65536):
            pass
    except (AttributeError, OSError, ValueError):  # no stdin at all counts as closed
        pass
    finally:
        done.set()


if __name__ == "__main__":
    sys.exit(main())

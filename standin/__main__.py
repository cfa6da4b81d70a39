"""python3 -m standin: serve the stand-in Agent Jobs API on 127.0.0.1 until stdin closes.

Prints one line, AICONNECT_API_URL=http://127.0.0.1:PORT/api/v0, then serves. Point the
server at it with that URL and AICONNECT_API_KEY set to --key (default demo-key).
"""
import argparse
import signal
import sys
import threading

from standin.agentjobs_api import StandInAPI


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m standin", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    parser.add_argument("--key", default="demo-key", help="the API key it accepts (default: demo-key)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before each answer")
    parser.add_argument("--log", action="store_true", help="one line per request on stderr")
    opts = parser.parse_args(argv)
    api = StandInAPI(key=opts.key, latency=opts.latency, port=opts.port,
                     log=(lambda line: sys.stderr.write(line + "\n")) if opts.log else None)
    api.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    sys.stdout.write("AICONNECT_API_URL=%s\n" % api.url)
    sys.stdout.flush()

    def wait_for_eof():
        try:
            sys.stdin.read()
        finally:
            done.set()
    reader = threading.Thread(target=wait_for_eof)
    reader.daemon = True
    reader.start()
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    api.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

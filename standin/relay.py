"""A loopback TCP relay for tests and benchmarks: a slow network, or an HTTPS proxy.

    relay = Relay(("127.0.0.1", port), delay=0.02); relay.start(); relay.origin; relay.stop()
forwards every connection to the target, holding each chunk `delay` seconds in each
direction (a round trip of 2 * delay; chunks keep their order and overlap in flight, as
on a wire; the TCP handshake with the relay itself is not delayed). With target=None it
is an HTTP proxy that answers CONNECT host:port (only CONNECT) and then relays the same
way: what HTTPS_PROXY points at. relay.connections counts the connections accepted,
relay.tunnels lists each CONNECT target.
"""

import collections
import socket
import threading
import time


class Relay(object):

    def __init__(self, target=None, delay=0.0):
        self.target, self.delay = target, delay
        self.connections = 0
        self.tunnels = []
        self.lock = threading.Lock()
        self.sockets = set()
        self.listener = None
        self.stopping = threading.Event()

    @property
    def origin(self):
        return "http://127.0.0.1:%d" % self.listener.getsockname()[1]

    @property
    def address(self):
        return self.listener.getsockname()

    def start(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self._thread(self._accept)
        return self

    def stop(self):
        self.stopping.set()
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            sockets = list(self.sockets)
        for sock in sockets:
            self._shut(sock)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @staticmethod
    def _thread(target, *args):
        thread = threading.Thread(target=target, args=args)
        thread.daemon = True
        thread.start()
        return thread

    @staticmethod
    def _shut(sock):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a wire, not a buffer
            with self.lock:
                self.connections += 1
                self.sockets.add(client)
            self._thread(self._serve, client)

    def _serve(self, client):
        try:
            target = self.target or self._connect_request(client)
            if target is None:
                return self._shut(client)
            upstream = socket.create_connection(target, timeout=10)
            upstream.settimeout(None)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            return self._shut(client)
        with self.lock:
            self.sockets.add(upstream)
        if self.target is None:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        for source, sink in ((client, upstream), (upstream, client)):
            self._pipe(source, sink)

    def _connect_request(self, client):
        """Read a CONNECT request; (host, port), or None (after a 405) for anything else."""
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                return None
            head += chunk
        words = head.split(b"\r\n", 1)[0].split()
        if len(words) < 2 or words[0] != b"CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n"
                           b"Connection: close\r\n\r\n")
            return None
        host, _, port = words[1].decode("ascii").rpartition(":")
        with self.lock:
            self.tunnels.append("%s:%s" % (host, port))
        return host, int(port)

    def _pipe(self, source, sink):
        """source -> sink, each chunk `delay` s after it came (a reader and a writer thread)."""
        queue = collections.deque()
        ready = threading.Condition()

        def read():
            while True:
                try:
                    chunk = source.recv(65536)
                except OSError:
                    chunk = b""
                with ready:
                    queue.append((time.monotonic() + self.delay, chunk))
                    ready.notify()
                if not chunk:
                    return

        def write():
            while True:
                with ready:
                    while not queue:
                        ready.wait()
                    due, chunk = queue.popleft()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if not chunk:  # the source closed: pass the end on
                    try:
                        sink.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                try:
                    sink.sendall(chunk)
                except OSError:
                    self._shut(source)
                    return
        self._thread(read)
        self._thread(write)

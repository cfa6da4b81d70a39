#!/usr/bin/env python3
"""agentjobs-mcp: an MCP server for the AI Connect Agent Jobs API, in one file.

It lets an AI agent cancel, list, inspect, create and count Agent Jobs, read a job's
activity trail and look up job types, through eight MCP tools. An MCP client starts it
and speaks newline-delimited JSON-RPC 2.0 with it over stdin/stdout: the initialize-era
revisions 2024-11-05 to 2025-11-25, and the stateless 2026-07-28 (server/discover).

Run it:
    python3 agentjobs_mcp.py                    serve MCP on stdin/stdout (what a client runs)
    python3 agentjobs_mcp.py --check            test the settings, the network and the key
    python3 agentjobs_mcp.py --config           show the effective settings (never the key)
    python3 agentjobs_mcp.py --client-config claude-desktop   print a config to paste
    python3 agentjobs_mcp.py --help | --version

Environment (an --env-file PATH can supply them too; the real environment wins):
    AICONNECT_API_KEY       the API key, sent as "Authorization: Bearer ..." (required for tools)
    AICONNECT_API_URL       API base URL, http or https (https://api.aiconnect.cloud/api/v0)
    DEFAULT_ORG_ID          organization used where a path needs one (aiconnect)
    DEFAULT_TIMEZONE        preferred time zone, shown by get_context (UTC)
    AGENTJOBS_TIMEOUT       seconds one tool call may spend on the API, retries included (30)
    AGENTJOBS_RETRIES       retries of safe requests on connection errors, 429/502/503/504 (2)
    AGENTJOBS_MAX_CONCURRENCY   tool calls served at once (64)
    AGENTJOBS_MAX_QUEUE     tool calls that may wait for a free worker; more are "busy" (256)
    AGENTJOBS_MAX_RESPONSE_BYTES    largest API answer read (8388608)
    AGENTJOBS_MAX_LINE_BYTES    largest JSON-RPC message read from stdin (16777216)
    AGENTJOBS_CA_BUNDLE     PEM file of CAs to trust (SSL_CERT_FILE works too)
    HTTPS_PROXY, HTTP_PROXY, NO_PROXY   honoured as urllib honours them
    MCP_DEBUG               "true" for debug traces on stderr (same as --debug)

What it is not: not a framework and not a library. It needs nothing but the Python
standard library (CPython 3.6 to 3.13), writes nothing to disk, and talks to no host but
the configured API. Copy this one file and point an MCP client at it.
"""

__version__ = "1.0.0"

import collections
import json
import os
import sys
import threading
import time

###############################################################################
# Constants ###################################################################
###############################################################################

SERVER_NAME = "agentjobs-mcp"
SERVER_TITLE = "AI Connect Agent Jobs"

# Initialize-era revisions, newest first; the first is the answer to an unknown request.
PROTOCOL_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
# Stateless revisions: no initialize; each request names its revision in _meta.
STATELESS_VERSIONS = ("2026-07-28",)
SUPPORTED_VERSIONS = STATELESS_VERSIONS + PROTOCOL_VERSIONS
# The revisions that have JSON-RPC batches (2025-06-18 removed them), and the most
# messages one batch may hold: 1 MiB of "[1,1,...]" came back as 70 MiB of errors.
BATCH_VERSIONS = ("2025-03-26", "2024-11-05")
MAX_BATCH = 100
# Revisions from which tools carry `title`, `outputSchema` and results `structuredContent`.
STRUCTURED_SINCE = "2025-06-18"
# The _meta keys of the stateless revisions.
META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT = "io.modelcontextprotocol/clientInfo"
META_SERVER = "io.modelcontextprotocol/serverInfo"
LIST_TTL_MS = 3600000  # tools/list and server/discover may be cached an hour: they never change

# JSON-RPC 2.0 error codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
UNSUPPORTED_VERSION = -32022  # 2026-07-28: the _meta revision is not served here

DEFAULT_API_URL = "https://api.aiconnect.cloud/api/v0"
DEFAULT_ORG = "aiconnect"
DEFAULT_TZ = "UTC"
HTTP_TIMEOUT_S = 30.0
DEFAULT_RETRIES = 2
DEFAULT_CONCURRENCY = 64
DEFAULT_QUEUE = 256  # calls waiting for a worker; 3,000 at once were all "timed out" before
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
MAX_LINE_BYTES = 16 * 1024 * 1024
# Longest number read from a client or the API: CPython 3.11's own int/str limit (4300
# digits), so an integer id read can be echoed on every version.
MAX_NUMBER_DIGITS = 4300
MAX_COUNT = 2 ** 53  # the largest count shown with a share: floats hold it exactly
RETRY_STATUSES = (429, 502, 503, 504)
TERMINAL_STATUSES = ("COMPLETED", "FAILED", "CANCELED")
JOB_STATUSES = ("waiting", "scheduled", "running", "completed", "failed", "canceled")

# Annotation presets: all four hints spelled out, because the spec's defaults for a
# missing hint are the dangerous ones (destructive, open world).
READ_ONLY = {"readOnlyHint": True, "destructiveHint": False,
             "idempotentHint": True, "openWorldHint": False}
DESTRUCTIVE_IDEMPOTENT = {"readOnlyHint": False, "destructiveHint": True,
                          "idempotentHint": True, "openWorldHint": False}
CREATES = {"readOnlyHint": False, "destructiveHint": False,
           "idempotentHint": False, "openWorldHint": False}

INSTRUCTIONS = (
    "Tools for the AI Connect Agent Jobs platform. Start with get_context: it names the "
    "organization in use and the job types that exist. Job ids come from list_jobs "
    "(filter by status, type, channel or dates; page with offset); get_job shows one job "
    "in full and get_job_activities its activity trail; get_jobs_stats counts jobs by "
    "status. create_job needs a job_type_id (see get_job_type for its params) and a "
    "target channel. cancel_job cannot be undone: confirm the job id with the user "
    "before cancelling. A result marked as an error says what went wrong and what to try.")

###############################################################################
# Compatibility (what CPython 3.6 lacks, tested by feature) ###################
###############################################################################

if hasattr(str, "isascii"):
    def is_ascii(text):
        return text.isascii()
else:  # 3.6
    def is_ascii(text):
        return all(ord(ch) < 128 for ch in text)


def binary_stdio():
    """Return (stdin, stdout) as raw binary streams, with fd 1 pointed at stderr.

    The protocol owns the real stdout; anything else that writes to fd 1 or to
    sys.stdout (a stray print, a C library) lands on stderr instead of the wire.
    """
    stdin = sys.stdin.buffer if sys.stdin is not None else open(os.devnull, "rb")
    out_fd = os.dup(1)
    os.dup2(2, 1)
    if os.name == "nt":  # Windows would turn "\n" into "\r\n" on text-mode pipes
        import msvcrt
        msvcrt.setmode(stdin.fileno(), os.O_BINARY)
        msvcrt.setmode(out_fd, os.O_BINARY)
    sys.stdout = sys.stderr
    return stdin, os.fdopen(out_fd, "wb")  # buffered: a write is never left half done


class LazyLog(object):
    """The "agentjobs_mcp" logger, imported at its first use: `logging` is several
    milliseconds of start-up that a quiet server never needs."""

    debug_enabled = False

    def debug(self, msg, *args):
        if self.debug_enabled:
            self.logger().debug(msg, *args)

    def warning(self, msg, *args):
        self.logger().warning(msg, *args)

    def error(self, msg, *args):
        self.logger().error(msg, *args)

    def exception(self, msg, *args):
        self.logger().exception(msg, *args)

    @staticmethod
    def logger():
        import logging
        logger = logging.getLogger("agentjobs_mcp")
        if not logger.handlers and not logging.getLogger().handlers:
            setup_logging(None, debug=False)
        return logger


log = LazyLog()

###############################################################################
# Configuration ###############################################################
###############################################################################

# name, default, kind ("url", "str", "secret", "float", "int", "bool", "path")
SETTINGS = (
    ("AICONNECT_API_URL", DEFAULT_API_URL, "url"),
    ("AICONNECT_API_KEY", None, "secret"),
    ("DEFAULT_ORG_ID", DEFAULT_ORG, "str"),
    ("DEFAULT_TIMEZONE", DEFAULT_TZ, "str"),
    ("AGENTJOBS_TIMEOUT", HTTP_TIMEOUT_S, "float"),
    ("AGENTJOBS_RETRIES", DEFAULT_RETRIES, "int"),
    ("AGENTJOBS_MAX_CONCURRENCY", DEFAULT_CONCURRENCY, "int"),
    ("AGENTJOBS_MAX_QUEUE", DEFAULT_QUEUE, "int"),
    ("AGENTJOBS_MAX_RESPONSE_BYTES", MAX_RESPONSE_BYTES, "int"),
    ("AGENTJOBS_MAX_LINE_BYTES", MAX_LINE_BYTES, "int"),
    ("AGENTJOBS_CA_BUNDLE", None, "path"),
    ("MCP_DEBUG", False, "bool"),
)
# The bounds a number setting must respect: (least, most).
SETTING_RANGES = {
    "AGENTJOBS_TIMEOUT": (0.1, 3600), "AGENTJOBS_RETRIES": (0, 10),
    "AGENTJOBS_MAX_CONCURRENCY": (1, 1024), "AGENTJOBS_MAX_QUEUE": (0, 100000),
    "AGENTJOBS_MAX_RESPONSE_BYTES": (1024, 1024 ** 3),
    "AGENTJOBS_MAX_LINE_BYTES": (1024, 1024 ** 3),
}
TRUE_WORDS = ("1", "true", "yes", "on")
_secrets = []  # values never written to stdout or a log: the API key
# Blanking every "k" of a one-letter test key would garble the output; real keys are long.
MIN_REDACTED_LENGTH = 8
FALSE_WORDS = ("", "0", "false", "no", "off")


class Config(object):
    """The settings, read once from the environment (and an env file), then checked.

    A bad setting does not stop the server: it is kept in `problems`, logged, and
    every tool call reports it, so the person sees it in the chat, not as a crash.
    """

    def __init__(self, env, file_env=None, debug=False):
        file_env = file_env or {}
        self.values, self.sources, self.problems = {}, {}, []
        for name, default, kind in SETTINGS:
            if name in env:
                raw, source = env[name], "env"
            elif name in file_env:
                raw, source = file_env[name], "env file"
            else:
                self.values[name], self.sources[name] = default, "default"
                continue
            self.sources[name] = source
            self.values[name] = self._parse(name, raw, default, kind)
        if debug:
            self.values["MCP_DEBUG"], self.sources["MCP_DEBUG"] = True, "--debug"
        self.api_url = self.values["AICONNECT_API_URL"].rstrip("/")
        self.api_key = self.values["AICONNECT_API_KEY"] or None
        self.org_id = self.values["DEFAULT_ORG_ID"]
        self.timezone = self.values["DEFAULT_TIMEZONE"]
        self.timeout = self.values["AGENTJOBS_TIMEOUT"]
        self.retries = self.values["AGENTJOBS_RETRIES"]
        self.max_concurrency = self.values["AGENTJOBS_MAX_CONCURRENCY"]
        self.max_queue = self.values["AGENTJOBS_MAX_QUEUE"]
        self.max_response_bytes = self.values["AGENTJOBS_MAX_RESPONSE_BYTES"]
        self.max_line_bytes = self.values["AGENTJOBS_MAX_LINE_BYTES"]
        self.ca_bundle = self.values["AGENTJOBS_CA_BUNDLE"]
        self.debug = self.values["MCP_DEBUG"]

    def _parse(self, name, raw, default, kind):
        raw = raw.strip()
        if kind == "url":
            from urllib.parse import urlsplit
            parts = urlsplit(raw)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                self.problems.append(
                    "%s=%r is not an http(s) URL; set it to the API base URL, e.g. %s"
                    % (name, raw[:100], DEFAULT_API_URL))
                return default
            return raw
        if kind in ("float", "int"):
            try:
                value = float(raw) if kind == "float" else int(raw)
            except ValueError:
                value = None
            low, high = SETTING_RANGES[name]
            if value is None or not low <= value <= high:
                self.problems.append("%s=%r must be a %s from %s to %s; using %s"
                                     % (name, raw[:50], "number" if kind == "float" else
                                        "whole number", low, high, default))
                return default
            return value
        if kind == "bool":
            if raw.lower() in TRUE_WORDS:
                return True
            if raw.lower() not in FALSE_WORDS:
                self.problems.append("%s=%r is not true/false; using false" % (name, raw[:20]))
            return False
        if kind == "path" and raw and not os.path.isfile(raw):
            self.problems.append("%s=%r: no such file" % (name, raw[:200]))
            return None
        if kind == "str" and not raw:
            return default
        return raw or None

    def describe(self):
        """The effective settings as lines, the key only as set / not set."""
        lines = []
        for name, _, kind in SETTINGS:
            value = self.values[name]
            if kind == "secret":
                shown = "set" if value else "not set"
            elif value is None:
                shown = "(none)"
            else:
                shown = str(value)
            lines.append("%s: %s  (%s)" % (name, shown, self.sources[name]))
        for problem in self.problems:
            lines.append("problem: " + problem)
        return lines


###############################################################################
# Errors ######################################################################
###############################################################################

class AgentJobsError(Exception):
    """A base class for the errors this server raises on purpose."""


class ToolError(AgentJobsError):
    """A failed tool call: becomes a result with isError, the message for the model."""

    def __init__(self, message, hint=None):
        AgentJobsError.__init__(self, message)
        self.message, self.hint = message, hint

    def text(self):
        return self.message + ("\n" + self.hint if self.hint else "")


class ArgumentError(ToolError):
    """An argument that is missing, unknown or not what the schema says."""


class ApiError(ToolError):
    """The API answered with an error, or could not be reached (status 0)."""

    def __init__(self, status, message, hint=None):
        ToolError.__init__(self, message, hint)
        self.status = status


class CancelledError(AgentJobsError):
    """The client cancelled the call; its answer is dropped."""


class RpcError(AgentJobsError):
    """A JSON-RPC protocol error (never used for tool failures)."""

    def __init__(self, code, message, data=None):
        AgentJobsError.__init__(self, message)
        self.code, self.message, self.data = code, message, data

    def to_json(self):
        error = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


###############################################################################
# HTTP ########################################################################
###############################################################################

_local = threading.local()  # .call: the CallContext of the tool call on this thread
_opener_lock = threading.Lock()
_openers = {}


class CallContext(object):
    """One tool call in flight: its deadline, and the sockets to close if cancelled."""

    def __init__(self, timeout):
        self.queued_at = time.monotonic()
        self.deadline = self.queued_at + timeout
        self.timeout = timeout
        self.waited = 0.0          # seconds spent waiting for a worker
        self.busy = False          # refused: too many calls waiting already
        self.cancelled = False
        self.retried = False
        self._sockets = []
        self._lock = threading.Lock()

    def start(self):
        """A worker took the call: its time on the API starts now, not when it was read,
        so a wait for a worker is never blamed on the API."""
        now = time.monotonic()
        self.waited = now - self.queued_at
        self.deadline = now + self.timeout

    def remaining(self):
        return self.deadline - time.monotonic()

    def attach(self, sock):
        with self._lock:
            self._sockets.append(sock)
            cancelled = self.cancelled
        if cancelled:
            self._close(sock)

    def cancel(self):
        """Abandon the call: shut its sockets down so a blocked read returns now."""
        with self._lock:
            self.cancelled = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            self._close(sock)

    @staticmethod
    def _close(sock):
        import socket
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except (OSError, ValueError):
            pass


def origin_of(url):
    """(scheme, host, port) of a URL: what the key may be sent to."""
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def build_opener(config):
    """A urllib opener for this API: proxies from the environment, the CA bundle,
    sockets registered with the current call (for cancellation), and redirects
    followed only within the API's own origin."""
    import http.client
    import ssl
    import urllib.request

    api_origin = origin_of(config.api_url)

    def register(conn):
        call = getattr(_local, "call", None)
        if call is not None and conn.sock is not None:
            call.attach(conn.sock)

    class TrackedHTTPConnection(http.client.HTTPConnection):
        def connect(self):
            http.client.HTTPConnection.connect(self)
            register(self)

    class TrackedHTTPSConnection(http.client.HTTPSConnection):
        def connect(self):
            http.client.HTTPSConnection.connect(self)
            register(self)

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(TrackedHTTPConnection, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        context = None  # built at the first https request: loading the CAs costs memory

        def https_open(self, req):
            if self.context is None:
                self.context = ssl.create_default_context(cafile=config.ca_bundle)
            return self.do_open(TrackedHTTPSConnection, req, context=self.context)

    class SameOriginRedirectHandler(urllib.request.HTTPRedirectHandler):
        # urllib re-sends every header, Authorization included, to wherever a
        # redirect points: a redirect that leaves the API's origin would hand the
        # key to another host. Only same-origin redirects are followed.
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            if origin_of(newurl) != api_origin:
                raise ApiError(
                    code, "The API answered %s with a redirect to another host (%s); "
                    "it was not followed, so the API key was not sent there."
                    % (code, "%s://%s:%s" % origin_of(newurl)),
                    "Check AICONNECT_API_URL: it should be the API's final address "
                    "(e.g. %s)." % DEFAULT_API_URL)
            method = req.get_method()
            if code in (307, 308):
                body = req.data
            elif method in ("GET", "HEAD"):
                body = None
            else:
                raise ApiError(code, "The API answered %s with a %s redirect to %s, "
                               "which would change the request; it was not followed."
                               % (method, code, newurl[:200]),
                               "Check AICONNECT_API_URL (a missing /api/v0 or http "
                               "instead of https often causes this).")
            return urllib.request.Request(newurl, data=body, method=method,
                                          headers=dict(req.header_items()))

    handlers = [urllib.request.ProxyHandler(), HTTPHandler(), HTTPSHandler(),
                SameOriginRedirectHandler()]
    return urllib.request.build_opener(*handlers)


def get_opener(config):
    opener = _openers.get(id(config))
    if opener is None:
        with _opener_lock:
            opener = _openers.get(id(config))
            if opener is None:
                opener = _openers[id(config)] = build_opener(config)
    return opener


DOT_SEGMENTS = (".", "..")


def build_url(config, segments, query=None):
    """The API URL for path segments and query parameters.

    Each segment is percent-encoded whole, with nothing kept safe: an id such as
    "../../organizations/x" or "a/b?c" stays one segment and cannot reach another
    endpoint. A segment that comes from an argument or a setting is given as a
    (name, value) pair, so a refusal can name it. This is the only place a path is built.
    """
    from urllib.parse import quote, urlencode
    values = []
    for segment in segments:
        name, value = segment if isinstance(segment, tuple) else (None, segment)
        # Percent-encoding leaves dots alone, and proxies, CDNs and servers remove dot
        # segments (RFC 3986 5.2.4): DELETE .../agent-jobs/.. would reach .../services.
        if str(value) in DOT_SEGMENTS:
            raise ArgumentError(
                "%s is %s, which cannot be sent: a path segment of only dots is "
                "rewritten by proxies and servers into another endpoint." % (
                    "A path segment" if name is None else ("Setting '%s'" if name.isupper()
                                                           else "Argument '%s'") % name,
                    json.dumps(str(value))),
                "Use the id exactly as list_jobs or get_context shows it; no id is '.' or '..'.")
        values.append(value)
    path = "/".join(quote(str(value), safe="") for value in values)
    url = config.api_url + "/" + path
    pairs = [(k, v) for k, v in query or () if v is not None]
    return url + "?" + urlencode(pairs) if pairs else url


def user_agent():
    return "%s/%s Python/%d.%d" % (SERVER_NAME, __version__, sys.version_info[0],
                                   sys.version_info[1])


# Characters a person does not see but a model reads: format characters (U+200B zero
# width space, U+202E right-to-left override, the U+E0000 tag block that hides prompt
# injections), private-use and unassigned code points, and lone surrogates.
HIDDEN_CATEGORIES = ("Cf", "Co", "Cn", "Cs")


def escape_text(text, limit=None, controls=True):
    """Text from the API made safe to show: optionally cut to `limit` characters, hidden
    characters (HIDDEN_CATEGORIES) escaped as \\u202e, and, unless controls=False (for
    structured data, where line breaks are data), control characters and line breaks
    escaped so it stays on one line. The one place that decides what is escaped."""
    text = str(text)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "... [%d more characters]" % (len(text) - limit)
    if text.isprintable():  # C speed; false for every character escaped below
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch.isprintable():
            out.append(ch)
        elif code < 32 or 0x7f <= code < 0xa0 or ch in "\u2028\u2029":
            if not controls:
                out.append(ch)
            elif ch in "\n\t\r":
                out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
            else:
                out.append("\\x%02x" % code if code < 256 else "\\u%04x" % code)
        elif hidden_category(ch):
            out.append("\\u%04x" % code if code < 0x10000 else "\\U%08x" % code)
        else:  # a visible space such as U+00A0
            out.append(ch)
    return "".join(out)


def hidden_category(ch):
    import unicodedata  # only for text that is not all printable
    return unicodedata.category(ch) in HIDDEN_CATEGORIES


def escape_data(value):
    """Parsed JSON from the API with the hidden characters of its strings and keys
    escaped (escape_text, line breaks kept), for structuredContent; changed in place."""
    if isinstance(value, str):
        return escape_text(value, controls=False)
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if not all(key.isprintable() for key in node):
                pairs = [(escape_text(k, controls=False), v) for k, v in node.items()]
                node.clear()
                node.update(pairs)
            for key, item in node.items():
                if isinstance(item, str):
                    if not item.isprintable():
                        node[key] = escape_text(item, controls=False)
                elif isinstance(item, (dict, list)):
                    stack.append(item)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    if not item.isprintable():
                        node[index] = escape_text(item, controls=False)
                elif isinstance(item, (dict, list)):
                    stack.append(item)
    return value


def error_message_from_body(body, content_type):
    """The API's own message from an error body: JSON `message`/`error`, else the
    first 200 characters of whatever came (HTML from a proxy, plain text)."""
    text = body.decode("utf-8", "replace")
    try:
        data = json_loads(text)
    except (ValueError, RecursionError):  # the same guard as parse_api_json
        data = None
    if isinstance(data, dict):
        for key in ("message", "error", "detail"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("message")
            if isinstance(value, str) and value.strip():
                return escape_text(value.strip(), 300)
    text = " ".join(text.split())
    if not text:
        return "(empty body)"
    kind = "HTML" if "html" in (content_type or "").lower() or text.startswith("<") else "text"
    return "%s body: %s" % (kind, escape_text(text, 200))


def status_hint(config, status, method):
    """What to do about an HTTP error status."""
    if status == 400:
        return "The API rejected the request as invalid; check the arguments against the tool's schema."
    if status == 401:
        return ("Check AICONNECT_API_KEY: the API did not accept it (wrong, expired or "
                "revoked key for %s)." % config.api_url)
    if status == 403:
        return ("The key is not allowed to do this: the job may belong to another "
                "organization (check org_id), or the key lacks %s access to SERVICES."
                % ("READ" if method == "GET" else "WRITE"))
    if status == 404:
        return "Check the id (list_jobs lists jobs; get_context lists job types) and org_id."
    if status == 409:
        return "The job is already finished (COMPLETED, FAILED or CANCELED); nothing to do."
    if status == 429:
        return "The API is rate-limiting requests; wait a minute before trying again."
    if status >= 500:
        return "This is a fault on the API's side (or a proxy in between); try again in a minute."
    return None


def api_request(config, method, segments, query=None, body=None):
    """Call the API; return the parsed JSON object or raise ApiError / ToolError.

    `segments` are the path after the base URL, each one percent-encoded whole.
    `query` is a list of (name, value) pairs; None values are left out. GET and
    DELETE are retried (connection errors, 429/502/503/504) within the call's
    deadline; POST only when it surely never left this machine.
    """
    if config.problems:
        raise ToolError("The server is misconfigured: " + "; ".join(config.problems),
                        "Fix the setting in the MCP client's configuration and restart the server.")
    if not config.api_key:
        raise ToolError("AICONNECT_API_KEY is not set, so the API cannot be called.",
                        "Set AICONNECT_API_KEY in the \"env\" of this server's entry in the "
                        "MCP client's configuration (or in an --env-file), then restart the server.")
    import urllib.request
    call = getattr(_local, "call", None) or CallContext(config.timeout)
    url = build_url(config, segments, query)
    data = None
    headers = {"Authorization": "Bearer " + config.api_key, "X-Client-Type": "mcp",
               "Accept": "application/json", "User-Agent": user_agent()}
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    retryable = method in ("GET", "DELETE")
    attempt = 0
    while True:
        if call.cancelled:
            raise CancelledError()
        remaining = call.remaining()
        if remaining <= 0:
            raise timeout_error(config, call)
        started = time.monotonic()
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            status, payload = _exchange(config, request, call, remaining)
        except ApiError as error:
            if call.retried and method == "DELETE" and error.status in (404, 409):
                error.message += (" An earlier attempt of this request failed midway and "
                                  "was retried: that attempt may already have cancelled the job.")
            raise
        except AttemptError as failure:
            log.debug("%s %s -> %s in %.1f ms (attempt %d)", method, redact_url(url),
                      failure.describe(), (time.monotonic() - started) * 1000, attempt + 1)
            if call.cancelled:
                raise CancelledError()
            may_retry = retryable or (failure.unsent and method == "POST")
            delay = backoff_delay(attempt, failure.retry_after)
            if (failure.final or not may_retry or attempt >= config.retries
                    or delay >= call.remaining()):
                raise failure.to_error(config, method, call)
            attempt += 1
            call.retried = True
            time.sleep(delay)
            continue
        log.debug("%s %s -> %d in %.1f ms, %d bytes", method, redact_url(url), status,
                  (time.monotonic() - started) * 1000, len(payload))
        return payload


class AttemptError(Exception):
    """One HTTP attempt that failed; `final` when a retry cannot help. It carries the
    ApiError to raise if no retry is made."""

    def __init__(self, error, unsent=False, retry_after=None, what="error", final=False):
        Exception.__init__(self, what)
        self.error, self.unsent, self.retry_after, self.what = error, unsent, retry_after, what
        self.final = final  # a retry cannot help (a timeout used the budget, TLS, ...)

    def describe(self):
        return self.what

    def to_error(self, config, method, call):
        error = self.error
        if method == "POST" and not self.unsent and getattr(error, "status", 0) in (0, 500, 502, 503, 504):
            error.hint = ("The request may have reached the API, so the job may have been "
                          "created: check with list_jobs before creating it again.")
        return error


def backoff_delay(attempt, retry_after):
    """Seconds to wait before retry number attempt+1: Retry-After when the API gave
    one, else exponential backoff with jitter (0.25 s, 0.5 s, 1 s ... plus up to 50%)."""
    import random
    if retry_after is not None:
        return retry_after
    base = 0.25 * (2 ** attempt)
    return base + random.uniform(0, base / 2)


def parse_retry_after(value):
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit() and is_ascii(value):  # "\u00b2".isdigit(), but float() refuses it
        return float(value) if len(value) <= 9 else 1e9  # 1e9 s: past any deadline
    from email.utils import parsedate_to_datetime
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def redact_url(url):
    """A URL fit for the debug log: at most 300 characters, control characters escaped."""
    return escape_text(url, 300)


def timeout_error(config, call):
    waited = ""
    if call.waited >= 0.1:
        waited = (" Before that, the call waited %.1f s for a free worker (all "
                  "AGENTJOBS_MAX_CONCURRENCY=%d were busy); that wait is not counted."
                  % (call.waited, config.max_concurrency))
    return ApiError(0, "The API did not answer within %g seconds.%s" % (call.timeout, waited),
                    "It may be slow or unreachable; try again, or raise AGENTJOBS_TIMEOUT "
                    "(now %g)." % config.timeout)


def _exchange(config, request, call, remaining):
    """One HTTP attempt: (status, parsed JSON), or raises ApiError or AttemptError."""
    import socket
    import ssl
    import urllib.error
    import http.client
    cap = config.max_response_bytes
    try:
        response = get_opener(config).open(request, timeout=remaining)
    except urllib.error.HTTPError as error:
        status = error.code
        try:
            raw = read_capped(error, cap, call)
        except (OSError, http.client.HTTPException, ApiError):
            raw = b""
        finally:
            error.close()
        retry_after = parse_retry_after(error.headers.get("Retry-After")) if error.headers else None
        message = error_message_from_body(raw, error.headers.get("Content-Type") if error.headers else "")
        api_error = ApiError(status, "The API answered %d %s: %s" % (
            status, http_reason(status), message), status_hint(config, status, request.get_method()))
        api_error.body = raw
        api_error.retry_after = retry_after
        failure = AttemptError(api_error, retry_after=retry_after, what="HTTP %d" % status)
        if status in RETRY_STATUSES:
            if retry_after is not None and retry_after >= call.remaining():
                api_error.hint = ("The API asked to retry after %.0f seconds, which is "
                                  "beyond this call's deadline; try again then." % retry_after)
                failure.final = True
            raise failure
        raise api_error
    except ApiError:
        raise
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as error:
        raise classify_network_error(config, error, call)
    try:
        raw = read_capped(response, cap, call)
        status = response.status
    except ApiError:
        raise
    except (OSError, http.client.HTTPException) as error:
        raise classify_network_error(config, error, call)
    finally:
        response.close()
    return status, parse_api_json(raw, status, response.headers.get("Content-Type"))


def read_capped(response, cap, call):
    """Read a response body, refusing to hold more than `cap` bytes."""
    length = response.headers.get("Content-Length") if response.headers else None
    if length and length.isdigit() and int(length) > cap:
        raise ApiError(0, "The API's answer is %s bytes, over the %d-byte limit; it was not read."
                       % (length, cap), "Ask for less (a smaller limit), or raise "
                       "AGENTJOBS_MAX_RESPONSE_BYTES.")
    chunks, total = [], 0
    while True:
        if call.cancelled:
            raise CancelledError()
        chunk = response.read(min(65536, cap + 1 - total))
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > cap:
            raise ApiError(0, "The API's answer is over the %d-byte limit; it was not read "
                           "whole." % cap, "Ask for less (a smaller limit), or raise "
                           "AGENTJOBS_MAX_RESPONSE_BYTES.")
        chunks.append(chunk)


def parse_api_json(raw, status, content_type):
    try:
        payload = json_loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise ApiError(status, "The API answered %d but the body is not JSON (%s)."
                       % (status, error_message_from_body(raw, content_type)),
                       "A proxy or gateway may be answering instead of the API: check "
                       "AICONNECT_API_URL and any HTTPS_PROXY setting.")
    if not isinstance(payload, dict):
        raise ApiError(status, "The API answered %d with JSON that is not an object: %s"
                       % (status, escape_text(json.dumps(payload)[:200])),
                       "This is unexpected; check AICONNECT_API_URL points at the Agent Jobs API.")
    return payload


def http_reason(status):
    from http.client import responses
    return responses.get(status, "")


def classify_network_error(config, error, call):
    """Turn a failure to talk to the API into a AttemptError carrying a clear ApiError."""
    import socket
    import ssl
    reason = getattr(error, "reason", error)
    if call.cancelled:
        return AttemptError(CancelledError(), what="cancelled")
    host = "%s://%s:%s" % origin_of(config.api_url)
    if isinstance(reason, ApiError):
        return AttemptError(reason, what="refused redirect", final=True)
    if isinstance(reason, (socket.timeout,)) or "timed out" in str(reason):
        return AttemptError(timeout_error(config, call), what="timeout", final=True)
    if isinstance(reason, ssl.SSLError) or isinstance(reason, ssl.CertificateError):
        return AttemptError(ApiError(0, "TLS with %s failed: %s" % (host, escape_text(reason, 200)),
                                   "If a private CA or a proxy signs the certificate, set "
                                   "AGENTJOBS_CA_BUNDLE (or SSL_CERT_FILE) to its PEM file; "
                                   "verification is never switched off."),
                          what="tls", final=True)
    if isinstance(reason, socket.gaierror):
        return AttemptError(ApiError(0, "Could not resolve the API host (%s): %s"
                                   % (host, escape_text(reason, 200)),
                                   "Check AICONNECT_API_URL and this machine's DNS or proxy "
                                   "settings (HTTPS_PROXY)."),
                          unsent=True, what="dns")
    if isinstance(reason, ConnectionRefusedError):
        return AttemptError(ApiError(0, "Could not connect to the API at %s: connection refused." % host,
                                   "Is AICONNECT_API_URL right and the API (or proxy) up? Try "
                                   "again in a minute."),
                          unsent=True, what="refused")
    if isinstance(reason, (ConnectionError, EOFError)) or type(reason).__name__ in (
            "RemoteDisconnected", "BadStatusLine", "IncompleteRead"):
        return AttemptError(ApiError(0, "The connection to the API at %s dropped before a full "
                                   "answer came (%s)." % (host, type(reason).__name__),
                                   "Try again; if it keeps happening, check proxies between "
                                   "here and the API."),
                          what="dropped")
    return AttemptError(ApiError(0, "Could not talk to the API at %s: %s"
                               % (host, escape_text(reason, 200)),
                               "Check AICONNECT_API_URL and the network."),
                      what=type(reason).__name__)


def _reject_constant(name):
    raise ValueError("%s is not valid JSON" % name)


def _check_number_length(text):
    # Converting a long digit string costs time quadratic in its length, and 3.6-3.10 have
    # no limit of their own (1.2M digits from the API froze the server for seconds).
    if len(text) - text.startswith("-") > MAX_NUMBER_DIGITS:
        raise ValueError("a number of %d characters, over the %d-digit limit"
                         % (len(text), MAX_NUMBER_DIGITS))


def _parse_int(text):
    _check_number_length(text)
    return int(text)


def _parse_float(text):
    _check_number_length(text)
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("number out of range: %s" % text[:40])
    return value


class RepeatedKeys(dict):
    """A JSON object from a client in which some key came more than once."""
    repeated = ()


def object_from_pairs(pairs):
    """json's object_pairs_hook for client messages: which of two values a repeated key
    means is anyone's guess ({"name": "get_context", "name": "cancel_job"} ran the
    DELETE), so the object is marked and the request refused."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        obj = RepeatedKeys(obj)
        obj.repeated = sorted(set(k for k, _ in pairs if k in seen or seen.add(k)))
    return obj


def json_loads(text, pairs_hook=None):
    """json.loads, strict: no NaN or Infinity, whose echo would not be JSON; integers
    exact; no number longer than MAX_NUMBER_DIGITS, on every Python version."""
    return json.loads(text, parse_constant=_reject_constant, parse_float=_parse_float,
                      parse_int=_parse_int, object_pairs_hook=pairs_hook)


###############################################################################
# Argument checks #############################################################
###############################################################################

JSON_TYPES = {"object": "an object", "string": "a string", "integer": "an integer",
              "number": "a number", "boolean": "true or false", "array": "an array"}
_patterns = {}


# bool before int: in Python True is an int, in JSON it is not a number.
PYTHON_TO_JSON_TYPES = ((type(None), "null"), (bool, "boolean"), (int, "integer"), (float, "number"),
                        (str, "string"), (list, "array"), (dict, "object"))


def json_type_of(value):
    """The JSON type name of a parsed value."""
    for kind, name in PYTHON_TO_JSON_TYPES:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def show_value(value):
    text = json.dumps(value)
    return escape_text(text, 60)


def check_value(schema, value, name):
    """Check one value against the JSON-Schema subset the tools use; return it,
    normalized (5.0 -> 5 for an integer). Raises ArgumentError naming `name`."""
    kind = schema.get("type")
    actual = json_type_of(value)
    if kind == "integer" and actual == "number" and value == int(value):
        value, actual = int(value), "integer"
    if kind == "number" and actual == "integer":
        actual = "number"
    if kind and actual != kind:
        raise ArgumentError("Argument '%s' must be %s, not %s (%s)."
                            % (name, JSON_TYPES[kind], actual, show_value(value)),
                            describe_expected(schema))
    if "enum" in schema and value not in schema["enum"]:
        raise ArgumentError("Argument '%s' is %s; it must be one of: %s."
                            % (name, show_value(value), ", ".join(
                                str(v) for v in schema["enum"])))
    if "minimum" in schema and value < schema["minimum"]:
        raise ArgumentError("Argument '%s' is %s; it must be at least %s."
                            % (name, show_value(value), schema["minimum"]), describe_expected(schema))
    if "maximum" in schema and value > schema["maximum"]:
        raise ArgumentError("Argument '%s' is %s; it must be at most %s."
                            % (name, show_value(value), schema["maximum"]), describe_expected(schema))
    if "minLength" in schema and len(value) < schema["minLength"]:
        raise ArgumentError("Argument '%s' must not be empty." % name, describe_expected(schema))
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        raise ArgumentError("Argument '%s' is %d characters long; at most %d are allowed."
                            % (name, len(value), schema["maxLength"]))
    if "pattern" in schema and not pattern_matches(schema["pattern"], value):
        raise ArgumentError("Argument '%s' is %s, which is not valid here."
                            % (name, show_value(value)), describe_expected(schema))
    if kind == "object" and "properties" in schema:
        value = check_object(schema, value, name + ".")
    return value


def pattern_matches(pattern, value):
    compiled = _patterns.get(pattern)
    if compiled is None:
        import re
        compiled = _patterns[pattern] = re.compile(pattern)
    return compiled.search(value) is not None


def describe_expected(schema):
    description = schema.get("description")
    return "Expected: " + description if description else None


def check_object(schema, args, prefix=""):
    """Check an object's members: unknown names refused, required ones present,
    defaults filled in. A null member counts as left out."""
    properties = schema.get("properties", {})
    if schema.get("additionalProperties") is False:
        unknown = sorted(name for name in args if name not in properties)
        if unknown:
            raise ArgumentError("Unknown argument%s: %s." % (
                "s" if len(unknown) > 1 else "", ", ".join(prefix + escape_text(n, 60) for n in unknown)),
                "Valid arguments: %s." % (", ".join(prefix + n for n in properties) or "none"))
    checked = {}
    for name, value in args.items():
        if value is None and name in properties:
            continue
        checked[name] = check_value(properties[name], value, prefix + name) if name in properties else value
    for name in schema.get("required", ()):
        if name not in checked:
            raise ArgumentError("Missing required argument '%s'." % (prefix + name),
                                describe_expected(properties.get(name, {})))
    for name, sub in properties.items():
        if name not in checked and "default" in sub:
            checked[name] = sub["default"]
    return checked


def not_text(value):
    """The first unpaired surrogate in a string, or None: JSON can carry "\\ud800",
    but no encoding (UTF-8 for a URL or a body) can, so it is not text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        return value[error.start]
    return None


def json_nodes(value, path):
    """Each value inside a parsed JSON value, itself first, with its path
    ("params.a.b[2]"); a loop, not recursion, so no depth can overflow the stack."""
    stack = [(value, path)]
    while stack:
        value, path = stack.pop()
        yield value, path
        if isinstance(value, dict):
            stack.extend(reversed([(item, "%s.%s" % (path, key)) for key, item in value.items()]))
        elif isinstance(value, list):
            stack.extend(reversed([(item, "%s[%d]" % (path, index))
                                   for index, item in enumerate(value)]))


def find_non_text(value, path):
    """(path, surrogate) of the first string or object key at any depth of `value`
    that is not valid Unicode text, else None."""
    for node, where in json_nodes(value, path):
        if isinstance(node, str):
            bad = not_text(node)
            if bad is not None:
                return where, bad
        elif isinstance(node, dict):
            for key in node:
                bad = not_text(key)
                if bad is not None:
                    return "%s.%s" % (where, json.dumps(key)), bad
    return None


def check_arguments(tool, args):
    """Check a tool call's arguments against the tool's own input schema.

    Every string at any depth must be Unicode text. Parameters that only apply
    under a flag (`tool.overlays`, e.g. include_limit under include_activities)
    are dropped unchecked while the flag is off.
    """
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ArgumentError("The arguments must be a JSON object, not %s." % json_type_of(args))
    found = find_non_text(args, "")
    if found is not None:
        path, bad = found
        raise ArgumentError(
            "Argument '%s' is not valid Unicode text: it holds an unpaired surrogate (\\u%04x), "
            "half of a character, which cannot be sent." % (escape_text(path[1:], 200), ord(bad)),
            "Send whole characters: a \\ud800-\\udbff escape must be followed by a "
            "\\udc00-\\udfff one.")
    schema = tool.input_schema
    for flag, names in tool.overlays.items():
        if args.get(flag) is not True:
            args = dict((k, v) for k, v in args.items() if k not in names)
            schema = dict(schema, properties=dict(
                (k, v) for k, v in schema["properties"].items() if k not in names))
    return check_object(schema, args)


###############################################################################
# Formatting ##################################################################
###############################################################################

ISO_PATTERN = (r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
               r"([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|z|[+-]([01]\d|2[0-3]):?[0-5]\d)?)?$")
_ISO_PARTS = (r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
              r"\s*(Z|z|[+-]\d{2}:?\d{2})?)?$")
PARAMS_TEXT_LIMIT = 2000
RESULT_TEXT_LIMIT = 1000
OUTPUT_TEXT_LIMIT = 200
SHOWN_TASKS = 5
SHOWN_LOG_LINES = 5
SHOWN_SCHEMA_PROPERTIES = 15


def to_datetime(value):
    """A datetime (UTC) from an ISO 8601 string or epoch milliseconds, else None."""
    import datetime
    utc = datetime.timezone.utc
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:  # a 4000-digit integer is no date: float() of it overflows
            seconds = value / 1000.0 if abs(value) > 1e11 else float(value)
            return datetime.datetime.fromtimestamp(seconds, utc)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    if value.strip().isdigit():  # epoch milliseconds as text; "\u00b2" and 5,000 digits are not
        digits = value.strip()
        return to_datetime(int(digits)) if is_ascii(digits) and len(digits) <= 20 else None
    import re
    match = re.match(_ISO_PARTS, value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour or 0),
                                   int(minute or 0), int(second or 0),
                                   int((fraction or "0")[:6].ljust(6, "0")), utc)
    except ValueError:
        return None
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        moment -= sign * offset
    return moment


def iso_time(value):
    """A timestamp as ISO 8601 UTC ("2024-07-23T10:00:00Z"), whatever form it came in.
    Anything unrecognisable is shown as it came, escaped."""
    moment = to_datetime(value)
    if moment is None:
        return escape_text(value, 80) if value not in (None, "") else "-"
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += ".%03d" % (moment.microsecond // 1000)
    return text + "Z"


def format_duration(start, end):
    """"2h 5m" between two timestamps, or None when either is missing or odd."""
    first, last = to_datetime(start), to_datetime(end)
    if first is None or last is None or last < first:
        return None
    seconds = int((last - first).total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [("%dd" % days) if days else "", ("%dh" % hours) if hours else "",
             ("%dm" % minutes) if minutes else "", ("%ds" % seconds) if seconds and not days else ""]
    return " ".join(p for p in parts if p) or "0s"


TOO_DEEP = "(nested too deeply to show here)"


def compact_json(value, limit=None):
    """Any value as one escaped line of JSON, cut at `limit` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except RecursionError:  # the API can send ~1000 levels; json.loads took them
        text = TOO_DEEP
    except (TypeError, ValueError):
        text = repr(value)
    return escape_text(text, limit)


def pretty_json(value, limit, indent="  "):
    """Any value as indented JSON lines (strings inside stay escaped), cut at `limit`."""
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    except RecursionError:  # indent= takes json's Python encoder: a few frames per level
        text = compact_json(value)
    cut = ""
    if len(text) > limit:
        cut = "\n... [%d more characters; the whole value is in the structured result]" % (
            len(text) - limit)
        text = text[:limit]
    lines = [escape_text(line) for line in (text + cut).split("\n")]
    return "\n".join(indent + line for line in lines)


def shown(value, limit=RESULT_TEXT_LIMIT):
    """A field value for the text: strings escaped, other values as compact JSON."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        return escape_text(value, limit)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value)
    return compact_json(value, limit)


def tags_of(value):
    """Tags as a list, whether the API sent "a,b" or ["a", "b"]."""
    if isinstance(value, str):
        return [tag.strip() for tag in value.split(",") if tag.strip()]
    if isinstance(value, list):
        return [str(tag) for tag in value]
    return []


def channel_line(job):
    channel = job.get("channel_data") if isinstance(job.get("channel_data"), dict) else {}
    platform = channel.get("platform")
    code = job.get("channel_code")
    text = " ".join(escape_text(p, 120) for p in (platform, code) if p) or "-"
    if channel.get("name"):
        text += " (%s)" % escape_text(channel["name"], 80)
    return text


JOB_SUMMARY_KEYS = ("job_id", "job_status", "job_type_id", "channel_code", "channel_data",
                    "scheduled_at", "updated_at", "result", "activities_count")


def format_job_summary(job, indent=""):
    """The few lines that identify a job: for lists and for cancel."""
    if not isinstance(job, dict):
        return indent + "Unrecognised job data: " + compact_json(job, 500)
    lines = [
        "Job ID: %s" % shown(job.get("job_id"), 200),
        "Status: %s" % shown(job.get("job_status"), 40),
        "Type: %s" % shown(job.get("job_type_id"), 200),
        "Channel: %s" % channel_line(job),
        "Scheduled at: %s" % iso_time(job.get("scheduled_at")),
        "Updated at: %s" % iso_time(job.get("updated_at")),
    ]
    if job.get("result") not in (None, ""):
        lines.append("Result: %s" % shown(job.get("result"), 300))
    if "activities_count" in job:
        lines.append("Activities: %s" % shown(job.get("activities_count")))
    return "\n".join(indent + line for line in lines)


JOB_KEYS = ("job_id", "org_id", "job_type_id", "job_status", "chat_id", "channel_code",
            "channel_data", "created_at", "updated_at", "scheduled_at", "last_task_created_at",
            "config", "job_config", "flags", "params", "tasks", "result", "tags",
            "execution_log", "activities_count", "Activities")


def format_job(job, activities_meta=None):
    """A whole job, readable, section by section; unknown fields shown raw at the end."""
    if not isinstance(job, dict):
        return "Unrecognised job data from the API:\n" + pretty_json(job, PARAMS_TEXT_LIMIT)
    out = ["Job %s (%s)" % (shown(job.get("job_id"), 200), shown(job.get("job_status"), 40)),
           "", "Identification:",
           "  Job ID: %s" % shown(job.get("job_id"), 200),
           "  Organization: %s" % shown(job.get("org_id"), 200),
           "  Job type: %s" % shown(job.get("job_type_id"), 200),
           "  Status: %s" % shown(job.get("job_status"), 40)]
    if job.get("chat_id"):
        out.append("  Chat ID: %s" % shown(job["chat_id"], 200))
    out += ["", "Channel:", "  Channel code: %s" % shown(job.get("channel_code"), 200)]
    channel = job.get("channel_data")
    if isinstance(channel, dict):
        for key in sorted(channel):
            out.append("  %s: %s" % (escape_text(key, 60), shown(channel[key], 200)))
    elif channel is not None:
        out.append("  Channel data: %s" % shown(channel, 300))
    out += ["", "Dates:"]
    for label, key in (("Created", "created_at"), ("Scheduled", "scheduled_at"),
                       ("Last task created", "last_task_created_at"), ("Updated", "updated_at")):
        if job.get(key) is not None:
            out.append("  %s: %s" % (label, iso_time(job[key])))
    duration = format_duration(job.get("created_at"), job.get("updated_at"))
    if duration:
        out.append("  Duration (created to last update): %s" % duration)
    config = job.get("config") if job.get("config") is not None else job.get("job_config")
    if isinstance(config, dict) and config:
        out += ["", "Configuration:"]
        out += ["  %s: %s" % (escape_text(k, 60), shown(config[k], 300)) for k in sorted(config)]
    flags = job.get("flags")
    if isinstance(flags, dict) and flags:
        out += ["", "Flags:"]
        out += ["  %s: %s" % (escape_text(k, 60), iso_time(flags[k]) if k.endswith("_at")
                              else shown(flags[k], 200)) for k in sorted(flags)]
    if job.get("params") not in (None, {}, ""):
        out += ["", "Params:", pretty_json(job["params"], PARAMS_TEXT_LIMIT)]
    out += format_tasks(job.get("tasks"), config)
    if job.get("result") not in (None, ""):
        out += ["", "Result:", pretty_json(job["result"], RESULT_TEXT_LIMIT)
                if isinstance(job["result"], (dict, list)) else "  " + shown(job["result"])]
    tags = tags_of(job.get("tags"))
    if tags:
        out += ["", "Tags: " + ", ".join(escape_text(t, 60) for t in tags)]
    log_lines = job.get("execution_log")
    if isinstance(log_lines, list) and log_lines:
        out += ["", "Execution log (last %d of %d lines):" % (
            min(SHOWN_LOG_LINES, len(log_lines)), len(log_lines))]
        out += ["  " + shown(line, 300) for line in log_lines[-SHOWN_LOG_LINES:]]
    if "activities_count" in job:
        out += ["", "Activities count: %s" % shown(job.get("activities_count"))]
    if isinstance(job.get("Activities"), list):
        out += ["", format_activities_overlay(job["Activities"], activities_meta, job.get("job_id"))]
    extra = dict((k, v) for k, v in job.items() if k not in JOB_KEYS)
    if extra:
        out += ["", "Other fields:", pretty_json(extra, PARAMS_TEXT_LIMIT)]
    return "\n".join(out)


def format_tasks(tasks, config):
    if not isinstance(tasks, list):
        return [] if tasks is None else ["", "Tasks: %s" % shown(tasks, 300)]
    allowed = config.get("max_task_retries") if isinstance(config, dict) else None
    used = max(0, len(tasks) - 1)
    line = "Tasks: %d" % len(tasks)
    if tasks:
        line += " (retries used: %d%s)" % (used, " of %s allowed" % allowed if allowed is not None else "")
    out = ["", line]
    if len(tasks) > SHOWN_TASKS:
        out.append("  (the last %d shown)" % SHOWN_TASKS)
    for task in tasks[-SHOWN_TASKS:]:
        if not isinstance(task, dict):
            out.append("  - " + shown(task, 200))
            continue
        text = "  - %s at %s" % (shown(task.get("task_id"), 100), iso_time(task.get("created_at")))
        if task.get("status"):
            text += " [%s]" % shown(task["status"], 40)
        if task.get("result") not in (None, ""):
            text += " result: %s" % shown(task["result"], 200)
        out.append(text)
    return out


def format_activity(activity):
    """One activity on one line: time [status] type via source, credits, id, output."""
    if not isinstance(activity, dict):
        return "- unrecognised activity: " + compact_json(activity, 300)
    source = activity.get("source") if isinstance(activity.get("source"), dict) else {}
    text = "- %s [%s] %s via %s" % (
        iso_time(activity.get("created_at")), shown(activity.get("status"), 40),
        shown(activity.get("activity_type_code"), 80), shown(source.get("type"), 40))
    if activity.get("consumed_credits") is not None or activity.get("allocated_credits") is not None:
        text += " | credits: %s used of %s" % (shown(activity.get("consumed_credits")),
                                                shown(activity.get("allocated_credits")))
    text += " | id: %s" % shown(activity.get("id"), 100)
    payloads = activity.get("payloads") if isinstance(activity.get("payloads"), dict) else {}
    output = payloads.get("output")
    if output not in (None, "", {}):
        text += " | output: %s" % (escape_text(output, OUTPUT_TEXT_LIMIT) if isinstance(output, str)
                                   else compact_json(output, OUTPUT_TEXT_LIMIT))
    return text


def format_activities_overlay(activities, meta, job_id):
    meta = meta if isinstance(meta, dict) else {}
    count, limit = meta.get("count"), meta.get("limit")
    out = ["Activities (%d shown%s):" % (len(activities), ", %s in all" % count if count is not None else "")]
    out += [format_activity(a) for a in activities] or ["  (none)"]
    if isinstance(count, int) and isinstance(limit, int) and count > limit:
        out.append("(truncated: %d of %d shown; use get_job_activities with job_id=%s to page "
                   "through all of them)" % (len(activities), count, shown(job_id, 200)))
    return "\n".join(out)


def format_page_footer(meta, returned, offset):
    """The pagination footer; the next offset advances by the rows actually returned."""
    meta = meta if isinstance(meta, dict) else {}
    total = meta.get("total")
    if isinstance(total, int) and not isinstance(total, bool):
        has_more = offset + returned < total
        total_text = str(total)
    else:
        limit = meta.get("limit")
        has_more = bool(returned) and isinstance(limit, int) and returned >= limit
        total_text = "unknown"
    next_offset = str(offset + returned) if has_more and returned else "none"
    line = "Returned: %d | Total matching: %s | Has more: %s | Next offset: %s" % (
        returned, total_text, "yes" if has_more else "no", next_offset)
    if has_more and returned:
        line += "\n(next page: call again with offset=%s)" % next_offset
    return line


def format_job_list(jobs, meta, offset):
    count = len(jobs)
    out = ["Found %d job%s." % (count, "" if count == 1 else "s")]
    for number, job in enumerate(jobs, offset + 1):
        out += ["", "%d." % number, format_job_summary(job, "  ")]
        if isinstance(job, dict) and isinstance(job.get("Activities"), list):
            out += ["  " + line for line in format_activities_overlay(
                job["Activities"], None, job.get("job_id")).split("\n")]
    meta = meta if isinstance(meta, dict) else {}
    if meta.get("activities_truncated"):
        out += ["", "(activities truncated: %s of %s returned; use get_job_activities for a "
                "job's full trail)" % (shown(meta.get("activities_total_returned")),
                                        shown(meta.get("activities_total_available")))]
    out += ["", format_page_footer(meta, count, offset)]
    if not jobs:
        out.append("No jobs match; try fewer filters or another status or date range.")
    return "\n".join(out)


def percent(part, whole):
    return "%.1f%%" % (100.0 * part / whole) if whole else "n/a"


def format_stats(counts, filters, org_id):
    """Counts by status with shares and rates; no division by zero."""
    total = sum(counts.get(status, 0) for status in JOB_STATUSES)
    out = ["Job statistics for organization %s" % escape_text(org_id, 200)]
    ranges = [(label, filters.get(key)) for label, key in (
        ("created from", "created_at_gte"), ("created until", "created_at_lte"),
        ("scheduled from", "scheduled_at_gte"), ("scheduled until", "scheduled_at_lte"))]
    used = ["%s %s" % (label, escape_text(value, 60)) for label, value in ranges if value]
    out.append("Period: " + ("; ".join(used) if used else "all time (no date range given)"))
    other = ["%s=%s" % (key, escape_text(filters[key], 200)) for key in
             ("job_type_id", "channel_code", "tags") if filters.get(key)]
    if other:
        out.append("Filters: " + ", ".join(other))
    out += ["", "By status:"]
    for status in JOB_STATUSES:
        count = counts.get(status, 0)
        out.append("  %-10s %6d  (%s)" % (status.capitalize() + ":", count, percent(count, total)))
    completed, failed = counts.get("completed", 0), counts.get("failed", 0)
    active = sum(counts.get(s, 0) for s in ("running", "waiting", "scheduled"))
    out += ["", "Total: %d" % total,
            "Success rate: %s (completed of all jobs)" % percent(completed, total),
            "Active jobs: %d (running + waiting + scheduled)" % active,
            "Completion rate: %s (completed / (completed + failed))" % (
                percent(completed, completed + failed) if completed + failed
                else "n/a (no completed or failed jobs)")]
    if not total:
        out.append("No jobs match these filters.")
    return "\n".join(out)


def format_job_type(job_type):
    if not isinstance(job_type, dict):
        return "Unrecognised job type data from the API:\n" + pretty_json(job_type, PARAMS_TEXT_LIMIT)
    out = ["Job type %s" % shown(job_type.get("id"), 200), "",
           "Identification:",
           "  ID: %s" % shown(job_type.get("id"), 200),
           "  Name: %s" % shown(job_type.get("name"), 200),
           "  Organization: %s" % shown(job_type.get("org_id"), 200),
           "  Version: %s" % shown(job_type.get("version"), 60),
           "  Visibility: %s" % shown(job_type.get("visibility"), 60),
           "  Active: %s" % shown(job_type.get("active"), 20),
           "", "Description:", "  " + shown(job_type.get("description"), 1000)]
    config = job_type.get("default_config")
    if isinstance(config, dict) and config:
        out += ["", "Default config and policies:"]
        out += ["  %s: %s" % (escape_text(k, 60), shown(config[k], 300)) for k in sorted(config)]
    elif config is not None:
        out += ["", "Default config: %s" % shown(config, 500)]
    out += format_params_schema(job_type.get("params_schema"))
    out += ["", "Dates:", "  Created: %s" % iso_time(job_type.get("created_at")),
            "  Updated: %s" % iso_time(job_type.get("updated_at"))]
    tags = tags_of(job_type.get("tags"))
    if tags:
        out += ["", "Tags: " + ", ".join(escape_text(t, 60) for t in tags)]
    known = ("id", "name", "org_id", "version", "visibility", "active", "description",
             "default_config", "params_schema", "created_at", "updated_at", "tags", "emoji")
    extra = dict((k, v) for k, v in job_type.items() if k not in known)
    if extra:
        out += ["", "Other fields:", pretty_json(extra, PARAMS_TEXT_LIMIT)]
    out += ["", "To create a job of this type: create_job with job_type_id=%s and params "
            "following the schema above." % shown(job_type.get("id"), 200)]
    return "\n".join(out)


def format_params_schema(schema):
    if schema in (None, {}):
        return ["", "Params schema: none (params are free-form)"]
    if not isinstance(schema, dict) or not isinstance(schema.get("properties", {}), dict):
        return ["", "Params schema (unrecognised form):", pretty_json(schema, PARAMS_TEXT_LIMIT)]
    properties = schema.get("properties", {})
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    out = ["", "Params schema: %d propert%s, %d required%s" % (
        len(properties), "y" if len(properties) == 1 else "ies", len(required),
        (" (" + ", ".join(escape_text(r, 60) for r in required) + ")") if required else "")]
    for name in list(properties)[:SHOWN_SCHEMA_PROPERTIES]:
        prop = properties[name] if isinstance(properties[name], dict) else {}
        text = "  - %s (%s%s)" % (escape_text(name, 80), shown(prop.get("type", "any"), 40),
                                 ", required" if name in required else "")
        if prop.get("description"):
            text += ": " + shown(prop["description"], 200)
        if "default" in prop:
            text += " [default: %s]" % compact_json(prop["default"], 100)
        if isinstance(prop.get("enum"), list):
            text += " [one of: %s]" % ", ".join(shown(v, 40) for v in prop["enum"][:10])
        out.append(text)
    if len(properties) > SHOWN_SCHEMA_PROPERTIES:
        out.append("  ... and %d more (all in the structured result)" % (
            len(properties) - SHOWN_SCHEMA_PROPERTIES))
    return out


###############################################################################
# Tools #######################################################################
###############################################################################

Tool = collections.namedtuple("Tool", "name title description input_schema output_schema "
                                      "annotations handler overlays")
TOOLS = []          # in tools/list order
TOOLS_BY_NAME = {}


def tool(name, title, description, input_schema, output_schema, annotations, overlays=None):
    """Register a tool; like bottle's route(), return the handler unchanged."""
    def register(handler):
        entry = Tool(name, title, description, input_schema, output_schema,
                     dict(annotations, title=title), handler, overlays or {})
        TOOLS.append(entry)
        TOOLS_BY_NAME[name] = entry
        return handler
    return register


# Shared schema fragments; nothing mutates them (dict(FRAGMENT, ...) makes a copy).
JOB_ID = {"type": "string", "minLength": 1, "pattern": r"\S",
          "description": "The job's id, as list_jobs shows it, e.g. job-12345."}
ORG_ID = {"type": "string", "minLength": 1, "pattern": r"\S",
          "description": "Organization id, e.g. aiconnect. Default: the server's DEFAULT_ORG_ID."}
ISO_DATE = {"type": "string", "pattern": ISO_PATTERN,
            "description": "ISO 8601 date or date-time, e.g. 2024-07-23 or 2024-07-23T10:00:00Z."}
STATUS = {"type": "string", "enum": list(JOB_STATUSES) + [s.upper() for s in JOB_STATUSES],
          "description": "Job status, either case: waiting, scheduled, running, completed, "
                         "failed or canceled."}
ACTIVITY_SORT = {"type": "string", "enum": ["created_at", "-created_at"]}
LIMIT = {"type": "integer", "minimum": 1, "maximum": 1000}
OFFSET = {"type": "integer", "minimum": 0,
          "description": "Rows to skip, for paging: use the 'Next offset' of the previous answer. Default 0."}

ANY_OBJECT = {"type": "object"}
PAGINATION = {"type": "object", "required": ["returned", "offset", "has_more"], "properties": {
    "returned": {"type": "integer"}, "offset": {"type": "integer"},
    "total": {"type": ["integer", "null"]}, "has_more": {"type": "boolean"},
    "next_offset": {"type": ["integer", "null"]}}}


def iso_filter(description):
    return dict(ISO_DATE, description=description + " ISO 8601 date or date-time, "
                "e.g. 2024-07-23 or 2024-07-23T10:00:00Z.")


def envelope(payload, kind, what):
    """payload["data"] when it is of the expected kind, else a clear ApiError."""
    data = payload.get("data")
    if not isinstance(data, kind):
        raise ApiError(200, "The API answered, but not with %s: %s" % (what, compact_json(payload, 300)),
                       "The API may have changed or a proxy answered; check AICONNECT_API_URL.")
    return data


def pagination(meta, returned, offset):
    meta = meta if isinstance(meta, dict) else {}
    total = meta.get("total") if isinstance(meta.get("total"), int) and not isinstance(
        meta.get("total"), bool) else None
    if total is not None:
        has_more = offset + returned < total
    else:
        has_more = bool(returned) and isinstance(meta.get("limit"), int) and returned >= meta["limit"]
    return {"returned": returned, "offset": offset, "total": total, "has_more": has_more,
            "next_offset": offset + returned if has_more and returned else None}


def org_of(config, args):
    return args.get("org_id") or config.org_id


def org_segment(config, args):
    """The organization as a named path segment: the argument, else the setting."""
    return ("org_id", args["org_id"]) if args.get("org_id") else ("DEFAULT_ORG_ID", config.org_id)


def job_status_of(config, job_id):
    """A job's status, or None when it cannot be read (used to explain a 409)."""
    try:
        payload = api_request(config, "GET", ("services", "agent-jobs", ("job_id", job_id)))
    except ToolError:
        return None
    data = payload.get("data")
    return data.get("job_status") if isinstance(data, dict) else None


def not_found(error, what, org):
    """Re-word a 404 for the thing the tool was looking for."""
    if error.status == 404:
        error.message = "No %s in organization '%s' (the API answered 404: %s)" % (
            what, escape_text(org, 200), error.message.split(": ", 1)[-1])
    return error


@tool(name="cancel_job", title="Cancel Agent Job", annotations=DESTRUCTIVE_IDEMPOTENT,
      description=(
          "Cancel an Agent Job that has not finished (WAITING, SCHEDULED or RUNNING), so it "
          "stops and sends nothing more. This cannot be undone: confirm the job id with the "
          "user first. Cancelling a job that already finished (COMPLETED, FAILED, CANCELED) "
          "fails with its status. Returns the job as it is after the cancel."),
      input_schema={"type": "object", "additionalProperties": False, "required": ["job_id"],
                    "properties": {
                        "job_id": dict(JOB_ID, description="Id of the job to cancel, e.g. job-12345 (from list_jobs)."),
                        "reason": {"type": "string", "maxLength": 1000,
                                   "description": "Why the job is cancelled, kept with the job, "
                                                  "e.g. 'Customer asked to stop'. Optional."}}},
      output_schema={"type": "object", "required": ["job_id", "canceled"], "properties": {
          "job_id": {"type": "string"}, "canceled": {"type": "boolean"},
          "job": ANY_OBJECT, "message": {"type": "string"}}})
def cancel_job(config, args):
    job_id = args["job_id"]
    reason = args.get("reason", "").strip()
    try:
        payload = api_request(config, "DELETE", ("services", "agent-jobs", ("job_id", job_id)),
                              body={"reason": reason} if reason else None)
    except ApiError as error:
        if error.status == 409:
            status = job_status_of(config, job_id)
            error.message = "Job '%s' is already finished%s, so it cannot be cancelled. %s" % (
                escape_text(job_id, 200), " (status: %s)" % escape_text(status, 40) if status else "",
                error.message)
            error.hint = "Nothing to do: a finished job sends nothing more. get_job shows its result."
        raise not_found(error, "job '%s'" % escape_text(job_id, 200), config.org_id)
    job = payload.get("data")
    if isinstance(job, dict):
        return ("Successfully canceled job:\n" + format_job_summary(job, "  "),
                {"job_id": job.get("job_id", job_id), "canceled": True, "job": job})
    message = payload.get("message")
    if isinstance(message, str):
        return ("Successfully canceled job: %s\nThe API said: %s" % (
            escape_text(job_id, 200), escape_text(message, 500)),
                {"job_id": job_id, "canceled": True, "message": message})
    raise ApiError(200, "The API accepted the cancel of job '%s' but answered with an unexpected "
                   "shape: %s" % (escape_text(job_id, 200), compact_json(payload, 300)),
                   "Check the job with get_job to see whether it is CANCELED.")


@tool(name="get_job", title="Get Agent Job", annotations=READ_ONLY,
      description=(
          "Show one Agent Job in full: status, type, channel, config, flags, params, tasks "
          "(with retries used), dates and duration, result, tags and the last lines of its "
          "execution log. With include_activities=true, also its most recent activities "
          "(get_job_activities pages through all of them)."),
      input_schema={"type": "object", "additionalProperties": False, "required": ["job_id"],
                    "properties": {
                        "job_id": JOB_ID,
                        "org_id": dict(ORG_ID, description="Organization of the job, e.g. aiconnect. Optional."),
                        "include_activities": {"type": "boolean", "default": False,
                                               "description": "Also return the job's activities. Default false."},
                        "include_limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50,
                                          "description": "Most activities to include, 1-100. Default 50. "
                                                         "Only with include_activities."},
                        "include_sort": dict(ACTIVITY_SORT, default="-created_at",
                                             description="Activity order: -created_at (newest first, "
                                                         "default) or created_at. Only with include_activities.")}},
      output_schema={"type": "object", "required": ["job"], "properties": {
          "job": ANY_OBJECT, "activities_meta": ANY_OBJECT}},
      overlays={"include_activities": ("include_limit", "include_sort")})
def get_job(config, args):
    query = [("org_id", args.get("org_id"))]
    if args.get("include_activities"):
        query += [("include", "activities"), ("include_limit", args["include_limit"]),
                  ("include_sort", args["include_sort"])]
    try:
        payload = api_request(config, "GET", ("services", "agent-jobs", ("job_id", args["job_id"])),
                              query)
    except ApiError as error:
        raise not_found(error, "job '%s'" % escape_text(args["job_id"], 200), org_of(config, args))
    job = envelope(payload, dict, "a job")
    meta = payload.get("meta") if isinstance(payload.get("meta"), dict) else {}
    data = {"job": job}
    if isinstance(meta.get("activities_meta"), dict):
        data["activities_meta"] = meta["activities_meta"]
    return format_job(job, meta.get("activities_meta")), data


JOB_FILTERS = {
    "org_id": dict(ORG_ID, description="Organization whose jobs to list, e.g. aiconnect. "
                                       "Default: the key's organization."),
    "scheduled_at": iso_filter("Only jobs scheduled at exactly this time."),
    "scheduled_at_gte": iso_filter("Only jobs scheduled at or after this time."),
    "scheduled_at_lte": iso_filter("Only jobs scheduled at or before this time."),
    "created_at_gte": iso_filter("Only jobs created at or after this time."),
    "created_at_lte": iso_filter("Only jobs created at or before this time."),
    "job_type_id": {"type": "string", "minLength": 1,
                    "description": "Only jobs of this job type, e.g. customer-followup (get_context lists them)."},
    "channel_code": {"type": "string", "minLength": 1,
                     "description": "Only jobs on this channel: a phone number, Slack channel or user id, "
                                    "e.g. 5511999999999."},
}
LIST_ORDER = ("org_id", "status", "scheduled_at", "scheduled_at_gte", "scheduled_at_lte",
              "created_at_gte", "created_at_lte", "job_type_id", "channel_code", "tags")


def filter_query(args):
    """The filters that were given, in a fixed order; statuses upper-case, as the API documents."""
    query = []
    for name in LIST_ORDER:
        if name in args:
            value = args[name]
            query.append((name, value.upper() if name == "status" else value))
    return query


@tool(name="list_jobs", title="List Agent Jobs", annotations=READ_ONLY,
      description=(
          "List Agent Jobs, newest first unless sort says otherwise, filtered by status, job "
          "type, channel or dates. Each job comes with its id, status, type, channel, schedule "
          "and result; the footer says how many match in all and the offset of the next page. "
          "Use it to find job ids for get_job and cancel_job."),
      input_schema={"type": "object", "additionalProperties": False, "properties": dict(
          JOB_FILTERS,
          status=STATUS,
          limit=dict(LIMIT, maximum=100, default=20,
                     description="Most jobs to return, 1-100. Default 20."),
          offset=OFFSET,
          sort={"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_.]*:(asc|desc)$",
                "description": "Order as field:direction, e.g. created_at:desc or scheduled_at:asc."},
          include_activities={"type": "boolean", "default": False,
                              "description": "Also return each job's recent activities. Default false."},
          activities_limit_per_job={"type": "integer", "minimum": 1, "maximum": 100, "default": 15,
                                    "description": "Most activities per job, 1-100. Default 15. "
                                                   "Only with include_activities."},
          activities_total_limit={"type": "integer", "minimum": 1, "maximum": 3000, "default": 500,
                                  "description": "Most activities in all, 1-3000. Default 500. "
                                                 "Only with include_activities."},
          activities_sort=dict(ACTIVITY_SORT, default="-created_at",
                               description="Activity order: -created_at (newest first, default) "
                                           "or created_at. Only with include_activities."))},
      output_schema={"type": "object", "required": ["jobs", "meta", "pagination"], "properties": {
          "jobs": {"type": "array", "items": ANY_OBJECT}, "meta": ANY_OBJECT,
          "pagination": PAGINATION}},
      overlays={"include_activities": ("activities_limit_per_job", "activities_total_limit",
                                       "activities_sort")})
def list_jobs(config, args):
    query = filter_query(args) + [("limit", args["limit"]), ("offset", args.get("offset")),
                                  ("sort", args.get("sort"))]
    if args.get("include_activities"):
        query += [("include", "activities"),
                  ("activities_limit_per_job", args["activities_limit_per_job"]),
                  ("activities_total_limit", args["activities_total_limit"]),
                  ("activities_sort", args["activities_sort"])]
    payload = api_request(config, "GET", ("services", "agent-jobs"), query)
    jobs = envelope(payload, list, "a list of jobs")
    meta = payload.get("meta") if isinstance(payload.get("meta"), dict) else {}
    offset = args.get("offset", 0)
    return (format_job_list(jobs, meta, offset),
            {"jobs": jobs, "meta": meta, "pagination": pagination(meta, len(jobs), offset)})


@tool(name="get_jobs_stats", title="Get Job Statistics", annotations=READ_ONLY,
      description=(
          "Count Agent Jobs by status (waiting, scheduled, running, completed, failed, "
          "canceled) with each one's share, the total, the success rate, the active jobs "
          "and the completion rate, for the date ranges and filters given (all time when "
          "none). There is no status filter: the breakdown is by status."),
      input_schema={"type": "object", "additionalProperties": False, "properties": dict(
          (k, v) for k, v in dict(
              JOB_FILTERS,
              tags={"type": "string", "minLength": 1,
                    "description": "Only jobs with any of these tags, comma-separated, e.g. vip,q3-campaign."},
          ).items() if k != "scheduled_at")},
      output_schema={"type": "object", "required": ["org_id", "counts", "total"], "properties": {
          "org_id": {"type": "string"}, "filters": ANY_OBJECT,
          "counts": {"type": "object", "properties": dict(
              (s, {"type": "integer"}) for s in JOB_STATUSES)},
          "total": {"type": "integer"}, "active": {"type": "integer"},
          "success_rate": {"type": ["number", "null"]},
          "completion_rate": {"type": ["number", "null"]}}})
def get_jobs_stats(config, args):
    query = [("include", "stats"), ("limit", 1)] + filter_query(args)
    payload = api_request(config, "GET", ("services", "agent-jobs"), query)
    meta = payload.get("meta")
    stats = meta.get("stats") if isinstance(meta, dict) else None
    by_status = stats.get("status") if isinstance(stats, dict) else None
    if not isinstance(by_status, dict):
        raise ApiError(200, "The API answered, but without statistics (meta.stats.status): %s"
                       % compact_json(payload, 300),
                       "The API may have changed or a proxy answered; check AICONNECT_API_URL.")
    counts = {}
    for status in JOB_STATUSES:
        value = by_status.get(status, by_status.get(status.upper(), 0))
        counts[status] = value if isinstance(value, int) and not isinstance(value, bool) else 0
        if not 0 <= counts[status] <= MAX_COUNT:  # shares are floats: 10**400 would overflow
            raise ApiError(200, "The API answered with %s jobs %s, which is not a count of jobs."
                           % (status, escape_text(counts[status], 40)),
                           "The API may have changed or a proxy answered; check AICONNECT_API_URL.")
    total = sum(counts.values())
    finished = counts["completed"] + counts["failed"]
    data = {"org_id": org_of(config, args), "filters": dict(filter_query(args)), "counts": counts,
            "total": total,
            "active": counts["running"] + counts["waiting"] + counts["scheduled"],
            "success_rate": round(100.0 * counts["completed"] / total, 2) if total else None,
            "completion_rate": round(100.0 * counts["completed"] / finished, 2) if finished else None}
    return format_stats(counts, args, org_of(config, args)), data


@tool(name="get_job_activities", title="Get Agent Job Activities", annotations=READ_ONLY,
      description=(
          "Read a job's activity trail: each AI completion, dispatch or step it ran, with "
          "time, status, type, source, credits used and a cut of its output. Newest first by "
          "default; page with offset (the footer gives the next one)."),
      input_schema={"type": "object", "additionalProperties": False, "required": ["job_id"],
                    "properties": {
                        "job_id": JOB_ID,
                        "org_id": dict(ORG_ID, description="Organization of the job, e.g. aiconnect. Optional."),
                        "status": {"type": "string", "enum": ["submitted", "completed", "canceled"],
                                   "description": "Only activities in this status: submitted, completed or canceled."},
                        "activity_type_code": {"type": "string", "minLength": 1,
                                               "description": "Only activities of this type, e.g. ai_completion."},
                        "source_type": {"type": "string", "enum": ["dispatch", "process_module", "direct"],
                                        "description": "Only activities from this source: dispatch, "
                                                       "process_module or direct."},
                        "limit": dict(LIMIT, default=50, description="Most activities to return, 1-1000. Default 50."),
                        "offset": dict(OFFSET, default=0),
                        "sort": {"type": "string", "default": "-created_at",
                                 "pattern": r"^-?[A-Za-z_][A-Za-z0-9_.]*$",
                                 "description": "Sort field, '-' first for descending, e.g. -created_at "
                                                "(default, newest first) or created_at."}}},
      output_schema={"type": "object", "required": ["job_id", "activities", "meta", "pagination"],
                     "properties": {"job_id": {"type": "string"},
                                    "activities": {"type": "array", "items": ANY_OBJECT},
                                    "meta": ANY_OBJECT, "pagination": PAGINATION}})
def get_job_activities(config, args):
    query = [("job_id", args["job_id"])] + [(name, args.get(name)) for name in (
        "org_id", "status", "activity_type_code", "source_type", "limit", "offset", "sort")]
    try:
        payload = api_request(config, "GET", ("services", "activities"), query)
    except ApiError as error:
        raise not_found(error, "job '%s'" % escape_text(args["job_id"], 200), org_of(config, args))
    activities = envelope(payload, list, "a list of activities")
    meta = payload.get("meta") if isinstance(payload.get("meta"), dict) else {}
    offset = args["offset"]
    count = len(activities)
    text = ["Activities of job %s: %d shown." % (escape_text(args["job_id"], 200), count)]
    text += [format_activity(a) for a in activities]
    text += ["", format_page_footer(meta, count, offset)]
    return "\n".join(text), {"job_id": args["job_id"], "activities": activities, "meta": meta,
                             "pagination": pagination(meta, count, offset)}


@tool(name="create_job", title="Create Agent Job", annotations=CREATES,
      description=(
          "Create an Agent Job of a given type on a channel (a WhatsApp number, a Slack channel "
          "or a web user), to start now or at scheduled_at. Each call creates a new job: do not "
          "repeat a call that may have worked; check with list_jobs instead. get_job_type shows "
          "which params a type expects."),
      input_schema={"type": "object", "additionalProperties": False,
                    "required": ["job_type_id", "target_channel"], "properties": {
                        "job_type_id": {"type": "string", "minLength": 1, "pattern": r"\S",
                                        "description": "Job type to run, e.g. customer-followup "
                                                       "(get_context lists them)."},
                        "target_channel": {
                            "type": "object", "additionalProperties": False,
                            "required": ["platform", "code"],
                            "description": "Where the job talks: platform and code, e.g. "
                                           "{\"platform\": \"whatsapp\", \"code\": \"5511999999999\"}.",
                            "properties": {
                                "platform": {"type": "string", "enum": ["whatsapp", "slack", "web"],
                                             "description": "whatsapp, slack or web."},
                                "code": {"type": "string", "minLength": 1, "pattern": r"\S",
                                         "description": "Channel id, phone number or user id, e.g. 5511999999999."},
                                "org_id": dict(ORG_ID, description="Organization that owns the job. "
                                                                   "Default: the server's DEFAULT_ORG_ID."),
                                "type": {"type": "string", "description": "Channel type, when the platform has several. Optional."},
                                "data": {"type": "object", "description": "Extra channel data. Optional."}}},
                        "params": {"type": "object",
                                   "description": "The job's parameters, as the job type's params schema "
                                                  "describes (get_job_type), e.g. {\"customer_name\": \"Ana\"}."},
                        "scheduled_at": dict(ISO_DATE, description="When to start, ISO 8601, e.g. "
                                             "2024-07-23T10:00:00Z. Default: now."),
                        "config": {"type": "object", "additionalProperties": False,
                                   "description": "Overrides of the job type's default config. Optional.",
                                   "properties": {
                                       "max_follow_ups": {"type": "integer", "minimum": 0,
                                                          "description": "Most follow-up messages, e.g. 3."},
                                       "max_task_retries": {"type": "integer", "minimum": 0,
                                                            "description": "Most retries of a failed task, e.g. 2."},
                                       "task_retry_interval": {"type": "integer", "minimum": 1,
                                                               "description": "Minutes between task retries."},
                                       "max_time_to_complete": {"type": "integer", "minimum": 1,
                                                                "description": "Minutes the job may take in all."},
                                       "profile_id": {"type": "string", "minLength": 1,
                                                      "description": "Agent profile to use."},
                                       "start_prompt": {"type": "string", "minLength": 1,
                                                        "description": "Prompt the job starts with."}}},
                        "delay": {"type": "integer", "minimum": 0, "maximum": 100000,
                                  "description": "Most minutes of random delay added to the start, "
                                                 "e.g. 30 to spread many jobs. Optional."}}},
      output_schema={"type": "object", "required": ["job"], "properties": {"job": ANY_OBJECT}})
def create_job(config, args):
    channel = dict(args["target_channel"])
    channel.setdefault("org_id", config.org_id)
    body = {"job_type_id": args["job_type_id"], "target_channel": channel}
    for name in ("config", "params", "scheduled_at"):
        if name in args:
            body[name] = args[name]
    try:
        payload = api_request(config, "POST", ("services", "agent-jobs"),
                              [("delay", args.get("delay"))], body=body)
    except ApiError as error:
        if error.status == 404:
            error.message = ("No job type '%s' in organization '%s', or no such organization "
                             "(the API answered 404: %s)" % (
                                 escape_text(args["job_type_id"], 200),
                                 escape_text(channel["org_id"], 200),
                                 error.message.split(": ", 1)[-1]))
            error.hint = "get_context lists the job types of the organization."
        raise
    job = envelope(payload, dict, "the new job")
    text = ["Job created: %s" % shown(job.get("job_id"), 200),
            "  Status: %s" % shown(job.get("job_status"), 40),
            "  Type: %s" % shown(job.get("job_type_id", args["job_type_id"]), 200),
            "  Channel: %s" % (channel_line(job) if job.get("channel_code") else
                               escape_text("%s %s" % (channel["platform"], channel["code"]), 200)),
            "  Scheduled at: %s" % iso_time(job.get("scheduled_at")),
            "Follow it with get_job job_id=%s; cancel_job stops it." % shown(job.get("job_id"), 200)]
    return "\n".join(text), {"job": job}


@tool(name="get_job_type", title="Get Job Type Configuration", annotations=READ_ONLY,
      description=(
          "Show a job type: its description, default config and policies, and the params "
          "its jobs take (from its params schema: which are required, their types, "
          "descriptions and defaults). Read it before create_job."),
      input_schema={"type": "object", "additionalProperties": False, "required": ["job_type_id"],
                    "properties": {
                        "job_type_id": {"type": "string", "minLength": 1, "pattern": r"\S",
                                        "description": "The job type's id, e.g. customer-followup "
                                                       "(get_context lists them)."},
                        "org_id": ORG_ID}},
      output_schema={"type": "object", "required": ["job_type"], "properties": {"job_type": ANY_OBJECT}})
def get_job_type(config, args):
    org = org_of(config, args)
    try:
        payload = api_request(config, "GET", ("organizations", org_segment(config, args),
                                               "agent-jobs-type", ("job_type_id", args["job_type_id"])))
    except ApiError as error:
        if error.status == 404:
            error.hint = "get_context lists the job types of the organization."
        raise not_found(error, "job type '%s'" % escape_text(args["job_type_id"], 200), org)
    job_type = envelope(payload, dict, "a job type")
    return format_job_type(job_type), {"job_type": job_type}


@tool(name="get_context", title="Get Server Context", annotations=READ_ONLY,
      description=(
          "Start here: the organization, time zone and API this server uses, its version, "
          "and the job types of the organization (id, emoji, name, description)."),
      input_schema={"type": "object", "additionalProperties": False, "properties": {
          "org_id": dict(ORG_ID, description="Organization to describe, e.g. aiconnect. "
                                             "Default: the server's DEFAULT_ORG_ID.")}},
      output_schema={"type": "object", "required": ["org_id", "timezone", "api_url",
                                                    "server_version", "job_types"],
                     "properties": {"org_id": {"type": "string"}, "timezone": {"type": "string"},
                                    "api_url": {"type": "string"}, "server_version": {"type": "string"},
                                    "job_types": {"type": "array", "items": ANY_OBJECT},
                                    "job_types_total": {"type": ["integer", "null"]},
                                    "job_types_error": {"type": "string"}}})
def get_context(config, args):
    org = org_of(config, args)
    data = {"org_id": org, "timezone": config.timezone, "api_url": config.api_url,
            "server_version": __version__, "job_types": []}
    text = ["Organization: %s" % escape_text(org, 200),
            "Time zone: %s" % escape_text(config.timezone, 60),
            "API: %s" % escape_text(config.api_url, 300),
            "Server: %s %s" % (SERVER_NAME, __version__), ""]
    try:
        payload = api_request(config, "GET", ("organizations", org_segment(config, args),
                                               "agent-jobs-type"),
                              [("enrich", "emoji"), ("limit", 100), ("sort", "name:asc")])
        types = envelope(payload, list, "a list of job types")
    except ArgumentError:
        raise  # a bad org_id is the call's fault, not "job types unavailable"
    except ToolError as error:
        data["job_types_error"] = error.message
        text.append("Job types: unavailable (error: %s)" % error.message)
        if error.hint:
            text.append(error.hint)
        return "\n".join(text), data
    meta = payload.get("meta") if isinstance(payload.get("meta"), dict) else {}
    data["job_types"] = types
    data["job_types_total"] = meta.get("total") if isinstance(meta.get("total"), int) else None
    text.append("Job types (%d%s):" % (len(types), " of %s" % meta["total"]
                                       if isinstance(meta.get("total"), int) and meta["total"] > len(types) else ""))
    for item in types:
        if not isinstance(item, dict):
            text.append("- " + compact_json(item, 200))
            continue
        line = "- %s%s: %s" % (escape_text(item["emoji"], 8) + " " if item.get("emoji") else "",
                               shown(item.get("id"), 200), shown(item.get("name"), 200))
        if item.get("description"):
            line += " - " + shown(item["description"], 300)
        text.append(line)
    if not types:
        text.append("  (none in this organization)")
    text += ["", "Next: list_jobs to see jobs; get_job_type for a type's params."]
    return "\n".join(text), data


###############################################################################
# Protocol ####################################################################
###############################################################################

OVERSIZE = object()  # read_messages' marker for a line over the size limit


def read_messages(stream, max_bytes):
    """Yield each non-blank line of `stream` (bytes, newline stripped) until EOF.

    A line longer than `max_bytes` is never held whole: what is over the limit is
    read and dropped in chunks, and OVERSIZE is yielded in its place.
    """
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while True:
                rest = stream.readline(65536)
                if not rest or rest.endswith(b"\n"):
                    break
            yield OVERSIZE
            continue
        line = line.strip()
        if line:
            yield line


class WorkerPool(object):
    """Threads that run tool calls, started as needed up to `size`, then reused."""

    def __init__(self, size):
        self.size = size
        self.tasks = collections.deque()
        self.cond = threading.Condition()
        self.threads = self.idle = self.pending = 0

    def submit(self, task):
        with self.cond:
            self.tasks.append(task)
            self.pending += 1
            if len(self.tasks) > self.idle and self.threads < self.size:
                self.threads += 1
                thread = threading.Thread(target=self._work, name="tool-call-%d" % self.threads)
                thread.daemon = True  # a stuck call must not keep the process alive at exit
                thread.start()
            else:
                self.cond.notify()

    def waiting(self):
        """Tasks submitted that no worker has taken yet, nor could take now."""
        with self.cond:
            return max(0, self.pending - self.size)

    def _work(self):
        while True:
            with self.cond:
                while not self.tasks:
                    self.idle += 1
                    self.cond.wait()
                    self.idle -= 1
                task = self.tasks.popleft()
            try:
                task()
            except Exception:  # a task reports its own errors; this is a last resort
                log.exception("unexpected error in a worker thread")
            with self.cond:
                self.pending -= 1
                if not self.pending:
                    self.cond.notify_all()

    def join(self, timeout):
        """Wait until every submitted task has finished, at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True


class Session(object):
    """One stdio connection: the negotiated revision, the writer, the calls in flight."""

    def __init__(self, config, out):
        self.config = config
        self.out = out
        self.protocol = None       # set by initialize
        self.client_info = None
        self.in_flight = {}        # request id (as JSON) -> CallContext
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.pool = WorkerPool(config.max_concurrency)
        self.closed = False

    def queue_full(self):
        """Whether a new tool call would wait beyond AGENTJOBS_MAX_QUEUE others."""
        return self.pool.pending >= self.pool.size + self.config.max_queue

    def revision(self):
        """The revision in force: the negotiated one, else (no initialize) the newest."""
        return self.protocol or PROTOCOL_VERSIONS[0]

    def cancel(self, request_id):
        with self.lock:
            call = self.in_flight.get(id_key(request_id))
        if call is not None:
            log.debug("cancelling request %s", id_key(request_id))
            call.cancel()


def id_key(request_id):
    return json.dumps(request_id)


def valid_id(value):
    """MCP: a request id is a string or an integer. 1.5 or 1e3 (a float once parsed) is
    neither, and echoing 1e3 as 1000.0 would answer an id the client never sent."""
    return isinstance(value, str) or isinstance(value, int) and not isinstance(value, bool)


def rpc_error(request_id, code, message, data=None):
    return {"jsonrpc": "2.0", "id": request_id, "error": RpcError(code, message, data).to_json()}


def server_info(revision):
    info = {"name": SERVER_NAME, "version": __version__}
    if revision >= STRUCTURED_SINCE:
        info["title"] = SERVER_TITLE
    return info


def request_revision(session, method, params):
    """The revision a request is served under.

    A request whose params._meta names a protocol version is served statelessly under
    that revision (2026-07-28); `initialize` and requests without it follow the
    revision this connection negotiated (the newest initialize-era one if none).
    """
    meta = params.get("_meta") if isinstance(params, dict) else None
    if method == "initialize" or not isinstance(meta, dict) or META_VERSION not in meta:
        if method == "server/discover":
            raise RpcError(INVALID_PARAMS, "server/discover needs params._meta with %s and %s."
                           % (META_VERSION, META_CAPABILITIES))
        return session.revision()
    version = meta[META_VERSION]
    if not isinstance(version, str) or not isinstance(meta.get(META_CAPABILITIES), dict):
        raise RpcError(INVALID_PARAMS, "params._meta must hold %s (a string) and %s (an object)."
                       % (META_VERSION, META_CAPABILITIES))
    if version not in STATELESS_VERSIONS:
        raise RpcError(UNSUPPORTED_VERSION, "Unsupported protocol version",
                       {"supported": list(SUPPORTED_VERSIONS), "requested": version})
    return version


def on_server_discover(session, params, revision):
    return {"supportedVersions": list(SUPPORTED_VERSIONS),
            "capabilities": {"tools": {"listChanged": False}},
            "instructions": INSTRUCTIONS, "ttlMs": LIST_TTL_MS, "cacheScope": "public"}


def on_initialize(session, params, revision):
    requested = params.get("protocolVersion")
    if not isinstance(requested, str):
        raise RpcError(INVALID_PARAMS, "initialize needs params.protocolVersion (a string), "
                       "e.g. %s" % PROTOCOL_VERSIONS[0])
    version = requested if requested in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[0]
    session.protocol = version
    session.client_info = params.get("clientInfo") if isinstance(params.get("clientInfo"), dict) else None
    log.debug("initialize: client asked for %r, answering %s; client %r", requested, version,
              (session.client_info or {}).get("name"))
    return {"protocolVersion": version, "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": server_info(version), "instructions": INSTRUCTIONS}


def on_ping(session, params, revision):
    if revision in STATELESS_VERSIONS:
        raise RpcError(METHOD_NOT_FOUND, "ping is not part of protocol revision %s." % revision)
    return {}


def tool_listing(entry, revision):
    """A tool as tools/list shows it under `revision`."""
    listed = {"name": entry.name, "description": entry.description,
              "inputSchema": entry.input_schema}
    if revision >= "2025-03-26":
        listed["annotations"] = entry.annotations
    if revision >= STRUCTURED_SINCE:
        listed["title"] = entry.title
        listed["outputSchema"] = entry.output_schema
    return listed


def on_tools_list(session, params, revision):
    # A cursor is accepted and ignored: the whole list fits in one page.
    result = {"tools": [tool_listing(entry, revision) for entry in TOOLS]}
    if revision in STATELESS_VERSIONS:
        result.update(ttlMs=LIST_TTL_MS, cacheScope="public")
    return result


def on_tools_call(session, params, revision):
    name = params.get("name")
    if not isinstance(name, str):
        raise RpcError(INVALID_PARAMS, "tools/call needs params.name, the tool's name (a string).")
    entry = TOOLS_BY_NAME.get(name)
    if entry is None:
        raise RpcError(INVALID_PARAMS, "Unknown tool '%s'. The tools are: %s." % (
            escape_text(name, 100), ", ".join(t.name for t in TOOLS)))
    call = getattr(_local, "call", None)
    own_call = call is None
    if own_call:
        call = _local.call = CallContext(session.config.timeout)
    started = time.monotonic()
    data, is_error = None, False
    try:
        if call.busy:
            raise busy_error(session)
        args = check_arguments(entry, params.get("arguments"))
        text, data = entry.handler(session.config, args)
    except ToolError as error:
        text, is_error = error.text(), True
    except CancelledError:
        raise
    except Exception:
        log.exception("internal error in tool %s", name)
        text, is_error = ("Internal error in %s; the server log (stderr) has the details. "
                          "Try again; if it persists, report it." % name), True
    finally:
        if own_call:
            _local.call = None
    if call.cancelled:
        raise CancelledError()
    log.debug("tools/call %s -> %s in %.1f ms, %d characters", name,
              "error" if is_error else "ok", (time.monotonic() - started) * 1000, len(text))
    result = {"content": [{"type": "text", "text": text}], "isError": is_error}
    if not is_error and data is not None and revision >= STRUCTURED_SINCE:
        result["structuredContent"] = escape_data(data)
    return result


def busy_error(session):
    config = session.config
    return ToolError(
        "The server is busy: %d tool calls are running and %d are waiting for a free worker "
        "(AGENTJOBS_MAX_CONCURRENCY=%d, AGENTJOBS_MAX_QUEUE=%d). This call was not started; "
        "nothing was sent to the API." % (min(session.pool.pending, session.pool.size),
                                          session.pool.waiting(), config.max_concurrency,
                                          config.max_queue),
        "Wait for the answers to the calls already made, then try again.")


METHODS = {"initialize": on_initialize, "ping": on_ping, "server/discover": on_server_discover,
           "tools/list": on_tools_list, "tools/call": on_tools_call}


def on_notification(session, method, params):
    """Notifications are never answered; cancellation is the one that does something."""
    log.debug("notification %s", escape_text(method, 100))
    if method == "notifications/cancelled" and isinstance(params, dict):
        session.cancel(params.get("requestId"))


def repeated_keys(value, path):
    """What is wrong, when an object at any depth of `value` repeats a key; else None."""
    for node, where in json_nodes(value, path):
        if isinstance(node, RepeatedKeys):
            return "%s repeats the key%s %s; send each key once." % (
                escape_text(where, 200), "s" if len(node.repeated) > 1 else "",
                escape_text(", ".join(json.dumps(k) for k in node.repeated), 200))
    return None


def handle_message(session, msg):
    """One parsed message -> its response (a dict), or None when none is due."""
    if not isinstance(msg, dict):
        return rpc_error(None, INVALID_REQUEST, "A message must be a JSON object (a request or "
                         "a notification), not %s." % json_type_of(msg))
    has_id = "id" in msg
    request_id = msg.get("id")
    if isinstance(msg, RepeatedKeys):
        if not (has_id and "method" in msg):
            return None  # a notification or a response: never answered, and not acted on
        return rpc_error(request_id if valid_id(request_id) and "id" not in msg.repeated else None,
                         INVALID_REQUEST, repeated_keys(msg, "The message"))
    if "method" not in msg:
        if has_id and ("result" in msg or "error" in msg):
            return None  # a response; this server sends no requests, so nothing waits for it
        return rpc_error(request_id if valid_id(request_id) else None, INVALID_REQUEST,
                         "The message has no 'method'.")
    method, params = msg.get("method"), msg.get("params")
    if not has_id:
        if isinstance(method, str) and not repeated_keys(params, "params"):
            on_notification(session, method, params)
        return None
    if not valid_id(request_id):
        return rpc_error(None, INVALID_REQUEST, "'id' must be a string or an integer (no "
                         "fraction, no exponent).")
    if msg.get("jsonrpc") != "2.0":
        return rpc_error(request_id, INVALID_REQUEST, "'jsonrpc' must be \"2.0\".")
    if not isinstance(method, str):
        return rpc_error(request_id, INVALID_REQUEST, "'method' must be a string.")
    if params is not None and not isinstance(params, dict):
        return rpc_error(request_id, INVALID_PARAMS if isinstance(params, list) else INVALID_REQUEST,
                         "'params' must be an object.")
    repeated = repeated_keys(params, "params")
    if repeated:
        return rpc_error(request_id, INVALID_PARAMS, repeated)
    handler = METHODS.get(method)
    if handler is None:
        return rpc_error(request_id, METHOD_NOT_FOUND, "Unknown method '%s'. This server "
                         "answers: %s." % (escape_text(method, 100), ", ".join(sorted(METHODS))))
    started = time.monotonic()
    params = params or {}
    try:
        revision = request_revision(session, method, params)
        result = handler(session, params, revision)
        if revision in STATELESS_VERSIONS:  # every 2026-07-28 result says what it is and who answered
            result = dict(result, resultType="complete", _meta={META_SERVER: server_info(revision)})
    except RpcError as error:
        log.debug("%s id=%s -> error %d", method, id_key(request_id), error.code)
        return {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}
    except CancelledError:
        log.debug("%s id=%s cancelled; no answer", method, id_key(request_id))
        return None
    except Exception:
        log.exception("internal error handling %s", escape_text(method, 100))
        return rpc_error(request_id, INTERNAL_ERROR, "Internal error handling %s; the server "
                         "log (stderr) has the details." % escape_text(method, 100))
    log.debug("%s id=%s -> ok in %.1f ms", method, id_key(request_id),
              (time.monotonic() - started) * 1000)
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def write_message(session, obj):
    """Write one message as one compact line of UTF-8 JSON, whole, then flush."""
    try:
        data = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        log.exception("unserialisable response")
        data = json.dumps(rpc_error(obj.get("id") if isinstance(obj, dict) else None,
                                    INTERNAL_ERROR, "Internal error: the answer could not be "
                                    "encoded as JSON."))
    for secret in _secrets:  # an API that echoes the key must not put it on the wire
        if secret in data:
            data = data.replace(secret, "[redacted]")
    line = data.encode("ascii") + b"\n"  # ensure_ascii: the same bytes whatever the locale
    with session.write_lock:
        if session.closed:
            return
        try:
            session.out.write(line)
            session.out.flush()
        except (BrokenPipeError, ValueError, OSError):
            session.closed = True  # the client has gone; stop quietly
            return
    log.debug("sent %d bytes", len(line))


def parse_line(line):
    """A raw line -> the parsed message, or raise RpcError(PARSE_ERROR)."""
    if line is OVERSIZE:
        raise RpcError(INVALID_REQUEST, "The message is larger than AGENTJOBS_MAX_LINE_BYTES; "
                       "it was skipped.")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RpcError(PARSE_ERROR, "Parse error: the message is not valid UTF-8 (byte %d)."
                       % error.start)
    try:
        return json_loads(text, object_from_pairs)
    except RecursionError:
        raise RpcError(PARSE_ERROR, "Parse error: the message is nested too deeply.")
    except ValueError as error:
        raise RpcError(PARSE_ERROR, "Parse error: %s." % escape_text(error, 200))


def is_call(msg):
    return isinstance(msg, dict) and msg.get("method") == "tools/call" and "id" in msg


def dispatch(session, line):
    """Handle one line from stdin: at once, or on the pool when it calls a tool."""
    try:
        msg = parse_line(line)
    except RpcError as error:
        write_message(session, {"jsonrpc": "2.0", "id": None, "error": error.to_json()})
        return
    if isinstance(msg, list):
        refusal = batch_refusal(session, msg)
        if refusal:
            write_message(session, rpc_error(None, INVALID_REQUEST, refusal))
        elif not any(is_call(item) for item in msg):
            answer_batch(session, msg)
        elif not session.queue_full():
            session.pool.submit(lambda: answer_batch(session, msg))
        else:  # each tool call in it is answered "busy", here and now
            _local.call = CallContext(session.config.timeout)
            _local.call.busy = True
            try:
                answer_batch(session, msg)
            finally:
                _local.call = None
        return
    if is_call(msg) and valid_id(msg.get("id")):
        call = CallContext(session.config.timeout)
        key = id_key(msg["id"])
        if session.queue_full():
            call.busy = True  # answered here and now, without the API
            answer_call(session, msg, call, key)
            return
        with session.lock:
            session.in_flight[key] = call
        session.pool.submit(lambda: answer_call(session, msg, call, key))
        return
    response = handle_message(session, msg)
    if response is not None:
        write_message(session, response)


def batch_refusal(session, batch):
    """Why a batch is not answered, or None. Batches exist only in the revisions of
    BATCH_VERSIONS, so only a connection that negotiated one of them with initialize
    gets them answered; before initialize the newest revision is in force, as for any
    other request (and 2025-03-26 forbids initialize inside a batch)."""
    if not batch:
        return "An empty batch is not a request."
    if session.protocol not in BATCH_VERSIONS:
        return ("JSON-RPC batches are not part of protocol revision %s%s (only of %s); send "
                "one message per line." % (session.revision(), "" if session.protocol else
                                          " (no initialize yet)", " and ".join(BATCH_VERSIONS[::-1])))
    if len(batch) > MAX_BATCH:
        return ("A batch may hold at most %d messages; this one holds %d. Nothing in it was "
                "done; send fewer at once." % (MAX_BATCH, len(batch)))
    return None


def answer_call(session, msg, call, key):
    call.start()
    _local.call = call
    try:
        response = None if call.cancelled else handle_message(session, msg)
    finally:
        _local.call = None
        with session.lock:
            if session.in_flight.get(key) is call:
                del session.in_flight[key]
    if response is not None and not call.cancelled:
        write_message(session, response)


def answer_batch(session, batch):
    responses = [r for r in (handle_message(session, item) for item in batch) if r is not None]
    if responses:
        write_message(session, responses)


def serve(config, stdin, out):
    """Read messages until EOF, then let calls in flight finish and return 0."""
    session = Session(config, out)
    for line in read_messages(stdin, config.max_line_bytes):
        dispatch(session, line)
        if session.closed:
            break
    log.debug("stdin closed; waiting for %d call(s) in flight", session.pool.pending)
    session.pool.join(config.timeout + 5)
    return 0


###############################################################################
# Command line ################################################################
###############################################################################

def setup_logging(config, debug, log_file=None):
    """Attach the handlers: stderr (WARNING, or DEBUG with --debug), and a log file
    (DEBUG) when asked. Every line goes through a formatter that blanks the key."""
    import logging

    class RedactingFormatter(logging.Formatter):
        def format(self, record):
            text = logging.Formatter.format(self, record)
            for secret in _secrets:
                text = text.replace(secret, "[redacted]")
            return text

    formatter = RedactingFormatter("%(asctime)s %(levelname)s agentjobs_mcp: %(message)s")
    logger = logging.getLogger("agentjobs_mcp")
    logger.handlers[:] = []
    logger.propagate = False
    stderr_handler = logging.StreamHandler(sys.stderr)
    stderr_handler.setLevel(logging.DEBUG if debug else logging.WARNING)
    stderr_handler.setFormatter(formatter)
    logger.addHandler(stderr_handler)
    level = logging.DEBUG if debug else logging.WARNING
    if log_file:
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setLevel(logging.DEBUG)
        file_handler.setFormatter(formatter)
        logger.addHandler(file_handler)
        level = logging.DEBUG
    logger.setLevel(level)
    LazyLog.debug_enabled = level == logging.DEBUG


def load_env_file(path):
    """KEY=VALUE lines: comments, blank lines, `export ` prefixes and quotes allowed.
    Raises ValueError naming the file and line of anything else."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise ValueError("cannot read env file %s: %s" % (path, error.strerror or error))
    values = {}
    for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not (name[0].isalpha() or name[0] == "_") or not all(
                ch.isalnum() or ch == "_" for ch in name) or not is_ascii(name):
            raise ValueError("%s line %d: expected NAME=VALUE, got %r" % (path, number, line[:80]))
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
            if line.partition("=")[2].strip()[0] == '"':
                value = value.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        elif value[:1] in "\"'":
            raise ValueError("%s line %d: the quote in %s is not closed" % (path, number, name))
        else:
            value = value.split(" #", 1)[0].rstrip()
        values[name] = value
    return values


CLIENTS = {
    "claude-desktop": "Claude Desktop: claude_desktop_config.json (Settings > Developer > Edit Config)",
    "claude-code": "Claude Code: run this command in a shell",
    "cursor": "Cursor: ~/.cursor/mcp.json (or .cursor/mcp.json in a project)",
    "vscode": "VS Code: .vscode/mcp.json in the workspace (or the user mcp.json)",
    "windsurf": "Windsurf: ~/.codeium/windsurf/mcp_config.json",
    "codex": "Codex: ~/.codex/config.toml",
}
KEY_PLACEHOLDER = "<your AICONNECT_API_KEY>"


def client_env(config, include_key):
    """The settings a client should pass: the key (or a placeholder), and every
    setting that is not at its default."""
    env = {"AICONNECT_API_KEY": (config.api_key if include_key and config.api_key
                                 else KEY_PLACEHOLDER)}
    for name, _, kind in SETTINGS:
        if kind != "secret" and config.sources[name] != "default" and config.values[name] is not None:
            value = config.values[name]
            env[name] = ("true" if value else "false") if kind == "bool" else str(value)
    env.setdefault("AICONNECT_API_URL", config.api_url)
    env.setdefault("DEFAULT_ORG_ID", config.org_id)
    return env


def format_client_config(name, config, include_key):
    """A ready-to-paste configuration for one MCP client."""
    command = sys.executable or "python3"
    script = os.path.abspath(__file__)
    env = client_env(config, include_key)
    server = {"command": command, "args": [script], "env": env}
    if name in ("claude-desktop", "cursor", "windsurf"):
        return json.dumps({"mcpServers": {"agentjobs": server}}, indent=2)
    if name == "vscode":
        return json.dumps({"servers": {"agentjobs": dict(server, type="stdio")}}, indent=2)
    if name == "claude-code":
        words = ["claude", "mcp", "add", "agentjobs"]
        for key in sorted(env):
            words += ["-e", "%s=%s" % (key, env[key])]
        return " ".join(shell_quote(w) for w in words + ["--", command, script])
    if name == "codex":
        toml = lambda value: json.dumps(value, ensure_ascii=False)  # a TOML basic string
        lines = ["[mcp_servers.agentjobs]", "command = " + toml(command),
                 "args = [%s]" % toml(script), "", "[mcp_servers.agentjobs.env]"]
        lines += ["%s = %s" % (key, toml(env[key])) for key in sorted(env)]
        return "\n".join(lines)
    raise ValueError(name)


def shell_quote(word):
    import shlex
    return shlex.quote(word)


def check_step(ok, label, detail, fix=None):
    """Print one doctor step; return whether it passed."""
    sys.stdout.write("%-5s %s: %s\n" % ("ok" if ok else "FAIL", label, detail))
    if not ok and fix:
        sys.stdout.write("      fix: %s\n" % fix)
    return ok


def run_check(config):
    """The doctor: settings, URL, DNS, TCP, TLS, then one read-only call with the key."""
    import socket
    import ssl
    import urllib.request
    sys.stdout.write("agentjobs-mcp %s doctor (Python %s, %s)\n\nSettings:\n" % (
        __version__, sys.version.split()[0], sys.executable))
    for line in config.describe():
        sys.stdout.write("  " + line + "\n")
    sys.stdout.write("\nChecks:\n")
    if not check_step(not config.problems, "settings", "valid" if not config.problems
                      else "; ".join(config.problems), "correct the setting named above"):
        return 1
    scheme, host, port = origin_of(config.api_url)
    check_step(True, "url", "%s (%s, host %s, port %d)" % (config.api_url, scheme, host, port))
    proxies = urllib.request.getproxies()
    proxy = proxies.get(scheme) if not urllib.request.proxy_bypass(host) else None
    target_host, target_port = host, port
    if proxy:
        proxy_scheme, target_host, target_port = origin_of(proxy if "://" in proxy else "http://" + proxy)
        check_step(True, "proxy", "%s_proxy is %s (for %s)" % (scheme, redact_proxy(proxy), host))
    else:
        check_step(True, "proxy", "none (direct connection)")
    try:
        addresses = socket.getaddrinfo(target_host, target_port, 0, socket.SOCK_STREAM)
        resolved = sorted(set(a[4][0] for a in addresses))
        check_step(True, "dns", "%s -> %s" % (target_host, ", ".join(resolved[:4])))
    except socket.gaierror as error:
        return int(not check_step(False, "dns", "cannot resolve %s: %s" % (target_host, error),
                                  "check the host in AICONNECT_API_URL (or the proxy), and DNS"))
    try:
        sock = socket.create_connection((target_host, target_port), timeout=min(config.timeout, 10))
    except OSError as error:
        return int(not check_step(False, "connect", "cannot connect to %s:%d: %s" % (
            target_host, target_port, error.strerror or error),
            "is the API (or proxy) up and reachable from here? check firewalls and AICONNECT_API_URL"))
    check_step(True, "connect", "%s:%d reachable%s" % (target_host, target_port,
                                                       " (the proxy)" if proxy else ""))
    try:
        if scheme == "https" and not proxy:
            ca = config.ca_bundle or os.environ.get("SSL_CERT_FILE") or ssl.get_default_verify_paths().cafile
            context = ssl.create_default_context(cafile=config.ca_bundle)
            try:
                tls = context.wrap_socket(sock, server_hostname=host)
            except (ssl.SSLError, ssl.CertificateError, OSError) as error:
                return int(not check_step(False, "tls", "handshake with %s failed: %s" % (host, error),
                                          "set AGENTJOBS_CA_BUNDLE (or SSL_CERT_FILE) to the PEM file "
                                          "of the CA that signs the API's (or proxy's) certificate"))
            check_step(True, "tls", "%s, certificate verified (CA file: %s)" % (tls.version(), ca or "system default"))
            tls.close()
        elif scheme == "https":
            check_step(True, "tls", "through the proxy: verified by the API call below")
        else:
            check_step(True, "tls", "not used (http URL; the key travels unencrypted)")
    finally:
        sock.close()
    if not config.api_key:
        return int(not check_step(False, "api key", "AICONNECT_API_KEY is not set",
                                  "set AICONNECT_API_KEY in the environment or an --env-file"))
    _local.call = CallContext(config.timeout)
    try:
        payload = api_request(config, "GET", ("services", "agent-jobs"), [("limit", 1)])
    except ToolError as error:
        status = getattr(error, "status", 0)
        fix = {401: "the key is wrong or lacks READ on SERVICES: check AICONNECT_API_KEY",
               403: "the key lacks READ access to SERVICES, or DEFAULT_ORG_ID is not its organization",
               404: "AICONNECT_API_URL should end in /api/v0 (e.g. %s)" % DEFAULT_API_URL}.get(
                   status, error.hint)
        return int(not check_step(False, "api call", "GET /services/agent-jobs?limit=1: " + error.message, fix))
    finally:
        _local.call = None
    meta = payload.get("meta") if isinstance(payload.get("meta"), dict) else {}
    check_step(True, "api call", "GET /services/agent-jobs?limit=1 answered; the key works "
               "(%s job(s) visible)" % meta.get("total", "?"))
    sys.stdout.write("\nAll checks passed.\n")
    return 0


def redact_proxy(url):
    """A proxy URL without its password."""
    from urllib.parse import urlsplit
    parts = urlsplit(url if "://" in url else "http://" + url)
    if parts.password:
        return url.replace(parts.password, "****")
    return url


def parse_args(argv):
    import argparse
    parser = argparse.ArgumentParser(
        prog="agentjobs_mcp.py",
        description="MCP server (stdio) for the AI Connect Agent Jobs API. Without options "
                    "it serves MCP on stdin/stdout, as an MCP client starts it.",
        epilog="Settings come from the environment: AICONNECT_API_KEY, AICONNECT_API_URL, "
               "DEFAULT_ORG_ID, DEFAULT_TIMEZONE, AGENTJOBS_TIMEOUT, AGENTJOBS_RETRIES, "
               "AGENTJOBS_MAX_CONCURRENCY, AGENTJOBS_MAX_QUEUE, AGENTJOBS_MAX_RESPONSE_BYTES, "
               "AGENTJOBS_MAX_LINE_BYTES, "
               "AGENTJOBS_CA_BUNDLE, MCP_DEBUG.")
    parser.add_argument("--version", action="version", version="%s %s" % (SERVER_NAME, __version__))
    parser.add_argument("--config", action="store_true",
                        help="print the effective settings (the key only as set / not set) and exit")
    parser.add_argument("--check", action="store_true",
                        help="check settings, DNS, connection, TLS and the key against the API, and exit")
    parser.add_argument("--client-config", metavar="NAME", choices=sorted(CLIENTS),
                        help="print a ready-to-paste config for an MCP client: %s" % ", ".join(sorted(CLIENTS)))
    parser.add_argument("--include-key", action="store_true",
                        help="with --client-config: put the real key in it instead of a placeholder")
    parser.add_argument("--env-file", metavar="PATH",
                        help="read KEY=VALUE settings from this file (the environment wins)")
    parser.add_argument("--log-file", metavar="PATH",
                        help="also write debug traces to this file (the key is redacted)")
    parser.add_argument("--debug", action="store_true", help="debug traces on stderr (as MCP_DEBUG=true)")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the command line; return the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    opts = parse_args(argv) if argv else None  # argparse costs start-up time: only when needed
    try:
        file_env = load_env_file(opts.env_file) if opts and opts.env_file else {}
    except ValueError as error:
        sys.stderr.write("agentjobs_mcp.py: error: %s\n" % error)
        return 2
    config = Config(os.environ, file_env, debug=bool(opts and opts.debug))
    if config.api_key and len(config.api_key) >= MIN_REDACTED_LENGTH:
        _secrets.append(config.api_key)
    if opts and opts.config:
        sys.stdout.write("\n".join(config.describe()) + "\n")
        return 0
    if opts and opts.client_config:
        sys.stdout.write(format_client_config(opts.client_config, config, opts.include_key) + "\n")
        sys.stderr.write("Paste into %s\n" % CLIENTS[opts.client_config])
        return 0
    if config.debug or (opts and opts.log_file):
        try:
            setup_logging(config, config.debug, opts.log_file if opts else None)
        except OSError as error:
            sys.stderr.write("agentjobs_mcp.py: error: cannot open log file: %s\n" % error)
            return 2
    if opts and opts.check:
        return run_check(config)
    for problem in config.problems:
        log.warning("configuration problem: %s", problem)
    stdin, out = binary_stdio()
    import signal

    def on_sigterm(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, on_sigterm)
    log.debug("agentjobs-mcp %s serving on stdio (Python %s); %s", __version__,
              sys.version.split()[0], ", ".join(config.describe()))
    try:
        return serve(config, stdin, out)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

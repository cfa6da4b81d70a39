"""Tests for agentjobs_mcp.py: the real server as a subprocess, over real pipes,
against the project's stand-in Agent Jobs API on 127.0.0.1 (standin/).

Run: python3 test_agentjobs_mcp.py   (or make test); it ends with "N passed, N failed".
The classes run in parallel worker processes (-j N sets how many, -j1 or --serial runs
them in one process); python3 test_agentjobs_mcp.py ClassName runs one class.
Plain unittest, standard library only, so every CPython 3.6-3.13 runs it.
"""

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "agentjobs_mcp.py")
sys.path.insert(0, HERE)

import agentjobs_mcp  # noqa: E402  (pure parts are tested in-process)
from standin import StandInAPI  # noqa: E402

KEY = "sk-test-4f9c2b7e1d0a-RECOGNISABLE"
READ_TIMEOUT = 15.0
LATEST = "2025-11-25"
ALL_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
# A path that exists on no machine, spelled the way this OS spells paths.
MISSING_DIR = os.path.join(tempfile.gettempdir(), "agentjobs-test-no-such-folder")


###############################################################################
# Harness #####################################################################
###############################################################################

def clean_env(**extra):
    """The environment for a server process: no proxies or settings from outside."""
    env = dict((k, v) for k, v in os.environ.items() if not (
        k.upper().endswith("_PROXY") or k.startswith(("AICONNECT_", "AGENTJOBS_", "DEFAULT_"))
        or k in ("MCP_DEBUG", "SSL_CERT_FILE")))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


class ServerProcess(object):
    """agentjobs_mcp.py in a subprocess; lines in, lines out, with timeouts."""

    def __init__(self, api=None, args=(), **env):
        base = {"AICONNECT_API_KEY": KEY}
        if api is not None:
            base["AICONNECT_API_URL"] = api.url
        base.update(env)
        self.proc = subprocess.Popen(
            [sys.executable, SERVER] + list(args), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(**base))
        self.lines = queue.Queue()
        self.stdout_raw = []
        self.stderr_chunks = []
        self._next_id = 0
        self._out = threading.Thread(target=self._read_stdout)
        self._err = threading.Thread(target=self._read_stderr)
        for thread in (self._out, self._err):
            thread.daemon = True
            thread.start()

    def _read_stdout(self):
        for line in iter(self.proc.stdout.readline, b""):
            self.stdout_raw.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def _read_stderr(self):
        for chunk in iter(lambda: self.proc.stderr.read1(65536) if hasattr(
                self.proc.stderr, "read1") else self.proc.stderr.readline(), b""):
            self.stderr_chunks.append(chunk)

    @property
    def stderr(self):
        return b"".join(self.stderr_chunks).decode("utf-8", "replace")

    def send_raw(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, obj):
        self.send_raw(json.dumps(obj).encode("utf-8") + b"\n")

    def read(self, timeout=READ_TIMEOUT):
        """The next message written to stdout (parsed), or AssertionError."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no answer within %s s; stderr:\n%s" % (timeout, self.stderr))
        if line is None:
            raise AssertionError("the server closed stdout; stderr:\n%s" % self.stderr)
        assert line.endswith(b"\n"), line
        return json.loads(line.decode("utf-8"))

    def nothing_more(self, wait=0.3):
        """True when no further line comes within `wait` seconds."""
        try:
            line = self.lines.get(timeout=wait)
        except queue.Empty:
            return True
        self.lines.put(line)
        return False

    def new_id(self):
        self._next_id += 1
        return self._next_id

    def request(self, method, params=None, request_id=None):
        request_id = self.new_id() if request_id is None else request_id
        message = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        response = self.read()
        assert response.get("id") == request_id, response
        return response

    def notify(self, method, params=None):
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def initialize(self, version=LATEST):
        response = self.request("initialize", {
            "protocolVersion": version, "capabilities": {},
            "clientInfo": {"name": "test-client", "version": "1.0"}})
        self.notify("notifications/initialized")
        return response

    def call(self, name, arguments=None):
        """tools/call -> the result object (asserting there was no JSON-RPC error)."""
        params = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        response = self.request("tools/call", params)
        assert "result" in response, response
        return response["result"]

    def close(self, timeout=5.0):
        """Close stdin and return the exit code; the server must exit promptly."""
        try:
            self.proc.stdin.close()
        except (OSError, ValueError):
            pass
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except (OSError, ValueError):
                pass


def text_of(result):
    assert [c["type"] for c in result["content"]] == ["text"], result
    return result["content"][0]["text"]


class ApiTestCase(unittest.TestCase):
    """A stand-in API for the class, reset before each test, and helpers for servers.

    call_ok/call_error without a server use the class's shared server (one per revision):
    a one-off call with default settings needs a real server, not a newly started one.
    Tests that look at a server's exit, stderr or whole stdout start their own."""

    version = LATEST

    @classmethod
    def setUpClass(cls):
        cls.api = StandInAPI(key=KEY)
        cls.api.start()
        cls._shared = {}

    @classmethod
    def tearDownClass(cls):
        for server in cls._shared.values():
            server.kill()
        cls.api.stop()

    def setUp(self):
        self.api.reset()
        self._servers = []

    def tearDown(self):
        for server in self._servers:
            server.kill()

    def server(self, initialize=True, args=(), **env):
        server = ServerProcess(self.api, args=args, **env)
        self._servers.append(server)
        if initialize:
            server.initialize(self.version)
        return server

    def shared_server(self):
        """The class's server for this revision; a new one if it exited or has an answer no
        test read (a failed test's late reply must not be the next test's answer)."""
        server = self._shared.get(self.version)
        if server is None or server.proc.poll() is not None or not server.lines.empty():
            if server is not None:
                server.kill()
            server = self._shared[self.version] = ServerProcess(self.api)
            server.initialize(self.version)
        return server

    def call_ok(self, name, arguments=None, server=None):
        result = (server or self.shared_server()).call(name, arguments)
        self.assertFalse(result["isError"], text_of(result))
        return result

    def call_error(self, name, arguments=None, server=None):
        result = (server or self.shared_server()).call(name, arguments)
        self.assertTrue(result["isError"], text_of(result))
        self.assertNotIn("structuredContent", result)
        return text_of(result)

    def only_request(self):
        self.assertEqual(len(self.api.requests), 1, [r.raw_path for r in self.api.requests])
        return self.api.requests[0]

    def assert_no_request(self):
        self.assertEqual([r.raw_path for r in self.api.requests], [])

    def assert_query(self, request, expected):
        self.assertEqual(request.query, dict((k, [str(v)]) for k, v in expected.items()))


def check_schema(schema, value, path="$"):
    """A small JSON-Schema check (the subset output schemas use): a list of problems."""
    problems = []
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        actual = agentjobs_mcp.json_type_of(value)
        if not (actual in kinds or actual == "integer" and "number" in kinds):
            return ["%s: %s is not %s" % (path, actual, kinds)]
    if isinstance(value, dict):
        for name in schema.get("required", ()):
            if name not in value:
                problems.append("%s: missing %s" % (path, name))
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                problems += check_schema(sub, value[name], path + "." + name)
        if schema.get("additionalProperties") is False:
            extra = set(value) - set(schema.get("properties", {}))
            if extra:
                problems.append("%s: unexpected %s" % (path, sorted(extra)))
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems += check_schema(schema["items"], item, "%s[%d]" % (path, index))
    if "enum" in schema and value not in schema["enum"]:
        problems.append("%s: %r not in enum" % (path, value))
    return problems


###############################################################################
# Protocol ####################################################################
###############################################################################

class ProtocolTest(ApiTestCase):

    def test_initialize_answers_each_supported_revision_with_itself(self):
        for version in ALL_VERSIONS:
            server = self.server(initialize=False)
            result = server.initialize(version)["result"]
            self.assertEqual(result["protocolVersion"], version)
            self.assertEqual(result["capabilities"], {"tools": {"listChanged": False}})
            self.assertEqual(result["serverInfo"]["name"], "agentjobs-mcp")
            self.assertEqual(result["serverInfo"]["version"], agentjobs_mcp.__version__)
            self.assertIn("get_context", result["instructions"])
            self.assertIn("list_jobs", result["instructions"])
            self.assertEqual("title" in result["serverInfo"], version >= "2025-06-18")
            self.assertEqual(server.close(), 0)

    def test_initialize_with_unknown_revision_answers_the_newest(self):
        server = self.server(initialize=False)
        self.assertEqual(server.initialize("1999-01-01")["result"]["protocolVersion"], LATEST)

    def test_initialize_without_protocol_version_is_invalid_params(self):
        server = self.server(initialize=False)
        response = server.request("initialize", {"capabilities": {}})
        self.assertEqual(response["error"]["code"], -32602)
        self.assertIn("protocolVersion", response["error"]["message"])
        self.assertEqual(server.request("ping")["result"], {})

    def test_ping_answers_empty_object(self):
        self.assertEqual(self.server().request("ping"), {"jsonrpc": "2.0", "id": 1 + 1, "result": {}})

    def test_notifications_are_never_answered(self):
        server = self.server()
        server.notify("notifications/initialized")
        server.notify("notifications/unknown-thing", {"x": 1})
        server.notify("tools/list")
        server.notify("notifications/cancelled", {"requestId": 999})
        server.send({"jsonrpc": "1.0", "method": "whatever"})
        response = server.request("ping", request_id="after")
        self.assertEqual(response["result"], {})
        self.assertTrue(server.nothing_more())

    def test_tools_list_and_call_work_without_initialize(self):
        server = self.server(initialize=False)
        self.assertEqual(len(server.request("tools/list")["result"]["tools"]), 8)
        self.assertFalse(server.call("get_context")["isError"])

    def test_parse_error_has_null_id_and_the_next_request_works(self):
        server = self.server()
        for raw in (b"{not json\n", b'{"jsonrpc": "2.0", "id": 1,\n', b"\xff\xfe\x00garbage\n",
                    b'{"jsonrpc":"2.0","id":1,"method":"ping","x":NaN}\n'):
            server.send_raw(raw)
            response = server.read()
            self.assertEqual(response["id"], None, raw)
            self.assertEqual(response["error"]["code"], -32700, raw)
            self.assertEqual(server.request("ping")["result"], {})

    def test_invalid_utf8_is_a_parse_error(self):
        server = self.server()
        server.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":"\xc3\x28"}}\n')
        response = server.read()
        self.assertEqual((response["id"], response["error"]["code"]), (None, -32700))
        self.assertIn("UTF-8", response["error"]["message"])

    def test_valid_json_that_is_not_a_request_is_invalid_request(self):
        server = self.server()
        cases = [(b"42", None), (b'"ping"', None), (b"null", None), (b"{}", None),
                 (b'{"jsonrpc":"2.0","id":5}', 5),
                 (b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', None),
                 (b'{"jsonrpc":"2.0","id":true,"method":"ping"}', None),
                 (b'{"jsonrpc":"2.0","id":null,"method":"ping"}', None),
                 (b'{"id":7,"method":"ping"}', 7),
                 (b'{"jsonrpc":"2.0","id":8,"method":42}', 8),
                 (b'{"jsonrpc":"2.0","id":9,"method":"ping","params":"x"}', 9)]
        for raw, expected_id in cases:
            server.send_raw(raw + b"\n")
            response = server.read()
            self.assertEqual(response["error"]["code"], -32600, raw)
            self.assertEqual(response["id"], expected_id, raw)
            self.assertEqual(server.request("ping")["result"], {})

    def test_unknown_method_is_method_not_found(self):
        server = self.server()
        response = server.request("resources/list")
        self.assertEqual(response["error"]["code"], -32601)
        self.assertIn("resources/list", response["error"]["message"])
        self.assertEqual(server.request("ping")["result"], {})

    def test_params_that_are_an_array_are_invalid_params(self):
        server = self.server()
        server.send({"jsonrpc": "2.0", "id": "p", "method": "tools/list", "params": [1]})
        self.assertEqual(server.read()["error"]["code"], -32602)

    def test_unknown_tool_is_invalid_params_listing_the_tools(self):
        server = self.server()
        response = server.request("tools/call", {"name": "delete_everything", "arguments": {}})
        self.assertEqual(response["error"]["code"], -32602)
        self.assertIn("delete_everything", response["error"]["message"])
        for entry in agentjobs_mcp.TOOLS:
            self.assertIn(entry.name, response["error"]["message"])
        self.assertEqual(server.request("ping")["result"], {})
        self.assert_no_request()

    def test_tools_call_without_name_is_invalid_params(self):
        server = self.server()
        self.assertEqual(server.request("tools/call", {"arguments": {}})["error"]["code"], -32602)

    def test_responses_from_the_client_are_ignored(self):
        server = self.server()
        server.send({"jsonrpc": "2.0", "id": 77, "result": {}})
        server.send({"jsonrpc": "2.0", "id": 78, "error": {"code": 1, "message": "x"}})
        self.assertEqual(server.request("ping", request_id="next")["result"], {})
        self.assertTrue(server.nothing_more())

    def test_batch_is_answered_with_an_array_without_notifications(self):
        server = self.server()
        server.send([{"jsonrpc": "2.0", "id": "a", "method": "ping"},
                     {"jsonrpc": "2.0", "method": "notifications/initialized"},
                     {"jsonrpc": "2.0", "id": "b", "method": "nope"},
                     {"jsonrpc": "2.0", "id": "c", "method": "tools/call",
                      "params": {"name": "cancel_job", "arguments": {"job_id": "job-0001"}}}])
        responses = server.read()
        self.assertEqual([r["id"] for r in responses], ["a", "b", "c"])
        self.assertEqual(responses[0]["result"], {})
        self.assertEqual(responses[1]["error"]["code"], -32601)
        self.assertFalse(responses[2]["result"]["isError"])

    def test_batch_of_notifications_gets_no_answer_and_empty_batch_is_invalid(self):
        server = self.server()
        server.send([{"jsonrpc": "2.0", "method": "notifications/initialized"}])
        server.send_raw(b"[]\n")
        response = server.read()
        self.assertEqual((response["id"], response["error"]["code"]), (None, -32600))
        self.assertTrue(server.nothing_more())

    def test_blank_lines_and_crlf_are_tolerated(self):
        server = self.server()
        server.send_raw(b"\n\r\n   \n" + b'{"jsonrpc":"2.0","id":"crlf","method":"ping"}\r\n')
        self.assertEqual(server.read(), {"jsonrpc": "2.0", "id": "crlf", "result": {}})

    def test_a_bug_in_a_method_handler_is_internal_error_and_serving_goes_on(self):
        code = ("import sys; sys.path.insert(0, %r); import agentjobs_mcp as m\n"
                "def boom(*args): raise KeyError('injected')\n"
                "m.METHODS['ping'] = boom\nsys.exit(m.main())\n" % HERE)
        proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
        out, err = proc.communicate(b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n'
                                    b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n', timeout=20)
        lines = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(lines[0]["error"]["code"], -32603)
        self.assertNotIn("injected", lines[0]["error"]["message"])
        self.assertIn("KeyError: 'injected'", err.decode())
        self.assertEqual(len(lines[1]["result"]["tools"]), 8)

    def test_a_bug_in_a_tool_is_an_error_result_and_serving_goes_on(self):
        code = ("import sys; sys.path.insert(0, %r); import agentjobs_mcp as m\n"
                "m.TOOLS_BY_NAME['get_context'] = m.TOOLS_BY_NAME['get_context']._replace(\n"
                "    handler=lambda config, args: 1 / 0)\nsys.exit(m.main())\n" % HERE)
        proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
        out, err = proc.communicate(
            b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_context"}}\n'
            b'{"jsonrpc":"2.0","id":2,"method":"ping"}\n', timeout=20)
        answers = dict((a["id"], a) for a in (json.loads(line) for line in out.splitlines()))
        self.assertTrue(answers[1]["result"]["isError"])
        self.assertIn("Internal error in get_context", answers[1]["result"]["content"][0]["text"])
        self.assertIn("ZeroDivisionError", err.decode())
        self.assertEqual(answers[2]["result"], {})

    def test_stdout_carries_only_protocol_lines(self):
        server = self.server()
        server.send_raw(b"oops\n")
        self.assertEqual(server.read()["error"]["code"], -32700)
        server.call("cancel_job", {"job_id": "job-0001"})
        server.call("get_job", {"job_id": "nope"})
        self.assertEqual(server.close(), 0)
        for line in server.stdout_raw:
            message = json.loads(line.decode("ascii"))
            self.assertEqual(message["jsonrpc"], "2.0")

    def test_output_bytes_do_not_depend_on_locale_or_io_encoding(self):
        job_id = "job-\u00e9\u00e8-\u65e5\u672c-\U0001f600"
        outputs = []
        for env in ({"PYTHONIOENCODING": "utf-8", "LANG": "C.UTF-8"},
                    {"PYTHONIOENCODING": "cp1252", "LANG": "C", "LC_ALL": "C"}):
            server = self.server(**env)
            server.call("get_job", {"job_id": job_id})
            self.assertEqual(server.close(), 0)
            outputs.append(b"".join(server.stdout_raw))
        self.assertEqual(outputs[0], outputs[1])
        self.assertIn(job_id, json.loads(outputs[0].splitlines()[-1].decode("ascii"))
                      ["result"]["content"][0]["text"])
        raw = [r.raw_path for r in self.api.requests]
        self.assertEqual(raw[0], raw[1])
        self.assertIn("job-%C3%A9%C3%A8-%E6%97%A5%E6%9C%AC-%F0%9F%98%80", raw[0])

    def test_eof_exits_zero_promptly(self):
        server = self.server()
        started = time.monotonic()
        self.assertEqual(server.close(), 0)
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(server.stderr, "")

    def test_eof_lets_a_call_in_flight_finish_and_answer(self):
        self.api.latency = 0.5
        server = self.server()
        server.send({"jsonrpc": "2.0", "id": "slow", "method": "tools/call",
                     "params": {"name": "cancel_job", "arguments": {"job_id": "job-0001"}}})
        server.proc.stdin.close()
        response = server.read()
        self.assertEqual(response["id"], "slow")
        self.assertFalse(response["result"]["isError"])
        self.assertEqual(server.proc.wait(10), 0)

    def test_sigterm_exits_quietly(self):
        if os.name == "nt":
            self.skipTest("Windows delivers no SIGTERM to another process (terminate() is TerminateProcess): "
                          "the quiet exit on SIGTERM is not tested there")
        server = self.server()
        server.proc.send_signal(signal.SIGTERM)
        self.assertIn(server.proc.wait(5), (0, 143, -15))
        time.sleep(0)  # the stderr reader may still be draining
        server._err.join(5)
        self.assertNotIn("Traceback", server.stderr)

    def test_ctrl_c_exits_quietly(self):
        if os.name == "nt":
            self.skipTest("Windows sends Ctrl+C to a whole console, not to one child process: "
                          "the quiet exit on SIGINT is not tested there")
        server = self.server()
        server.proc.send_signal(signal.SIGINT)
        self.assertIn(server.proc.wait(5), (0, 130, -2))
        server._err.join(5)
        self.assertNotIn("Traceback", server.stderr)


###############################################################################
# tools/list ##################################################################
###############################################################################

# The contract (shared/tools.md): names, titles, annotations, parameter names.
CONTRACT = {
    "cancel_job": ("Cancel Agent Job", "destructive", ["job_id", "reason"], ["job_id"]),
    "get_job": ("Get Agent Job", "read", ["job_id", "org_id", "include_activities",
                                          "include_limit", "include_sort"], ["job_id"]),
    "list_jobs": ("List Agent Jobs", "read", [
        "org_id", "status", "scheduled_at", "scheduled_at_gte", "scheduled_at_lte",
        "created_at_gte", "created_at_lte", "job_type_id", "channel_code", "limit", "offset",
        "sort", "include_activities", "activities_limit_per_job", "activities_total_limit",
        "activities_sort"], []),
    "get_jobs_stats": ("Get Job Statistics", "read", [
        "org_id", "scheduled_at_gte", "scheduled_at_lte", "created_at_gte", "created_at_lte",
        "job_type_id", "channel_code", "tags"], []),
    "get_job_activities": ("Get Agent Job Activities", "read", [
        "job_id", "org_id", "status", "activity_type_code", "source_type", "limit", "offset",
        "sort"], ["job_id"]),
    "create_job": ("Create Agent Job", "create", [
        "job_type_id", "target_channel", "params", "scheduled_at", "config", "delay"],
        ["job_type_id", "target_channel"]),
    "get_job_type": ("Get Job Type Configuration", "read", ["job_type_id", "org_id"], ["job_type_id"]),
    "get_context": ("Get Server Context", "read", ["org_id"], []),
}
HINTS = {
    "read": {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False},
    "destructive": {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True,
                    "openWorldHint": False},
    "create": {"readOnlyHint": False, "destructiveHint": False, "idempotentHint": False,
               "openWorldHint": False},
}


class ToolsListTest(ApiTestCase):

    def tools(self, version):
        self.version = version
        return self.server().request("tools/list", {"cursor": "ignored"})["result"]

    def test_eight_tools_match_the_contract(self):
        result = self.tools(LATEST)
        self.assertNotIn("nextCursor", result)
        self.assertEqual([t["name"] for t in result["tools"]], list(CONTRACT))
        for listed in result["tools"]:
            title, kind, params, required = CONTRACT[listed["name"]]
            schema = listed["inputSchema"]
            self.assertEqual(listed["title"], title)
            self.assertEqual(listed["annotations"], dict(HINTS[kind], title=title))
            self.assertEqual(sorted(schema["properties"]), sorted(params), listed["name"])
            self.assertEqual(sorted(schema.get("required", [])), sorted(required), listed["name"])
            self.assertEqual(schema["type"], "object")
            self.assertIs(schema["additionalProperties"], False)
            for name, prop in schema["properties"].items():
                self.assertTrue(prop.get("description"), "%s.%s" % (listed["name"], name))
                self.assertIn("type", prop)
                self.assertFalse(set(prop) & {"$ref", "anyOf", "oneOf", "allOf"})
            self.assertEqual(listed["outputSchema"]["type"], "object")
            self.assertGreater(len(listed["description"]), 60)

    def test_older_revisions_get_no_title_or_output_schema(self):
        for version in ("2024-11-05", "2025-03-26"):
            for listed in self.tools(version)["tools"]:
                self.assertNotIn("title", listed)
                self.assertNotIn("outputSchema", listed)
                self.assertEqual("annotations" in listed, version == "2025-03-26")

    def test_ranges_enums_and_defaults_are_in_the_schema_and_the_description(self):
        tools = dict((t["name"], t["inputSchema"]["properties"]) for t in self.tools(LATEST)["tools"])
        limit = tools["get_job"]["include_limit"]
        self.assertEqual((limit["minimum"], limit["maximum"], limit["default"]), (1, 100, 50))
        self.assertIn("1-100", limit["description"])
        self.assertIn("Default 50", limit["description"])
        self.assertEqual(tools["list_jobs"]["limit"]["default"], 20)
        self.assertEqual(tools["list_jobs"]["activities_total_limit"]["maximum"], 3000)
        self.assertEqual(tools["create_job"]["target_channel"]["properties"]["platform"]["enum"],
                         ["whatsapp", "slack", "web"])
        self.assertIn("RUNNING", tools["list_jobs"]["status"]["enum"])
        self.assertIn("running", tools["list_jobs"]["status"]["enum"])


###############################################################################
# cancel_job ##################################################################
###############################################################################

class CancelJobTest(ApiTestCase):

    def running_job(self, **fields):
        fields.setdefault("job_status", "RUNNING")
        return self.api.add_job(**fields)["job_id"]

    def test_cancel_sends_delete_with_the_documented_headers_and_no_body(self):
        job_id = self.running_job()
        result = self.call_ok("cancel_job", {"job_id": job_id})
        request = self.only_request()
        self.assertEqual(request.method, "DELETE")
        self.assertEqual(request.raw_path, "/api/v0/services/agent-jobs/" + job_id)
        self.assertEqual(request.headers["authorization"], "Bearer " + KEY)
        self.assertEqual(request.headers["x-client-type"], "mcp")
        self.assertEqual(request.headers["accept"], "application/json")
        self.assertRegex(request.headers["user-agent"], r"^agentjobs-mcp/%s Python/3\.\d+$"
                         % re.escape(agentjobs_mcp.__version__))
        self.assertNotIn("content-type", request.headers)
        self.assertEqual(request.body, b"")
        text = text_of(result)
        self.assertTrue(text.startswith("Successfully canceled job:\n"), text)
        self.assertIn("Job ID: " + job_id, text)
        self.assertIn("Status: CANCELED", text)
        self.assertEqual(self.api.jobs[job_id]["job_status"], "CANCELED")
        self.assertEqual(result["structuredContent"]["job"]["job_id"], job_id)
        self.assertTrue(result["structuredContent"]["canceled"])

    def test_cancel_sends_reason_as_json_body(self):
        job_id = self.running_job()
        self.call_ok("cancel_job", {"job_id": job_id, "reason": "Customer asked to stop \u00e9"})
        request = self.only_request()
        self.assertEqual(request.headers["content-type"], "application/json")
        self.assertEqual(request.json, {"reason": "Customer asked to stop \u00e9"})

    def test_cancel_with_a_message_only_reply_names_the_job(self):
        job_id = self.running_job()
        self.api.cancel_reply = "message"
        result = self.call_ok("cancel_job", {"job_id": job_id})
        self.assertIn("Successfully canceled job: " + job_id, text_of(result))
        self.assertIn("successfully canceled", text_of(result))
        self.assertEqual(result["structuredContent"]["job_id"], job_id)

    def test_cancel_of_a_finished_job_is_an_error_with_its_status(self):
        job_id = self.api.add_job(job_status="COMPLETED")["job_id"]
        text = self.call_error("cancel_job", {"job_id": job_id})
        self.assertIn("already finished (status: COMPLETED)", text)
        self.assertIn("409", text)
        self.assertEqual([r.method for r in self.api.requests], ["DELETE", "GET"])

    def test_cancelling_twice_gives_409_the_second_time(self):
        job_id = self.running_job()
        server = self.server()
        self.assertFalse(server.call("cancel_job", {"job_id": job_id})["isError"])
        second = server.call("cancel_job", {"job_id": job_id})
        self.assertTrue(second["isError"])
        self.assertIn("status: CANCELED", text_of(second))

    def test_cancel_of_an_unknown_job_says_no_job_in_organization(self):
        text = self.call_error("cancel_job", {"job_id": "job-does-not-exist"})
        self.assertIn("No job 'job-does-not-exist' in organization 'aiconnect'", text)
        self.assertIn("list_jobs", text)

    def test_cancel_with_a_wrong_key_says_check_the_key_variable(self):
        text = self.call_error("cancel_job", {"job_id": "job-0001"},
                               server=self.server(AICONNECT_API_KEY="wrong-key"))
        self.assertIn("401", text)
        self.assertIn("AICONNECT_API_KEY", text)
        self.assertNotIn("wrong-key", text)

    def test_cancel_without_a_key_names_the_variable_and_sends_nothing(self):
        text = self.call_error("cancel_job", {"job_id": "job-0001"},
                               server=self.server(AICONNECT_API_KEY=None))
        self.assertIn("AICONNECT_API_KEY is not set", text)
        self.assert_no_request()

    def test_cancel_of_another_organizations_job_is_403(self):
        self.api.add_fault(status=403, body={"message": "Job belongs to another organization"})
        text = self.call_error("cancel_job", {"job_id": "job-0001"})
        self.assertIn("403", text)
        self.assertIn("Job belongs to another organization", text)
        self.assertIn("org", text)

    def test_cancel_400_passes_the_apis_message(self):
        self.api.add_fault(status=400, body={"message": "job_id is required"})
        text = self.call_error("cancel_job", {"job_id": "job-0001"})
        self.assertIn("400", text)
        self.assertIn("job_id is required", text)

    def test_cancel_500_with_json_message(self):
        self.api.add_fault(status=500, body={"error": "database unavailable"})
        text = self.call_error("cancel_job", {"job_id": "job-0001"})
        self.assertIn("500", text)
        self.assertIn("database unavailable", text)
        self.assertIn("try again", text)

    def test_cancel_5xx_with_html_body_shows_its_first_200_characters(self):
        html = "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 500 + "</body></html>"
        self.api.add_fault(status=502, body=html, content_type="text/html", times=None)
        text = self.call_error("cancel_job", {"job_id": "job-0001"},
                               server=self.server(AGENTJOBS_RETRIES="0"))
        self.assertIn("502", text)
        self.assertIn("HTML body: <html><head><title>502 Bad Gateway", text)
        self.assertNotIn("x" * 201, text)

    def test_cancel_with_a_non_json_success_body_is_an_error(self):
        self.api.add_fault(status=200, body="OK, done", content_type="text/plain")
        text = self.call_error("cancel_job", {"job_id": "job-0001"})
        self.assertIn("not JSON", text)
        self.assertIn("OK, done", text)

    def test_cancel_timeout_says_the_api_did_not_answer(self):
        self.api.add_fault(action="hang", delay=10)
        started = time.monotonic()
        text = self.call_error("cancel_job", {"job_id": "job-0001"},
                               server=self.server(AGENTJOBS_TIMEOUT="1"))
        self.assertIn("did not answer within 1 seconds", text)
        self.assertIn("AGENTJOBS_TIMEOUT", text)
        self.assertLess(time.monotonic() - started, 8)

    def test_cancel_connection_refused(self):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        server = ServerProcess(None, AICONNECT_API_URL="http://127.0.0.1:%d/api/v0" % port,
                               AGENTJOBS_RETRIES="0")
        self._servers.append(server)
        result = server.call("cancel_job", {"job_id": "job-0001"})
        self.assertTrue(result["isError"])
        self.assertIn("connection refused", text_of(result))

    def test_cancel_dns_failure(self):
        server = ServerProcess(None, AICONNECT_API_URL="http://no-such-host.invalid/api/v0",
                               AGENTJOBS_RETRIES="0")
        self._servers.append(server)
        result = server.call("cancel_job", {"job_id": "job-0001"})
        self.assertTrue(result["isError"])
        self.assertIn("Could not resolve the API host", text_of(result))

    def test_cancel_tls_failure_points_at_the_ca_bundle(self):
        server = ServerProcess(None, AICONNECT_API_URL=self.api.url.replace("http:", "https:"),
                               AGENTJOBS_RETRIES="0")
        self._servers.append(server)
        result = server.call("cancel_job", {"job_id": "job-0001"})
        self.assertTrue(result["isError"])
        self.assertIn("TLS", text_of(result))
        self.assertIn("AGENTJOBS_CA_BUNDLE", text_of(result))

    def test_cancel_dropped_connection(self):
        self.api.add_fault(action="drop", times=None)
        text = self.call_error("cancel_job", {"job_id": "job-0001"},
                               server=self.server(AGENTJOBS_RETRIES="0"))
        self.assertIn("dropped", text)

    def test_job_id_is_one_percent_encoded_segment(self):
        cases = {"../../organizations/x": "..%2F..%2Forganizations%2Fx", "a/b": "a%2Fb",
                 "?x=1": "%3Fx%3D1", "#frag": "%23frag", "%2e%2e": "%252e%252e",
                 "a b": "a%20b", "..": "..", "\U0001f600": "%F0%9F%98%80"}
        server = self.server()
        for job_id, encoded in cases.items():
            self.api.clear_requests()
            server.call("cancel_job", {"job_id": job_id})
            request = self.only_request()
            self.assertEqual(request.raw_path, "/api/v0/services/agent-jobs/" + encoded, job_id)
            self.assertEqual(request.segments[-1], job_id)
        self.api.clear_requests()
        long_id = "j" * 10000
        server.call("cancel_job", {"job_id": long_id})
        self.assertEqual(self.only_request().raw_path, "/api/v0/services/agent-jobs/" + long_id)

    def test_a_real_session_written_by_hand_cancels_a_job_with_its_reason(self):
        job_id = self.running_job()
        script = (
            '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
            '"capabilities":{},"clientInfo":{"name":"by-hand","version":"0"}}}\n'
            '{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
            '{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'
            '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"cancel_job",'
            '"arguments":{"job_id":"%s","reason":"duplicate"}}}\n' % job_id).encode()
        proc = subprocess.Popen([sys.executable, SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=clean_env(
                                    AICONNECT_API_KEY=KEY, AICONNECT_API_URL=self.api.url))
        out, err = proc.communicate(script, timeout=20)
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(err, b"")
        answers = [json.loads(line) for line in out.decode("ascii").splitlines()]
        self.assertEqual([a["id"] for a in answers], [1, 2, 3])
        self.assertFalse(answers[2]["result"]["isError"])
        self.assertEqual(self.only_request().json, {"reason": "duplicate"})


###############################################################################
# Argument checks #############################################################
###############################################################################

class ArgumentTest(ApiTestCase):

    def assert_refused(self, name, arguments, *fragments):
        """Refused, nothing sent, and the server still serving: the shared server will do."""
        server = self.shared_server()
        result = server.call(name, arguments)
        self.assertTrue(result["isError"], (name, arguments, text_of(result)))
        for fragment in fragments:
            self.assertIn(fragment, text_of(result))
        self.assert_no_request()
        self.assertEqual(server.request("ping")["result"], {})

    def test_missing_required_argument(self):
        self.assert_refused("cancel_job", {}, "Missing required argument 'job_id'")
        self.assert_refused("get_job", None, "Missing required argument 'job_id'")

    def test_wrong_types_are_named(self):
        self.assert_refused("cancel_job", {"job_id": 12345}, "'job_id' must be a string, not integer")
        self.assert_refused("list_jobs", {"limit": "20"}, "'limit' must be an integer, not string")
        self.assert_refused("list_jobs", {"limit": True}, "'limit' must be an integer, not boolean")
        self.assert_refused("list_jobs", {"limit": 2.5}, "'limit' must be an integer, not number")
        self.assert_refused("get_job", {"job_id": "j", "include_activities": "yes"},
                            "'include_activities' must be true or false")
        self.assert_refused("create_job", {"job_type_id": "t", "target_channel": "whatsapp"},
                            "'target_channel' must be an object")

    def test_empty_or_blank_ids_are_refused(self):
        self.assert_refused("cancel_job", {"job_id": ""}, "'job_id' must not be empty")
        self.assert_refused("cancel_job", {"job_id": "   "}, "'job_id'")
        self.assert_refused("get_job_type", {"job_type_id": ""}, "'job_type_id'")

    def test_unknown_arguments_are_refused_by_name(self):
        self.assert_refused("cancel_job", {"job_id": "j", "force": True},
                            "Unknown argument: force", "Valid arguments: job_id, reason")
        self.assert_refused("create_job", {"job_type_id": "t", "target_channel": {
            "platform": "web", "code": "u1", "colour": "red"}}, "target_channel.colour")

    def test_enums_and_ranges(self):
        self.assert_refused("list_jobs", {"status": "paused"}, "'status'", "waiting")
        self.assert_refused("list_jobs", {"limit": 0}, "at least 1")
        self.assert_refused("list_jobs", {"limit": 101}, "at most 100")
        self.assert_refused("list_jobs", {"offset": -1}, "at least 0")
        self.assert_refused("get_job_activities", {"job_id": "j", "source_type": "email"}, "'source_type'")
        self.assert_refused("create_job", {"job_type_id": "t", "target_channel": {
            "platform": "telegram", "code": "1"}}, "'target_channel.platform'", "whatsapp")
        self.assert_refused("create_job", {"job_type_id": "t", "delay": -5, "target_channel": {
            "platform": "web", "code": "1"}}, "'delay'", "at least 0")
        self.assert_refused("get_job", {"job_id": "j", "include_activities": True,
                                        "include_limit": 101}, "'include_limit'", "at most 100")
        self.assert_refused("list_jobs", {"sort": "created_at"}, "'sort'", "field:direction")

    def test_iso_dates_are_checked(self):
        for bad in ("yesterday", "2024-13-01", "2024-07-23T25:00:00Z", "23/07/2024", ""):
            self.assert_refused("list_jobs", {"created_at_gte": bad}, "'created_at_gte'")
        server = self.server()
        for good in ("2024-07-23", "2024-07-23T10:00:00Z", "2024-07-23T10:00:00.123+02:00",
                     "2024-07-23T10:00-0300"):
            self.api.clear_requests()
            self.assertFalse(server.call("list_jobs", {"created_at_gte": good})["isError"], good)
            self.assertEqual(self.only_request().query["created_at_gte"], [good])

    def test_overlay_parameters_are_ignored_and_unchecked_without_their_flag(self):
        result = self.call_ok("get_job", {"job_id": "job-0001", "include_limit": 5000,
                                          "include_sort": "sideways"})
        self.assertNotIn("include", self.only_request().query)
        self.assertNotIn("include_limit", self.only_request().query)
        self.assertIn("job-0001", text_of(result))

    def test_null_optional_arguments_count_as_omitted(self):
        self.call_ok("list_jobs", {"status": None, "limit": None})
        self.assert_query(self.only_request(), {"limit": 20})

    def test_arguments_that_are_not_an_object(self):
        server = self.server()
        response = server.request("tools/call", {"name": "get_context", "arguments": [1, 2]})
        self.assertTrue(response["result"]["isError"])
        self.assertIn("must be a JSON object", text_of(response["result"]))


###############################################################################
# Secrets #####################################################################
###############################################################################

class SecretsTest(ApiTestCase):

    def test_the_key_never_appears_in_any_output_even_with_debug(self):
        server = self.server(MCP_DEBUG="true")
        for name, arguments in (("cancel_job", {"job_id": "job-0001"}),
                                ("get_job", {"job_id": "missing"}),
                                ("list_jobs", {}), ("get_jobs_stats", {}),
                                ("get_job_activities", {"job_id": "job-0001"}),
                                ("get_job_type", {"job_type_id": "customer-followup"}),
                                ("get_context", {}),
                                ("create_job", {"job_type_id": "customer-followup", "target_channel": {
                                    "platform": "whatsapp", "code": "5511999999999"}})):
            server.call(name, arguments)
        self.api.add_fault(status=500, body="key=" + KEY, content_type="text/plain")
        server.call("list_jobs", {})
        self.api.add_fault(status=401, body={"message": "bad key " + KEY})
        server.call("list_jobs", {})
        server.send_raw(("{\"key\": \"%s\"\n" % KEY).encode())
        server.read()
        self.assertEqual(server.close(), 0)
        self.assertIn("GET", server.stderr)  # debug traces were written ...
        self.assertNotIn(KEY, server.stderr)  # ... without the key
        self.assertNotIn(KEY.encode(), b"".join(server.stdout_raw))

    def test_the_key_never_appears_through_any_fault_even_with_debug(self):
        other = StandInAPI(key=None)
        other.start()
        self.addCleanup(other.stop)
        faults = [fault for _, fault, _ in ApiFailureTest.FAULTS] + [
            {"action": "hang", "delay": 5}, {"status": 429, "body": {"message": KEY}, "headers": {"Retry-After": "0"}},
            {"status": 302, "body": b"", "headers": {"Location": other.url + "/steal?key=" + KEY}},
            {"status": 502, "body": "<html>%s</html>" % KEY, "content_type": "text/html"}]
        # One stand-in API and one server per fault, all faults at once: the retries' backoff
        # and the hang are waiting, not work. A hang ends at AGENTJOBS_TIMEOUT, whatever its size.
        runs, failures = [], []

        def through(fault, api, server):
            try:
                for name, arguments in EveryToolFailureTest.CALLS + [("get_context", {})]:
                    api.add_fault(**fault)
                    server.call(name, arguments)
                    api.clear_faults()
            except Exception as error:  # re-raised in the test's thread below
                failures.append((fault, error))

        for fault in faults:
            api = StandInAPI(key=KEY)
            api.start()
            self.addCleanup(api.stop)
            server = ServerProcess(api, MCP_DEBUG="true", AGENTJOBS_RETRIES="1",
                                   AGENTJOBS_TIMEOUT="0.3" if fault.get("action") == "hang" else "1")
            self._servers.append(server)
            server.initialize(self.version)
            runs.append((server, threading.Thread(target=through, args=(fault, api, server))))
        for _, thread in runs:
            thread.start()
        for _, thread in runs:
            thread.join()
        self.assertEqual(failures, [])
        for server, _ in runs:
            self.assertEqual(server.close(), 0)
            self.assertNotIn(KEY, server.stderr)
            self.assertNotIn(KEY.encode(), b"".join(server.stdout_raw))
        self.assertEqual(other.requests, [])
        self.assertIn("DELETE", "".join(server.stderr for server, _ in runs))  # debug traces were written

    def test_a_short_test_key_does_not_garble_the_output(self):
        self.api.key = "k"
        self.addCleanup(setattr, self.api, "key", KEY)
        text = text_of(self.call_ok("get_context", {}, server=self.server(AICONNECT_API_KEY="k")))
        self.assertIn("Asks a new lead", text)

    def test_config_shows_the_key_only_as_set(self):
        out = subprocess.check_output([sys.executable, SERVER, "--config"],
                                      env=clean_env(AICONNECT_API_KEY=KEY))
        self.assertIn(b"AICONNECT_API_KEY: set  (env)", out)
        self.assertNotIn(KEY.encode(), out)


###############################################################################
# The other seven tools #######################################################
###############################################################################

def activity(number, job_id, **fields):
    record = {"id": "act-%03d" % number, "org_id": "aiconnect", "activity_type_code": "ai_completion",
              "status": "completed", "allocated_credits": 10, "consumed_credits": 7,
              "credits_rule_id": "rule-1", "payloads": {"input": {"q": "hi"}, "output": "Hello %d" % number},
              "processed_at": "2024-07-23T10:0%d:05Z" % (number % 10),
              "created_at": "2024-07-23T10:0%d:00Z" % (number % 10),
              "updated_at": "2024-07-23T10:0%d:05Z" % (number % 10),
              "source": {"type": "dispatch", "job_id": job_id}}
    record.update(fields)
    return record


class StructuredOutputCase(ApiTestCase):
    """Checks structuredContent against the tool's own outputSchema from tools/list."""

    def output_schema(self, name, server):
        tools = server.request("tools/list")["result"]["tools"]
        return dict((t["name"], t["outputSchema"]) for t in tools)[name]

    def assert_structured(self, name, arguments):
        server = self.server()
        result = self.call_ok(name, arguments, server=server)
        self.assertIsInstance(result["structuredContent"], dict)
        self.assertEqual(check_schema(self.output_schema(name, server), result["structuredContent"]), [])
        return result


class GetJobTest(StructuredOutputCase):

    def test_get_job_request_and_full_text(self):
        job = self.api.add_job(
            job_status="RUNNING", job_type_id="customer-followup", channel_code="5511999999999",
            created_at="2024-07-23T10:00:00Z", updated_at="2024-07-23T12:05:00Z",
            params={"customer_name": "Ana"}, tags="vip,q3",
            config={"max_task_retries": 3, "max_follow_ups": 2},
            tasks=[{"task_id": "t%d" % i, "created_at": "2024-07-23T10:0%d:00Z" % i, "status": "done"}
                   for i in range(7)],
            execution_log=["line %d" % i for i in range(9)])
        result = self.call_ok("get_job", {"job_id": job["job_id"]})
        request = self.only_request()
        self.assertEqual((request.method, request.raw_path),
                         ("GET", "/api/v0/services/agent-jobs/" + job["job_id"]))
        self.assertEqual(request.query, {})
        text = text_of(result)
        for fragment in ("Job %s (RUNNING)" % job["job_id"], "Job type: customer-followup",
                         "Channel code: 5511999999999", "Created: 2024-07-23T10:00:00Z",
                         "Duration (created to last update): 2h 5m", "max_task_retries: 3",
                         '"customer_name": "Ana"', "Tasks: 7 (retries used: 6 of 3 allowed)",
                         "(the last 5 shown)", "- t6 at 2024-07-23T10:06:00Z [done]",
                         "Tags: vip, q3", "Execution log (last 5 of 9 lines):", "  line 8"):
            self.assertIn(fragment, text)
        self.assertNotIn("- t1 at", text)
        self.assertNotIn("  line 3", text)
        self.assertEqual(result["structuredContent"]["job"]["job_id"], job["job_id"])

    def test_get_job_with_org_and_activities_overlay(self):
        job_id = self.api.add_job()["job_id"]
        self.api.activities[job_id] = [activity(i, job_id) for i in range(1, 4)]
        result = self.call_ok("get_job", {"job_id": job_id, "org_id": "aiconnect",
                                          "include_activities": True, "include_limit": 2,
                                          "include_sort": "created_at"})
        self.assert_query(self.only_request(), {"org_id": "aiconnect", "include": "activities",
                                                "include_limit": 2, "include_sort": "created_at"})
        text = text_of(result)
        self.assertIn("[completed] ai_completion via dispatch", text)
        self.assertIn("credits: 7 used of 10", text)
        self.assertIn("truncated: 2 of 3 shown; use get_job_activities", text)

    def test_get_job_activities_overlay_defaults(self):
        job_id = self.api.add_job()["job_id"]
        self.call_ok("get_job", {"job_id": job_id, "include_activities": True})
        self.assert_query(self.only_request(), {"include": "activities", "include_limit": 50,
                                                "include_sort": "-created_at"})

    def test_get_job_epoch_milliseconds_and_odd_data(self):
        job = self.api.add_job(created_at=1721728800000, updated_at=1721736000000,
                               params={"blob": "z" * 20000}, surprise_field={"nested": [1, 2]},
                               result="line1\nline2\ttab\x1b[31m")
        text = text_of(self.call_ok("get_job", {"job_id": job["job_id"]}))
        self.assertIn("Created: 2024-07-23T10:00:00Z", text)
        self.assertIn("Updated: 2024-07-23T12:00:00Z", text)
        self.assertIn("more characters; the whole value is in the structured result", text)
        self.assertLess(len(text), 8000)
        self.assertIn("Other fields:", text)
        self.assertIn('"surprise_field"', text)
        self.assertIn("line1\\nline2\\ttab\\x1b[31m", text)

    def test_get_job_minimal_job_does_not_crash(self):
        self.api.add_fault(status=200, body={"data": {"job_id": "bare"}})
        text = text_of(self.call_ok("get_job", {"job_id": "bare"}))
        self.assertIn("Job bare (-)", text)

    def test_get_job_unknown_is_error_naming_org(self):
        text = self.call_error("get_job", {"job_id": "nope", "org_id": "acme"})
        self.assertIn("No job 'nope' in organization 'acme'", text)

    def test_get_job_unexpected_shape_is_error(self):
        self.api.add_fault(status=200, body={"data": ["not", "a", "job"]})
        self.assertIn("not with a job", self.call_error("get_job", {"job_id": "x"}))

    def test_get_job_structured_output_validates(self):
        self.assert_structured("get_job", {"job_id": self.api.add_job()["job_id"]})


class ListJobsTest(StructuredOutputCase):

    def test_list_jobs_plain_call_sends_default_limit_only(self):
        result = self.call_ok("list_jobs", {})
        request = self.only_request()
        self.assertEqual((request.method, request.path), ("GET", "/api/v0/services/agent-jobs"))
        self.assert_query(request, {"limit": 20})
        self.assertTrue(text_of(result).startswith("Found "))

    def test_list_jobs_sends_every_filter_given(self):
        args = {"org_id": "aiconnect", "status": "running", "scheduled_at": "2024-07-23",
                "scheduled_at_gte": "2024-07-01", "scheduled_at_lte": "2024-07-31T23:59:59Z",
                "created_at_gte": "2024-06-01", "created_at_lte": "2024-08-01",
                "job_type_id": "customer-followup", "channel_code": "5511999999999",
                "limit": 5, "offset": 10, "sort": "created_at:asc"}
        self.call_ok("list_jobs", args)
        expected = dict(args, status="RUNNING")
        self.assert_query(self.only_request(), expected)

    def test_list_jobs_status_in_either_case(self):
        server = self.server()
        for status in ("waiting", "WAITING"):
            self.api.clear_requests()
            self.assertFalse(server.call("list_jobs", {"status": status})["isError"])
            self.assertEqual(self.only_request().query["status"], ["WAITING"])

    def test_list_jobs_activities_overlay(self):
        self.call_ok("list_jobs", {"include_activities": True, "activities_limit_per_job": 3})
        self.assert_query(self.only_request(), {
            "limit": 20, "include": "activities", "activities_limit_per_job": 3,
            "activities_total_limit": 500, "activities_sort": "-created_at"})

    def test_list_jobs_footer_advances_by_rows_returned(self):
        self.api.add_fault(status=200, body={"data": [{"job_id": "a"}, {"job_id": "b"}],
                                             "meta": {"count": 2, "limit": 5, "offset": 10, "total": 30}})
        result = self.call_ok("list_jobs", {"limit": 5, "offset": 10})
        text = text_of(result)
        self.assertIn("Found 2 jobs.", text)
        self.assertIn("Returned: 2 | Total matching: 30 | Has more: yes | Next offset: 12", text)
        self.assertEqual(result["structuredContent"]["pagination"],
                         {"returned": 2, "offset": 10, "total": 30, "has_more": True, "next_offset": 12})

    def test_list_jobs_last_page_and_empty(self):
        self.api.add_fault(status=200, body={"data": [], "meta": {"total": 0, "limit": 20, "offset": 0}})
        text = text_of(self.call_ok("list_jobs", {"status": "failed"}))
        self.assertIn("Found 0 jobs.", text)
        self.assertIn("Returned: 0 | Total matching: 0 | Has more: no | Next offset: none", text)

    def test_list_jobs_real_data_is_summarised(self):
        self.api.jobs.clear()
        for status in ("WAITING", "RUNNING", "COMPLETED"):
            self.api.add_job(job_status=status)
        result = self.call_ok("list_jobs", {})
        text = text_of(result)
        self.assertIn("Found 3 jobs.", text)
        for status in ("WAITING", "RUNNING", "COMPLETED"):
            self.assertIn("Status: " + status, text)
        self.assertIn("Has more: no", text)
        self.assertEqual(len(result["structuredContent"]["jobs"]), 3)

    def test_list_jobs_unexpected_shape(self):
        self.api.add_fault(status=200, body={"data": {"job_id": "x"}})
        self.assertIn("not with a list of jobs", self.call_error("list_jobs", {}))

    def test_list_jobs_structured_output_validates(self):
        self.assert_structured("list_jobs", {"include_activities": True})


class GetJobsStatsTest(StructuredOutputCase):

    def stats_reply(self, **counts):
        status = dict((s, 0) for s in agentjobs_mcp.JOB_STATUSES)
        status.update(counts)
        self.api.add_fault(status=200, body={"data": [], "meta": {"stats": {"status": status}}})

    def test_stats_request_has_include_stats_limit_1_and_filters(self):
        self.call_ok("get_jobs_stats", {"created_at_gte": "2024-07-01", "created_at_lte": "2024-07-31",
                                        "job_type_id": "nps-survey", "channel_code": "c1", "tags": "vip,q3",
                                        "org_id": "aiconnect"})
        self.assert_query(self.only_request(), {
            "include": "stats", "limit": 1, "org_id": "aiconnect", "created_at_gte": "2024-07-01",
            "created_at_lte": "2024-07-31", "job_type_id": "nps-survey", "channel_code": "c1",
            "tags": "vip,q3"})

    def test_stats_text_shares_and_rates(self):
        self.stats_reply(waiting=2, scheduled=1, running=1, completed=12, failed=3, canceled=1)
        result = self.call_ok("get_jobs_stats", {"created_at_gte": "2024-07-01"})
        text = text_of(result)
        for fragment in ("Period: created from 2024-07-01", "Completed:     12  (60.0%)",
                         "Total: 20", "Success rate: 60.0%", "Active jobs: 4",
                         "Completion rate: 80.0% (completed / (completed + failed))"):
            self.assertIn(fragment, text)
        data = result["structuredContent"]
        self.assertEqual((data["total"], data["active"], data["success_rate"], data["completion_rate"]),
                         (20, 4, 60.0, 80.0))

    def test_stats_never_divides_by_zero(self):
        self.stats_reply()
        result = self.call_ok("get_jobs_stats", {})
        text = text_of(result)
        self.assertIn("Total: 0", text)
        self.assertIn("Success rate: n/a", text)
        self.assertIn("Completion rate: n/a (no completed or failed jobs)", text)
        self.assertIn("Period: all time", text)
        self.assertIsNone(result["structuredContent"]["completion_rate"])

    def test_stats_on_the_standin_data(self):
        result = self.call_ok("get_jobs_stats", {})
        counts = result["structuredContent"]["counts"]
        expected = dict((s, 0) for s in agentjobs_mcp.JOB_STATUSES)
        for job in self.api.jobs.values():
            if job.get("org_id", "aiconnect") == "aiconnect":
                expected[job["job_status"].lower()] += 1
        self.assertEqual(counts, expected)

    def test_stats_without_stats_in_the_answer_is_error(self):
        self.api.add_fault(status=200, body={"data": [], "meta": {}})
        self.assertIn("without statistics", self.call_error("get_jobs_stats", {}))

    def test_stats_has_no_status_parameter(self):
        self.assertIn("Unknown argument: status", self.call_error("get_jobs_stats", {"status": "running"}))

    def test_stats_structured_output_validates(self):
        self.assert_structured("get_jobs_stats", {})


class GetJobActivitiesTest(StructuredOutputCase):

    def test_activities_request_defaults(self):
        self.call_ok("get_job_activities", {"job_id": "job-0001"})
        request = self.only_request()
        self.assertEqual((request.method, request.path), ("GET", "/api/v0/services/activities"))
        self.assert_query(request, {"job_id": "job-0001", "limit": 50, "offset": 0, "sort": "-created_at"})

    def test_activities_request_every_filter(self):
        self.call_ok("get_job_activities", {"job_id": "j/1", "org_id": "aiconnect", "status": "completed",
                                            "activity_type_code": "ai_completion", "source_type": "dispatch",
                                            "limit": 10, "offset": 20, "sort": "created_at"})
        self.assert_query(self.only_request(), {
            "job_id": "j/1", "org_id": "aiconnect", "status": "completed",
            "activity_type_code": "ai_completion", "source_type": "dispatch", "limit": 10,
            "offset": 20, "sort": "created_at"})
        self.assertIn("job_id=j%2F1", self.only_request().raw_path)

    def test_activity_lines_cannot_break_the_layout(self):
        job_id = self.api.add_job()["job_id"]
        self.api.activities[job_id] = [
            activity(1, job_id, payloads={"output": "first\nsecond\tthird\r" + "y" * 400}),
            activity(2, job_id, created_at=1721728800000, payloads={"output": {"text": "dict\noutput"}}),
            activity(3, job_id, source="odd", status=None)]
        result = self.call_ok("get_job_activities", {"job_id": job_id})
        lines = text_of(result).split("\n")
        activity_lines = dict((line.split("| id: ")[1].split(" ")[0], line)
                              for line in lines if line.startswith("- "))
        self.assertEqual(sorted(activity_lines), ["act-001", "act-002", "act-003"])
        self.assertIn("output: first\\nsecond\\tthird\\r" + "y" * 10, activity_lines["act-001"])
        self.assertIn("more characters]", activity_lines["act-001"])
        self.assertTrue(activity_lines["act-002"].startswith("- 2024-07-23T10:00:00Z [completed]"))
        self.assertIn('output: {"text": "dict\\noutput"}', activity_lines["act-002"])
        self.assertIn("[-] ai_completion via -", activity_lines["act-003"])
        self.assertIn("Returned: 3 | Total matching: 3 | Has more: no | Next offset: none", text_of(result))

    def test_activities_pagination_footer(self):
        job_id = self.api.add_job()["job_id"]
        self.api.activities[job_id] = [activity(i, job_id) for i in range(1, 8)]
        result = self.call_ok("get_job_activities", {"job_id": job_id, "limit": 3, "offset": 3})
        self.assertIn("Returned: 3 | Total matching: 7 | Has more: yes | Next offset: 6", text_of(result))

    def test_activities_empty(self):
        job_id = self.api.add_job()["job_id"]
        self.api.activities[job_id] = []
        text = text_of(self.call_ok("get_job_activities", {"job_id": job_id}))
        self.assertIn("0 shown", text)
        self.assertIn("Has more: no", text)

    def test_activities_structured_output_validates(self):
        job_id = self.api.add_job()["job_id"]
        self.api.activities[job_id] = [activity(1, job_id)]
        self.assert_structured("get_job_activities", {"job_id": job_id})


class CreateJobTest(StructuredOutputCase):

    CHANNEL = {"platform": "whatsapp", "code": "5511999999999"}

    def test_create_minimal_fills_org_and_sends_no_delay(self):
        result = self.call_ok("create_job", {"job_type_id": "customer-followup",
                                             "target_channel": self.CHANNEL})
        request = self.only_request()
        self.assertEqual((request.method, request.raw_path), ("POST", "/api/v0/services/agent-jobs"))
        self.assertEqual(request.headers["content-type"], "application/json")
        self.assertEqual(request.json, {"job_type_id": "customer-followup", "target_channel": dict(
            self.CHANNEL, org_id="aiconnect")})
        job_id = result["structuredContent"]["job"]["job_id"]
        self.assertIn(job_id, self.api.jobs)
        text = text_of(result)
        self.assertIn("Job created: " + job_id, text)
        self.assertIn("Status: WAITING", text)

    def test_create_with_everything(self):
        args = {"job_type_id": "customer-followup",
                "target_channel": {"platform": "slack", "code": "C123", "org_id": "aiconnect",
                                   "type": "channel", "data": {"thread": "t1"}},
                "params": {"customer_name": "Ana", "n": [1, 2]}, "scheduled_at": "2030-01-01T09:00:00Z",
                "config": {"max_follow_ups": 2, "max_task_retries": 1, "task_retry_interval": 15,
                           "max_time_to_complete": 120, "profile_id": "p1", "start_prompt": "Hi"},
                "delay": 30}
        result = self.call_ok("create_job", args)
        request = self.only_request()
        self.assert_query(request, {"delay": 30})
        expected = dict(args)
        del expected["delay"]
        self.assertEqual(request.json, expected)
        self.assertIn("Scheduled at: 2030-01-01T09:00:00Z", text_of(result))
        self.assertIn("Status: SCHEDULED", text_of(result))

    def test_create_unknown_type_is_404_explained(self):
        text = self.call_error("create_job", {"job_type_id": "no-such-type", "target_channel": self.CHANNEL})
        self.assertIn("No job type 'no-such-type' in organization 'aiconnect'", text)
        self.assertIn("get_context", text)

    def test_create_is_never_retried_and_says_it_may_have_been_created(self):
        for fault in ({"status": 502, "body": "<html>bad gateway</html>", "content_type": "text/html"},
                      {"action": "drop"}, {"status": 503, "body": {"message": "busy"}}):
            self.api.reset()
            self.api.add_fault(times=None, **fault)
            text = self.call_error("create_job", {"job_type_id": "customer-followup",
                                                  "target_channel": self.CHANNEL})
            self.assertEqual(len(self.api.requests), 1, fault)
            self.assertIn("may have been created", text)
            self.assertIn("list_jobs", text)

    def test_create_timeout_says_it_may_have_been_created(self):
        self.api.add_fault(action="hang", delay=10)
        text = self.call_error("create_job", {"job_type_id": "customer-followup",
                                              "target_channel": self.CHANNEL},
                               server=self.server(AGENTJOBS_TIMEOUT="1"))
        self.assertIn("did not answer within 1 seconds", text)
        self.assertIn("may have been created", text)
        self.assertEqual(len(self.api.requests), 1)

    def test_create_structured_output_validates(self):
        self.assert_structured("create_job", {"job_type_id": "customer-followup",
                                              "target_channel": self.CHANNEL})


class GetJobTypeTest(StructuredOutputCase):

    def test_get_job_type_request_uses_default_org_and_encodes_segments(self):
        self.call_ok("get_job_type", {"job_type_id": "customer-followup"})
        self.assertEqual(self.only_request().raw_path,
                         "/api/v0/organizations/aiconnect/agent-jobs-type/customer-followup")
        self.api.clear_requests()
        self.call_error("get_job_type", {"job_type_id": "../x", "org_id": "a/b"})
        self.assertEqual(self.only_request().raw_path, "/api/v0/organizations/a%2Fb/agent-jobs-type/..%2Fx")

    def test_get_job_type_text_summarises_the_params_schema(self):
        job_type = self.api.job_types[("aiconnect", "customer-followup")]
        result = self.call_ok("get_job_type", {"job_type_id": "customer-followup"})
        text = text_of(result)
        schema = job_type["params_schema"]
        self.assertIn("Params schema: %d propert" % len(schema["properties"]), text)
        self.assertIn("%d required" % len(schema.get("required", [])), text)
        for name in list(schema["properties"])[:3]:
            self.assertIn("  - " + name + " (", text)
        self.assertIn("Name: " + job_type["name"], text)
        self.assertIn("Default config and policies:", text)
        self.assertEqual(result["structuredContent"]["job_type"]["id"], "customer-followup")

    def test_get_job_type_with_org_and_unknown_type(self):
        text = self.call_error("get_job_type", {"job_type_id": "nope", "org_id": "aiconnect"})
        self.assertIn("No job type 'nope' in organization 'aiconnect'", text)
        self.assertIn("get_context", text)

    def test_get_job_type_odd_schema_shown_raw(self):
        self.api.add_fault(status=200, body={"data": {"id": "odd", "params_schema": ["not", "a", "schema"],
                                                      "created_at": 1721728800000}})
        text = text_of(self.call_ok("get_job_type", {"job_type_id": "odd"}))
        self.assertIn("Params schema (unrecognised form):", text)
        self.assertIn("Created: 2024-07-23T10:00:00Z", text)

    def test_get_job_type_structured_output_validates(self):
        self.assert_structured("get_job_type", {"job_type_id": "customer-followup"})


class GetContextTest(StructuredOutputCase):

    def test_get_context_lists_job_types(self):
        result = self.call_ok("get_context", {})
        request = self.only_request()
        self.assertEqual(request.path, "/api/v0/organizations/aiconnect/agent-jobs-type")
        self.assert_query(request, {"enrich": "emoji", "limit": 100, "sort": "name:asc"})
        text = text_of(result)
        self.assertIn("Organization: aiconnect", text)
        self.assertIn("Time zone: UTC", text)
        self.assertIn("API: " + self.api.url, text)
        self.assertIn("Server: agentjobs-mcp " + agentjobs_mcp.__version__, text)
        self.assertIn("customer-followup", text)
        self.assertTrue(result["structuredContent"]["job_types"])

    def test_get_context_org_override_and_timezone(self):
        text = text_of(self.call_ok("get_context", {"org_id": "other-org"},
                                    server=self.server(DEFAULT_TIMEZONE="America/Sao_Paulo")))
        self.assertEqual(self.only_request().path, "/api/v0/organizations/other-org/agent-jobs-type")
        self.assertIn("Organization: other-org", text)
        self.assertIn("Time zone: America/Sao_Paulo", text)

    def test_get_context_still_succeeds_when_job_types_fail(self):
        self.api.add_fault(status=500, body={"message": "types exploded"}, times=None)
        result = self.call_ok("get_context", {})
        self.assertIn("Job types: unavailable (error: The API answered 500", text_of(result))
        self.assertIn("types exploded", result["structuredContent"]["job_types_error"])

    def test_get_context_structured_output_validates(self):
        self.assert_structured("get_context", {})


class StructuredOutputRevisionTest(ApiTestCase):

    def test_structured_content_only_for_2025_06_18_and_later(self):
        for version in ALL_VERSIONS:
            self.version = version
            result = self.call_ok("list_jobs", {})
            self.assertEqual("structuredContent" in result, version >= "2025-06-18", version)


###############################################################################
# Faults, retries and safe HTTP ###############################################
###############################################################################

class ApiFailureTest(ApiTestCase):

    FAULTS = [
        ("500 json", {"status": 500, "body": {"message": "boom"}}, "500"),
        ("502 html", {"status": 502, "body": "<html><body>Bad Gateway</body></html>",
                      "content_type": "text/html"}, "HTML body"),
        ("503 empty", {"status": 503, "body": b"", "content_type": "text/plain"}, "(empty body)"),
        ("broken json", {"status": 200, "body": b'{"data": [', "content_type": "application/json"},
         "not JSON"),
        ("unexpected shape", {"status": 200, "body": {"unexpected": True}}, "not with a list of jobs"),
        ("json array", {"status": 200, "body": b"[1, 2]", "content_type": "application/json"},
         "not an object"),
        ("dropped", {"action": "drop"}, "dropped"),
    ]

    def test_each_fault_is_an_error_and_the_next_call_works(self):
        server = self.server(AGENTJOBS_RETRIES="0")
        for label, fault, fragment in self.FAULTS:
            self.api.add_fault(**fault)
            result = server.call("list_jobs", {})
            self.assertTrue(result["isError"], label)
            self.assertIn(fragment, text_of(result), label)
            self.assertFalse(server.call("list_jobs", {})["isError"], label)

    def test_get_is_retried_on_503_then_succeeds(self):
        self.api.add_fault(status=503, body={"message": "busy"}, times=2)
        result = self.call_ok("list_jobs", {})
        self.assertEqual(len(self.api.requests), 3)
        self.assertIn("Found", text_of(result))

    def test_retries_stop_at_agentjobs_retries(self):
        self.api.add_fault(status=502, body={"message": "down"}, times=None)
        text = self.call_error("list_jobs", {}, server=self.server(AGENTJOBS_RETRIES="1"))
        self.assertEqual(len(self.api.requests), 2)
        self.assertIn("502", text)

    def test_404_and_400_are_not_retried(self):
        self.call_error("get_job", {"job_id": "missing"})
        self.assertEqual(len(self.api.requests), 1)

    def test_retry_after_seconds_is_honoured(self):
        self.api.add_fault(status=429, body={"message": "slow down"}, headers={"Retry-After": "1"})
        started = time.monotonic()
        self.call_ok("list_jobs", {})
        self.assertEqual(len(self.api.requests), 2)
        self.assertGreaterEqual(time.monotonic() - started, 0.9)

    def test_retry_after_beyond_the_deadline_is_not_waited_for(self):
        self.api.add_fault(status=503, body={"message": "later"}, headers={"Retry-After": "120"})
        text = self.call_error("list_jobs", {}, server=self.server(AGENTJOBS_TIMEOUT="5"))
        self.assertEqual(len(self.api.requests), 1)
        self.assertIn("retry after 120 seconds", text)

    def test_retry_after_http_date_is_understood(self):
        self.assertAlmostEqual(agentjobs_mcp.parse_retry_after(
            time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))), 30, delta=2)
        self.assertEqual(agentjobs_mcp.parse_retry_after("7"), 7.0)
        self.assertIsNone(agentjobs_mcp.parse_retry_after("soon"))

    def test_delete_retried_after_a_dropped_connection_then_409_says_it_may_be_cancelled(self):
        job_id = self.api.add_job(job_status="RUNNING")["job_id"]
        self.api.add_fault(action="drop", method="DELETE")
        self.api.jobs[job_id]["job_status"] = "CANCELED"  # as if the first attempt had worked
        text = self.call_error("cancel_job", {"job_id": job_id})
        self.assertEqual([r.method for r in self.api.requests], ["DELETE", "DELETE", "GET"])
        self.assertIn("may already have cancelled the job", text)

    def test_response_over_the_size_cap_is_an_error(self):
        self.api.add_fault(action="huge", size=3 * 1024 * 1024)
        server = self.server(AGENTJOBS_MAX_RESPONSE_BYTES="1048576")
        result = server.call("list_jobs", {})
        self.assertTrue(result["isError"])
        self.assertIn("over the 1048576-byte limit", text_of(result))
        self.assertFalse(server.call("list_jobs", {})["isError"])

    def test_same_origin_redirect_is_followed_with_the_key(self):
        self.api.add_fault(status=307, body=b"", headers={"Location": self.api.url + "/services/agent-jobs?limit=20&moved=1"})
        self.call_ok("list_jobs", {})
        self.assertEqual(len(self.api.requests), 2)
        self.assertEqual(self.api.requests[1].query.get("moved"), ["1"])
        self.assertEqual(self.api.requests[1].headers["authorization"], "Bearer " + KEY)

    def test_cross_origin_redirect_is_refused_and_the_key_stays_home(self):
        other = StandInAPI(key=None)
        other.start()
        try:
            self.api.add_fault(status=302, body=b"", headers={"Location": other.url + "/services/agent-jobs"})
            text = self.call_error("list_jobs", {})
            self.assertIn("redirect to another host", text)
            self.assertIn("was not followed", text)
            self.assertEqual(other.requests, [])
        finally:
            other.stop()

    def test_control_characters_from_the_api_are_escaped(self):
        self.api.add_fault(status=500, body={"message": "bad\n\nFAKE: Successfully canceled\x1b[0m"})
        text = self.call_error("list_jobs", {}, server=self.server(AGENTJOBS_RETRIES="0"))
        self.assertIn("bad\\n\\nFAKE: Successfully canceled\\x1b[0m", text)


class ConcurrencyTest(ApiTestCase):

    def test_twenty_calls_run_at_once_and_a_ping_is_not_held_up(self):
        server = self.server()
        self.api.latency = 0.2
        self.api.reset_in_flight()
        for number in range(20):
            server.send({"jsonrpc": "2.0", "id": "call-%d" % number, "method": "tools/call",
                         "params": {"name": "list_jobs", "arguments": {}}})
        server.send({"jsonrpc": "2.0", "id": "ping", "method": "ping"})
        answers = [server.read() for _ in range(21)]
        self.assertEqual(answers[0]["id"], "ping")
        self.assertEqual(sorted(a["id"] for a in answers[1:]), sorted("call-%d" % n for n in range(20)))
        self.assertTrue(all(not a["result"]["isError"] for a in answers[1:]))
        self.assertEqual(self.api.max_in_flight, 20)

    def test_cancelled_request_gets_no_answer_and_its_http_call_is_abandoned(self):
        server = self.server()
        self.api.add_fault(action="hang", delay=20)
        server.send({"jsonrpc": "2.0", "id": "slow", "method": "tools/call",
                     "params": {"name": "list_jobs", "arguments": {}}})
        deadline = time.monotonic() + 10
        while not self.api.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        server.notify("notifications/cancelled", {"requestId": "slow", "reason": "user gave up"})
        server.notify("notifications/cancelled", {"requestId": "never-existed"})
        self.assertEqual(server.request("ping", request_id="after")["result"], {})
        deadline = time.monotonic() + 5
        while self.api.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.api.in_flight, 0)  # the hanging socket was closed from our side
        self.assertTrue(server.nothing_more(1.0))
        self.assertEqual(server.close(), 0)

    def test_responses_are_whole_lines_when_many_finish_together(self):
        server = self.server()
        job = self.api.add_job(params={"blob": "b" * 50000})
        for number in range(30):
            server.send({"jsonrpc": "2.0", "id": number, "method": "tools/call",
                         "params": {"name": "get_job", "arguments": {"job_id": job["job_id"]}}})
        answers = [server.read() for _ in range(30)]
        self.assertEqual(sorted(a["id"] for a in answers), list(range(30)))


class TlsAndProxyTest(ApiTestCase):
    """Private CAs and proxies, the way the standard library honours them."""

    def tls_api(self):
        api = StandInAPI(key=KEY, tls=True)
        api.start()
        self.addCleanup(api.stop)
        return api

    def test_private_ca_from_agentjobs_ca_bundle(self):
        from standin.agentjobs_api import CA_FILE
        api = self.tls_api()
        server = ServerProcess(api, AGENTJOBS_CA_BUNDLE=CA_FILE)
        self._servers.append(server)
        result = server.call("list_jobs", {})
        self.assertFalse(result["isError"], text_of(result))
        self.assertEqual(api.requests[0].headers["authorization"], "Bearer " + KEY)

    def test_private_ca_from_ssl_cert_file(self):
        from standin.agentjobs_api import CA_FILE
        api = self.tls_api()
        server = ServerProcess(api, SSL_CERT_FILE=CA_FILE)
        self._servers.append(server)
        self.assertFalse(server.call("list_jobs", {})["isError"])

    def test_unknown_ca_is_refused_never_ignored(self):
        api = self.tls_api()
        server = ServerProcess(api, AGENTJOBS_RETRIES="0")
        self._servers.append(server)
        result = server.call("list_jobs", {})
        self.assertTrue(result["isError"])
        self.assertIn("CERTIFICATE_VERIFY_FAILED", text_of(result))
        self.assertIn("AGENTJOBS_CA_BUNDLE", text_of(result))
        self.assertEqual(api.requests, [])  # the key never left over an unverified connection

    def test_missing_ca_bundle_file_is_a_configuration_problem(self):
        missing = os.path.join(MISSING_DIR, "ca.pem")
        result = self.server(AGENTJOBS_CA_BUNDLE=missing).call("list_jobs", {})
        self.assertTrue(result["isError"])
        self.assertIn("AGENTJOBS_CA_BUNDLE=%r: no such file" % missing, text_of(result))

    def test_check_names_the_ca_file_in_use(self):
        from standin.agentjobs_api import CA_FILE
        api = self.tls_api()
        code, out, err = run_cli("--check", AICONNECT_API_KEY=KEY, AICONNECT_API_URL=api.url,
                                 AGENTJOBS_CA_BUNDLE=CA_FILE)
        self.assertEqual(code, 0, out + err)
        self.assertIn("certificate verified (CA file: %s)" % CA_FILE, out)
        code, out, _ = run_cli("--check", AICONNECT_API_KEY=KEY, AICONNECT_API_URL=api.url)
        self.assertEqual(code, 1)
        self.assertIn("FAIL  tls:", out)
        self.assertIn("AGENTJOBS_CA_BUNDLE", out)

    def test_http_proxy_receives_the_request(self):
        proxy = StandInAPI(key=None)
        proxy.start()
        self.addCleanup(proxy.stop)
        server = ServerProcess(None, AICONNECT_API_URL="http://api.example.invalid/api/v0",
                               HTTP_PROXY=proxy.origin, AGENTJOBS_RETRIES="0")
        self._servers.append(server)
        server.call("list_jobs", {})
        self.assertEqual(proxy.requests[0].raw_path,
                         "http://api.example.invalid/api/v0/services/agent-jobs?limit=20")

    def test_no_proxy_bypasses_the_proxy(self):
        server = self.server(HTTP_PROXY="http://127.0.0.1:9", NO_PROXY="127.0.0.1,localhost")
        self.assertFalse(server.call("list_jobs", {})["isError"])
        self.assertEqual(len(self.api.requests), 1)


class ConcurrencyLimitTest(ApiTestCase):

    def test_max_concurrency_bounds_the_calls_in_flight(self):
        server = self.server(AGENTJOBS_MAX_CONCURRENCY="3")
        self.api.latency = 0.2
        self.api.reset_in_flight()
        for number in range(7):
            server.send({"jsonrpc": "2.0", "id": number, "method": "tools/call",
                         "params": {"name": "list_jobs", "arguments": {}}})
        server.send({"jsonrpc": "2.0", "id": "ping", "method": "ping"})
        answers = [server.read() for _ in range(8)]
        self.assertEqual(answers[0]["id"], "ping")  # reading stdin never waits for the pool
        self.assertEqual(sorted(a["id"] for a in answers[1:]), list(range(7)))
        self.assertEqual(self.api.max_in_flight, 3)


class EveryToolFailureTest(ApiTestCase):
    """401, 404, 500 and a timeout, for every tool that calls the API."""

    CALLS = [("cancel_job", {"job_id": "job-0001"}), ("get_job", {"job_id": "job-0001"}),
             ("list_jobs", {}), ("get_jobs_stats", {}), ("get_job_activities", {"job_id": "job-0001"}),
             ("create_job", {"job_type_id": "customer-followup",
                             "target_channel": {"platform": "web", "code": "u1"}}),
             ("get_job_type", {"job_type_id": "customer-followup"})]

    def test_each_status_gives_an_error_with_the_right_message(self):
        server = self.server(AGENTJOBS_RETRIES="0")
        for status, message, fragments in (
                (401, "Invalid or missing API key", ("401", "AICONNECT_API_KEY")),
                (404, "Not found here", ("404", "No ")),
                (500, "Internal failure", ("500", "Internal failure"))):
            for name, arguments in self.CALLS:
                self.api.add_fault(status=status, body={"message": message}, times=None)
                result = server.call(name, arguments)
                self.api.clear_faults()
                self.assertTrue(result["isError"], (name, status))
                for fragment in fragments:
                    if not (status == 404 and name in ("list_jobs", "get_jobs_stats") and fragment == "No "):
                        self.assertIn(fragment, text_of(result), (name, status))
            result = server.call("get_context", {})
            self.assertFalse(result["isError"])

    def test_each_timeout_gives_an_error(self):
        server = self.server(AGENTJOBS_TIMEOUT="0.5", AGENTJOBS_RETRIES="0")
        self.api.add_fault(action="hang", delay=5, times=len(self.CALLS))
        for name, arguments in self.CALLS:  # all at once: each call has its own deadline
            server.send({"jsonrpc": "2.0", "id": name, "method": "tools/call",
                         "params": {"name": name, "arguments": arguments}})
        answers = dict((answer["id"], answer["result"]) for answer in [server.read() for _ in self.CALLS])
        for name, _ in self.CALLS:
            self.assertTrue(answers[name]["isError"], name)
            self.assertIn("did not answer within 0.5 seconds", text_of(answers[name]), name)
        self.assertEqual(len(self.api.requests), len(self.CALLS))
        self.api.add_fault(action="hang", delay=5)
        self.assertIn("unavailable (error: The API did not answer", text_of(server.call("get_context", {})))


class LineLimitTest(ApiTestCase):

    def test_oversized_line_is_refused_and_skipped(self):
        server = self.server(AGENTJOBS_MAX_LINE_BYTES="4096")
        server.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + b"a" * 100000 + b'"}}\n')
        response = server.read()
        self.assertEqual((response["id"], response["error"]["code"]), (None, -32600))
        self.assertIn("AGENTJOBS_MAX_LINE_BYTES", response["error"]["message"])
        self.assertEqual(server.request("ping")["result"], {})


class FuzzTest(ApiTestCase):
    """Seeded random garbage, bounded in count and time: the loop must survive it all."""

    SEED = 20261124
    CASES = 10000
    SECONDS = 60

    def random_message(self, rng, number):
        choice = rng.randrange(12)
        if choice == 0:
            return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80))).replace(b"\n", b" "), None
        if choice == 1:
            text = json.dumps({"jsonrpc": "2.0", "id": number, "method": "ping"})
            return text[:rng.randrange(1, len(text))].encode(), None
        if choice == 2:
            return ("[" * rng.randrange(50, 5000)).encode() + b"1" + b"]" * rng.randrange(0, 100), None
        if choice == 3:
            return json.dumps({"jsonrpc": rng.choice(["2.0", "1.0", 2, None]),
                               "id": rng.choice([number, str(number), None, True, [1], {"a": 1}, 1.5]),
                               "method": rng.choice(["ping", "tools/list", 5, None, "x" * 300]),
                               "params": rng.choice([{}, [], "s", 3, None])}).encode(), "maybe"
        if choice == 4:
            return ('{"jsonrpc":"2.0","id":%d,"method":"ping","params":{"n":%s}}' % (
                number, rng.choice(["1e999999", "-" + "9" * 5000, "1" * 100, "0.0000001"]))).encode(), "maybe"
        if choice == 5:
            text = "".join(rng.choice(["\ud800", "\udfff", "\u0000", "\u2028", "\U0010ffff", "\u00e9", '"'])
                           for _ in range(20))
            return json.dumps({"jsonrpc": "2.0", "id": number, "method": "tools/call",
                               "params": {"name": text, "arguments": {}}}).encode(), number
        if choice == 6:
            return json.dumps({"jsonrpc": "2.0", "id": number, "method": "tools/call", "params": {
                "name": "cancel_job", "arguments": rng.choice([
                    {"job_id": rng.choice([1, None, "", [], {}, True])}, {"job_id": "x", "extra": 1},
                    "args", [], None])}}).encode(), number
        if choice == 7:
            return json.dumps({"jsonrpc": "2.0", "method": rng.choice(
                ["notifications/cancelled", "notifications/initialized", "x"]),
                "params": rng.choice([{"requestId": number}, None, [], "x"])}).encode(), None
        if choice == 8:
            return json.dumps([{"jsonrpc": "2.0", "id": number, "method": "ping"},
                               {"jsonrpc": "2.0", "method": "notifications/x"}]).encode(), "batch"
        if choice == 9:
            return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode(), 1  # duplicate ids
        if choice == 10:
            return json.dumps({"jsonrpc": "2.0", "id": number, "method": "tools/call", "params": {
                "name": "list_jobs", "arguments": {"limit": rng.choice([0, 1, 10**30, -1, 2.0, "5"]),
                                                   "created_at_gte": rng.choice(["2024-01-01", "x", 5])}}}
                              ).encode(), number
        return json.dumps({"jsonrpc": "2.0", "id": number, "method": "tools/list"}).encode(), number

    def assert_alive(self, server, marker):
        """A ping answered, past whatever answers were still queued before it."""
        server.send({"jsonrpc": "2.0", "id": marker, "method": "ping"})
        while True:
            message = server.read()
            if isinstance(message, dict) and message.get("id") == marker:
                self.assertEqual(message["result"], {})
                return

    def test_random_input_never_knocks_the_loop_over(self):
        import random
        rng = random.Random(self.SEED)
        server = self.server(AGENTJOBS_RETRIES="0", AICONNECT_API_URL="http://127.0.0.1:9/api/v0")
        started = time.monotonic()
        sent = 0
        expected_ids = [1]  # the initialize
        while sent < self.CASES and time.monotonic() - started < self.SECONDS:
            line, expect = self.random_message(rng, sent + 10)
            server.send_raw(line + b"\n")
            if isinstance(expect, int) and not isinstance(expect, bool):
                expected_ids.append(expect)
            sent += 1
            if sent % 500 == 0:
                self.assert_alive(server, "marker-%d" % sent)
        self.assert_alive(server, "end")
        self.assertEqual(server.close(30), 0)
        self.assertNotIn("Traceback", server.stderr)
        answered = []
        for raw in server.stdout_raw:
            message = json.loads(raw.decode("ascii"))
            for item in message if isinstance(message, list) else [message]:
                self.assertEqual(item["jsonrpc"], "2.0")
                self.assertTrue(("result" in item) != ("error" in item), item)
                answered.append(item.get("id"))
        for request_id in set(expected_ids):
            self.assertEqual(answered.count(request_id), expected_ids.count(request_id), request_id)
        self.assertEqual(sent, self.CASES, "only %d cases ran in %d s" % (sent, self.SECONDS))


###############################################################################
# The stateless 2026-07-28 revision ###########################################
###############################################################################

MODERN = "2026-07-28"


def modern_meta(version=MODERN, **extra):
    meta = {"io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientInfo": {"name": "test-client", "version": "2"},
            "io.modelcontextprotocol/clientCapabilities": {}}
    meta.update(extra)
    return meta


class StatelessRevisionTest(ApiTestCase):

    def modern(self, server, method, params=None, version=MODERN):
        params = dict(params or {})
        params["_meta"] = modern_meta(version)
        return server.request(method, params)

    def test_server_discover_answers_as_the_revision_defines(self):
        server = self.server(initialize=False)
        result = self.modern(server, "server/discover")["result"]
        self.assertEqual(result["resultType"], "complete")
        self.assertEqual(result["supportedVersions"][0], MODERN)
        self.assertEqual(set(result["supportedVersions"]), {MODERN} | set(ALL_VERSIONS))
        self.assertEqual(result["capabilities"], {"tools": {"listChanged": False}})
        self.assertIn("get_context", result["instructions"])
        self.assertIsInstance(result["ttlMs"], int)
        self.assertGreaterEqual(result["ttlMs"], 0)
        self.assertEqual(result["cacheScope"], "public")
        info = result["_meta"]["io.modelcontextprotocol/serverInfo"]
        self.assertEqual((info["name"], info["version"]), ("agentjobs-mcp", agentjobs_mcp.__version__))
        self.assertNotIn("serverInfo", result)
        self.assertNotIn("protocolVersion", result)

    def test_tools_list_and_call_without_initialize_carry_the_revisions_fields(self):
        server = self.server(initialize=False)
        listed = self.modern(server, "tools/list")["result"]
        self.assertEqual(listed["resultType"], "complete")
        self.assertEqual((listed["cacheScope"], listed["ttlMs"] >= 0), ("public", True))
        self.assertEqual([t["name"] for t in listed["tools"]], list(CONTRACT))
        self.assertTrue(all("outputSchema" in t and "title" in t for t in listed["tools"]))
        job_id = self.api.add_job(job_status="RUNNING")["job_id"]
        result = self.modern(server, "tools/call", {"name": "cancel_job", "arguments": {"job_id": job_id}})["result"]
        self.assertEqual(result["resultType"], "complete")
        self.assertFalse(result["isError"])
        self.assertEqual(result["structuredContent"]["job"]["job_status"], "CANCELED")
        self.assertEqual(result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "agentjobs-mcp")

    def test_unsupported_revision_in_meta_is_32022_with_the_supported_list(self):
        server = self.server(initialize=False)
        response = self.modern(server, "tools/list", version="1900-01-01")
        self.assertEqual(response["error"]["code"], -32022)
        self.assertEqual(response["error"]["data"]["requested"], "1900-01-01")
        self.assertIn(MODERN, response["error"]["data"]["supported"])
        self.assertIn(LATEST, response["error"]["data"]["supported"])

    def test_meta_without_client_capabilities_is_invalid_params(self):
        server = self.server(initialize=False)
        response = server.request("tools/list", {"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN}})
        self.assertEqual(response["error"]["code"], -32602)
        self.assertIn("clientCapabilities", response["error"]["message"])
        response = server.request("server/discover", {})
        self.assertEqual(response["error"]["code"], -32602)

    def test_ping_is_answered_in_the_initialize_era_only(self):
        server = self.server()
        self.assertEqual(server.request("ping")["result"], {})
        self.assertEqual(self.modern(server, "ping")["error"]["code"], -32601)

    def test_an_initialized_connection_keeps_its_revision_beside_modern_requests(self):
        self.version = "2025-03-26"
        server = self.server()
        modern = self.modern(server, "tools/list")["result"]
        self.assertIn("outputSchema", modern["tools"][0])
        legacy = server.request("tools/list")["result"]
        self.assertNotIn("outputSchema", legacy["tools"][0])
        self.assertNotIn("resultType", legacy)
        self.assertNotIn("ttlMs", legacy)
        result = server.call("list_jobs", {})
        self.assertNotIn("structuredContent", result)
        self.assertNotIn("resultType", result)

    def test_initialize_era_answers_never_carry_stateless_fields(self):
        server = self.server()
        for response in (server.request("tools/list"), server.request("tools/call", {"name": "get_context"})):
            self.assertFalse({"resultType", "ttlMs", "cacheScope", "_meta"} & set(response["result"]))

    def test_cancellation_of_a_stateless_call_sends_nothing(self):
        server = self.server(initialize=False)
        self.api.add_fault(action="hang", delay=20)
        server.send({"jsonrpc": "2.0", "id": "m1", "method": "tools/call", "params": {
            "name": "list_jobs", "arguments": {}, "_meta": modern_meta()}})
        deadline = time.monotonic() + 10
        while not self.api.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        server.notify("notifications/cancelled", {"requestId": "m1"})
        self.assertEqual(self.modern(server, "tools/list")["result"]["resultType"], "complete")
        self.assertTrue(server.nothing_more(1.0))


###############################################################################
# Installing with pip #########################################################
###############################################################################

class InstallTest(ApiTestCase):
    """pip install . into a fresh venv: an agentjobs-mcp command and python -m agentjobs_mcp."""

    def pip(self, python, *args):
        # pip's own deprecations are not ours: PYTHONWARNINGS (make test-warnings) stays for
        # the installed server below, not for the tool that installs it.
        proc = subprocess.Popen([python, "-m", "pip", "--disable-pip-version-check"] + list(args),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=clean_env(PYTHONWARNINGS=None))
        out = proc.communicate(timeout=600)[0].decode("utf-8", "replace")
        return proc.returncode, out

    def test_pip_install_gives_a_working_command(self):
        import tempfile
        import shutil
        home = tempfile.mkdtemp(prefix="agentjobs-venv-")
        self.addCleanup(shutil.rmtree, home, True)
        # Installing pip into the venv (ensurepip) is most of this test's time: when this
        # interpreter has pip, the venv borrows it; the package still goes into the venv.
        import importlib.util
        borrow = ["--without-pip", "--system-site-packages"] if importlib.util.find_spec("pip") else []
        subprocess.check_call([sys.executable, "-m", "venv"] + borrow + [os.path.join(home, "venv")], env=clean_env())
        windows = os.name == "nt"
        bindir = os.path.join(home, "venv", "Scripts" if windows else "bin")
        python = os.path.join(bindir, "python.exe" if windows else "python")
        code, out = self.pip(python, "--version")
        if int(out.split()[1].split(".")[0]) < 19:  # PEP 517 builds need pip 19+ (3.6's venv has 18)
            code, out = self.pip(python, "install", "--upgrade", "pip<22")
            if code != 0 and ("NewConnectionError" in out or "No matching distribution" in out):
                self.skipTest("no package index reachable to upgrade pip: " + out.strip().splitlines()[-1])
            self.assertEqual(code, 0, out)
        code, out = self.pip(python, "install", HERE)
        if code != 0 and ("NewConnectionError" in out or "No matching distribution found for flit_core" in out):
            self.skipTest("no package index reachable for the build backend: " + out.strip().splitlines()[-1])
        self.assertEqual(code, 0, out)
        command = os.path.join(bindir, "agentjobs-mcp.exe" if windows else "agentjobs-mcp")
        version = subprocess.check_output([command, "--version"], env=clean_env(), cwd=home)
        self.assertEqual(version.decode().strip(), "agentjobs-mcp " + agentjobs_mcp.__version__)
        module = subprocess.check_output([python, "-m", "agentjobs_mcp", "--version"], env=clean_env(), cwd=home)
        self.assertEqual(module, version)
        located = subprocess.check_output([python, "-c", "import agentjobs_mcp; print(agentjobs_mcp.__file__)"],
                                          env=clean_env(), cwd=home)
        real = lambda path: os.path.normcase(os.path.realpath(path))  # macOS /var is /private/var
        self.assertTrue(real(located.decode().strip()).startswith(real(os.path.join(home, "venv"))), located)
        job_id = self.api.add_job(job_status="RUNNING")["job_id"]
        session = (
            '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
            '"capabilities":{},"clientInfo":{"name":"installed","version":"0"}}}\n'
            '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"cancel_job",'
            '"arguments":{"job_id":"%s","reason":"installed command"}}}\n' % job_id).encode()
        proc = subprocess.Popen([command], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=home, env=clean_env(AICONNECT_API_KEY=KEY, AICONNECT_API_URL=self.api.url))
        out, err = proc.communicate(session, timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        answers = [json.loads(line) for line in out.splitlines()]
        self.assertFalse(answers[1]["result"]["isError"], answers[1])
        self.assertEqual(self.only_request().json, {"reason": "installed command"})


###############################################################################
# Pure parts, in-process ######################################################
###############################################################################

class PureTest(unittest.TestCase):

    def test_build_url_encodes_each_segment_whole(self):
        config = agentjobs_mcp.Config({"AICONNECT_API_URL": "http://h/api/v0/"})
        self.assertEqual(agentjobs_mcp.build_url(config, ("a", "../b", "c d"), [("x", "1"), ("y", None)]),
                         "http://h/api/v0/a/..%2Fb/c%20d?x=1")

    def test_iso_time_handles_strings_offsets_and_epoch_milliseconds(self):
        iso = agentjobs_mcp.iso_time
        self.assertEqual(iso("2024-07-23T10:00:00Z"), "2024-07-23T10:00:00Z")
        self.assertEqual(iso("2024-07-23T12:00:00+02:00"), "2024-07-23T10:00:00Z")
        self.assertEqual(iso("2024-07-23T10:00:00.250Z"), "2024-07-23T10:00:00.250Z")
        self.assertEqual(iso("2024-07-23"), "2024-07-23T00:00:00Z")
        self.assertEqual(iso(1721728800000), "2024-07-23T10:00:00Z")
        self.assertEqual(iso(1721728800), "2024-07-23T10:00:00Z")
        self.assertEqual(iso("soon\n"), "soon\\n")
        self.assertEqual(iso(None), "-")

    def test_escape_text_escapes_controls_and_cuts(self):
        self.assertEqual(agentjobs_mcp.escape_text("a\nb\tc\x00\u2028"), "a\\nb\\tc\\x00\\u2028")
        self.assertEqual(agentjobs_mcp.escape_text("abcdef", 3), "abc... [3 more characters]")

    def test_page_footer(self):
        footer = agentjobs_mcp.format_page_footer
        self.assertIn("Returned: 20 | Total matching: 45 | Has more: yes | Next offset: 40",
                      footer({"total": 45}, 20, 20))
        self.assertIn("Has more: no | Next offset: none", footer({"total": 45}, 5, 40))
        self.assertIn("Total matching: unknown | Has more: yes | Next offset: 10",
                      footer({"limit": 10}, 10, 0))

    def test_validator_is_driven_by_the_published_schema(self):
        tool = agentjobs_mcp.TOOLS_BY_NAME["list_jobs"]
        self.assertEqual(agentjobs_mcp.check_arguments(tool, {"limit": 5.0}),
                         {"limit": 5, "include_activities": False})
        with self.assertRaises(agentjobs_mcp.ArgumentError):
            agentjobs_mcp.check_arguments(tool, {"limit": 5.5})

    def test_config_refuses_non_http_urls_and_bad_numbers(self):
        config = agentjobs_mcp.Config({"AICONNECT_API_URL": "file:///etc/passwd", "AGENTJOBS_TIMEOUT": "-1"})
        self.assertEqual(config.api_url, agentjobs_mcp.DEFAULT_API_URL)
        self.assertEqual(len(config.problems), 2)
        self.assertIn("not an http(s) URL", config.problems[0])

    def test_env_file_parsing(self):
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".env", delete=False) as handle:
            handle.write("# comment\n\nexport A=1\nB='two words'\nC=\"q\\\"x\"\nD=plain # note\n")
        try:
            self.assertEqual(agentjobs_mcp.load_env_file(handle.name),
                             {"A": "1", "B": "two words", "C": 'q"x', "D": "plain"})
            with open(handle.name, "a") as more:
                more.write("not a setting\n")
            with self.assertRaises(ValueError) as caught:
                agentjobs_mcp.load_env_file(handle.name)
            self.assertIn("line 7", str(caught.exception))
        finally:
            os.unlink(handle.name)

    def test_server_imports_only_the_standard_library(self):
        code = ("import sys; sys.path.insert(0, %r); before = set(sys.modules)\n"
                "import agentjobs_mcp as m\n"
                "m.build_opener(m.Config({})); m.setup_logging(None, False); m.parse_args([])\n"
                "import sysconfig, os\n"
                "std = sysconfig.get_paths()['stdlib']\n"
                "bad = []\n"
                "for name, mod in list(sys.modules.items()):\n"
                "    f = getattr(mod, '__file__', None) or ''\n"
                "    if name == 'agentjobs_mcp' or not f: continue\n"
                "    if not os.path.realpath(f).startswith(os.path.realpath(std)) or 'site-packages' in f:\n"
                "        bad.append(name)\n"
                "print(sorted(bad))\n" % HERE)
        out = subprocess.check_output([sys.executable, "-S", "-c", code], env=clean_env())
        self.assertEqual(out.strip(), b"[]")
        with open(SERVER) as handle:
            source = handle.read()
        imported = set(re.findall(r"^\s*(?:import|from)\s+([A-Za-z_][\w.]*)", source, re.M))
        stdlib = {"json", "os", "sys", "threading", "time", "collections", "logging", "urllib.parse",
                  "urllib.request", "urllib.error", "http.client", "ssl", "socket", "random",
                  "email.utils", "datetime", "re", "argparse", "shlex", "signal", "msvcrt"}
        self.assertEqual(imported - stdlib, set())


###############################################################################
# Command line ################################################################
###############################################################################

def run_cli(*args, **env):
    proc = subprocess.Popen([sys.executable, SERVER] + list(args), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(**env))
    out, err = proc.communicate(b"", timeout=60)
    return proc.returncode, out.decode("utf-8"), err.decode("utf-8")


class CliTest(ApiTestCase):

    def test_version(self):
        code, out, err = run_cli("--version")
        self.assertEqual((code, out.strip()), (0, "agentjobs-mcp " + agentjobs_mcp.__version__))

    def test_help_lists_the_flags(self):
        code, out, _ = run_cli("--help")
        self.assertEqual(code, 0)
        for flag in ("--version", "--config", "--check", "--debug", "--env-file", "--log-file",
                     "--client-config"):
            self.assertIn(flag, out)

    def test_unknown_flag_prints_usage_and_exits_2(self):
        code, out, err = run_cli("--frobnicate")
        self.assertEqual((code, out), (2, ""))
        self.assertIn("usage:", err)

    def test_config_shows_settings_and_sources(self):
        code, out, _ = run_cli("--config", AICONNECT_API_URL="http://x.example/api/v0")
        self.assertEqual(code, 0)
        self.assertIn("AICONNECT_API_URL: http://x.example/api/v0  (env)", out)
        self.assertIn("AICONNECT_API_KEY: not set  (default)", out)
        self.assertIn("DEFAULT_ORG_ID: aiconnect  (default)", out)

    def test_bad_url_is_reported_by_every_tool(self):
        server = ServerProcess(None, AICONNECT_API_URL="file:///etc/passwd")
        self._servers.append(server)
        result = server.call("cancel_job", {"job_id": "job-0001"})
        self.assertTrue(result["isError"])
        self.assertIn("not an http(s) URL", text_of(result))
        self.assertEqual(server.close(), 0)
        self.assertIn("not an http(s) URL", server.stderr)

    def test_debug_traces_messages_and_http_exchanges_on_stderr(self):
        server = self.server(args=["--debug"])
        server.call("list_jobs", {})
        self.assertEqual(server.close(), 0)
        self.assertIn("initialize", server.stderr)
        self.assertRegex(server.stderr, r"GET http://127\.0\.0\.1:\d+/api/v0/services/agent-jobs\?limit=20 "
                                        r"-> 200 in [\d.]+ ms, \d+ bytes")
        self.assertRegex(server.stderr, r"tools/call list_jobs -> ok in [\d.]+ ms")

    def test_quiet_without_debug(self):
        server = self.server()
        server.call("list_jobs", {})
        self.assertEqual(server.close(), 0)
        self.assertEqual(server.stderr, "")

    def test_env_file_supplies_settings_and_the_environment_wins(self):
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".env", delete=False) as handle:
            handle.write("export AICONNECT_API_KEY='%s'\nDEFAULT_ORG_ID=from-file\n"
                         "DEFAULT_TIMEZONE=Europe/Lisbon\n" % KEY)
        try:
            code, out, _ = run_cli("--env-file", handle.name, "--config", DEFAULT_TIMEZONE="Asia/Tokyo")
            self.assertEqual(code, 0)
            self.assertIn("AICONNECT_API_KEY: set  (env file)", out)
            self.assertIn("DEFAULT_ORG_ID: from-file  (env file)", out)
            self.assertIn("DEFAULT_TIMEZONE: Asia/Tokyo  (env)", out)
            server = ServerProcess(self.api, args=["--env-file", handle.name], AICONNECT_API_KEY=None)
            self._servers.append(server)
            self.assertFalse(server.call("cancel_job", {"job_id": self.api.add_job(
                job_status="RUNNING")["job_id"]})["isError"])
        finally:
            os.unlink(handle.name)

    def test_env_file_errors_name_the_line_or_the_path(self):
        missing = os.path.join(MISSING_DIR, "file.env")
        code, _, err = run_cli("--env-file", missing)
        self.assertEqual(code, 2)
        self.assertIn(missing, err)

    def test_log_file_gets_debug_traces_without_the_key(self):
        import shutil
        import tempfile
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder, True)
        path = os.path.join(folder, "trace.log")
        server = self.server(args=["--log-file", path])
        server.call("list_jobs", {})
        self.api.add_fault(status=401, body={"message": "key %s refused" % KEY})
        server.call("list_jobs", {})
        self.assertEqual(server.close(), 0)
        with open(path) as handle:
            log_text = handle.read()
        self.assertIn("tools/call list_jobs", log_text)
        self.assertNotIn(KEY, log_text)
        self.assertEqual(server.stderr, "")

    def test_client_configs_are_valid_and_use_absolute_paths(self):
        for name in ("claude-desktop", "cursor", "windsurf", "vscode"):
            code, out, err = run_cli("--client-config", name, AICONNECT_API_KEY=KEY)
            self.assertEqual(code, 0, err)
            data = json.loads(out)
            entry = (data.get("mcpServers") or data["servers"])["agentjobs"]
            self.assertEqual(entry["command"], sys.executable)
            self.assertEqual(entry["args"], [SERVER])
            self.assertEqual(entry["env"]["AICONNECT_API_KEY"], "<your AICONNECT_API_KEY>")
            self.assertNotIn(KEY, out)
        code, out, _ = run_cli("--client-config", "vscode")
        self.assertEqual(json.loads(out)["servers"]["agentjobs"]["type"], "stdio")
        code, out, _ = run_cli("--client-config", "claude-desktop", "--include-key",
                               AICONNECT_API_KEY=KEY, DEFAULT_ORG_ID="acme")
        env = json.loads(out)["mcpServers"]["agentjobs"]["env"]
        self.assertEqual((env["AICONNECT_API_KEY"], env["DEFAULT_ORG_ID"]), (KEY, "acme"))

    def test_client_config_for_claude_code_is_one_command(self):
        import shlex
        code, out, _ = run_cli("--client-config", "claude-code", DEFAULT_ORG_ID="acme")
        words = shlex.split(out)
        self.assertEqual(words[:4], ["claude", "mcp", "add", "agentjobs"])
        self.assertIn("DEFAULT_ORG_ID=acme", words)
        self.assertEqual(words[-3:], ["--", sys.executable, SERVER])

    def test_client_config_for_codex_is_toml(self):
        code, out, _ = run_cli("--client-config", "codex", DEFAULT_ORG_ID="org \"q\" \u00e9")
        self.assertEqual(code, 0)
        try:
            import tomllib
        except ImportError:
            tomllib = None
        if tomllib is not None:
            data = tomllib.loads(out)["mcp_servers"]["agentjobs"]
        else:  # before 3.11: the tiny subset this output uses
            data = {"env": {}}
            table = data
            for line in out.splitlines():
                if line.startswith("[mcp_servers.agentjobs.env]"):
                    table = data["env"]
                elif " = " in line:
                    key, value = line.split(" = ", 1)
                    table[key] = json.loads(value)
        self.assertEqual(data["command"], sys.executable)
        self.assertEqual(data["args"], [SERVER])
        self.assertEqual(data["env"]["DEFAULT_ORG_ID"], "org \"q\" \u00e9")

    def test_check_all_ok(self):
        code, out, err = run_cli("--check", AICONNECT_API_KEY=KEY, AICONNECT_API_URL=self.api.url)
        self.assertEqual(code, 0, out + err)
        for step in ("ok    url:", "ok    proxy: none", "ok    dns: 127.0.0.1", "ok    connect:",
                     "ok    tls: not used", "ok    api call:", "All checks passed."):
            self.assertIn(step, out)
        self.assertNotIn(KEY, out + err)
        self.assertEqual(self.only_request().raw_path, "/api/v0/services/agent-jobs?limit=1")

    def test_check_wrong_key(self):
        code, out, _ = run_cli("--check", AICONNECT_API_KEY="wrong", AICONNECT_API_URL=self.api.url)
        self.assertEqual(code, 1)
        self.assertIn("FAIL  api call:", out)
        self.assertIn("the key is wrong or lacks READ on SERVICES", out)

    def test_check_server_down(self):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        code, out, _ = run_cli("--check", AICONNECT_API_KEY=KEY,
                               AICONNECT_API_URL="http://127.0.0.1:%d/api/v0" % port)
        self.assertEqual(code, 1)
        self.assertIn("FAIL  connect:", out)

    def test_check_non_json_answer(self):
        self.api.add_fault(status=200, body="<html>captive portal</html>", content_type="text/html")
        code, out, _ = run_cli("--check", AICONNECT_API_KEY=KEY, AICONNECT_API_URL=self.api.url)
        self.assertEqual(code, 1)
        self.assertIn("not JSON", out)

    def test_check_without_key(self):
        code, out, _ = run_cli("--check", AICONNECT_API_URL=self.api.url)
        self.assertEqual(code, 1)
        self.assertIn("FAIL  api key: AICONNECT_API_KEY is not set", out)

    def test_check_proxy_is_named(self):
        code, out, _ = run_cli("--check", AICONNECT_API_KEY=KEY, AICONNECT_API_URL=self.api.url,
                               HTTP_PROXY="http://user:secret@127.0.0.1:9", NO_PROXY="")
        self.assertIn("proxy: http_proxy is http://user:****@127.0.0.1:9", out)
        self.assertNotIn("secret", out)
        self.assertIn("FAIL  connect:", out)


###############################################################################
# Runner ######################################################################
###############################################################################

# The seconds each class took in one serial run here (python3.11, 2 cores), to hand out the
# slowest first; a class not listed is placed by its test count (RUNNER_SECONDS_PER_TEST each).
CLASS_SECONDS = {"ProtocolTest": 4.1, "SecretsTest": 4.0, "InstallTest": 3.7, "ApiFailureTest": 3.7,
                 "CancelJobTest": 2.9, "CliTest": 2.2, "StatelessRevisionTest": 1.8, "FuzzTest": 1.7,
                 "CreateJobTest": 1.6, "ConcurrencyTest": 1.6, "EveryToolFailureTest": 1.5,
                 "TlsAndProxyTest": 1.4, "ArgumentTest": 1.3}
RUNNER_SECONDS_PER_TEST = 0.15


def suite_classes():
    """Every TestCase class of this module with at least one test, slowest first."""
    loader = unittest.defaultTestLoader
    module = sys.modules[__name__]
    found = []
    for name in dir(module):
        value = getattr(module, name)
        if isinstance(value, type) and issubclass(value, unittest.TestCase):
            count = len(loader.getTestCaseNames(value))
            if count:
                found.append((CLASS_SECONDS.get(name, count * RUNNER_SECONDS_PER_TEST), name))
    return [name for _, name in sorted(found, key=lambda item: (-item[0], item[1]))]


def run_class(name):
    """In a worker process: run one class; a picklable account of what happened."""
    import io
    stream = io.StringIO()
    started = time.monotonic()
    suite = unittest.defaultTestLoader.loadTestsFromName(name, sys.modules[__name__])
    result = unittest.TextTestRunner(stream=stream, verbosity=2).run(suite)
    problems = [("ERROR", str(test), text) for test, text in result.errors]
    problems += [("FAIL", str(test), text) for test, text in result.failures]
    problems += [("UNEXPECTED SUCCESS", str(test), "") for test in result.unexpectedSuccesses]
    lines = stream.getvalue().split("\n" + "=" * 70)[0].split("\n" + "-" * 70)[0]
    return {"name": name, "seconds": time.monotonic() - started, "run": result.testsRun,
            "skipped": len(result.skipped), "expected": len(result.expectedFailures),
            "problems": problems, "lines": lines.rstrip("\n")}


def run_parallel(jobs):
    """Each class in one of `jobs` worker processes, slowest first; unittest's report."""
    import multiprocessing
    names = suite_classes()
    started = time.monotonic()
    run = skipped = expected = 0
    problems = []
    pool = multiprocessing.Pool(min(jobs, len(names)))
    try:
        for outcome in pool.imap_unordered(run_class, names, 1):
            sys.stdout.write("%s\n%s: %d tests, %d problems, %.1f s\n" % (
                outcome["lines"], outcome["name"], outcome["run"], len(outcome["problems"]),
                outcome["seconds"]))
            sys.stdout.flush()
            run += outcome["run"]
            skipped += outcome["skipped"]
            expected += outcome["expected"]
            problems += outcome["problems"]
        pool.close()
    finally:
        pool.terminate()
        pool.join()
    for kind, test, text in problems:
        sys.stdout.write("%s\n%s: %s\n%s\n%s\n" % ("=" * 70, kind, test, "-" * 70, text))
    sys.stdout.write("%s\nRan %d tests in %.1f s in %d worker processes\n" % (
        "-" * 70, run, time.monotonic() - started, min(jobs, len(names))))
    return run, len(problems), skipped, expected


def run_serial(argv):
    """Plain unittest in this process (named classes or tests, unittest's own options)."""
    result = unittest.main(module=__name__, argv=argv, exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    return result.testsRun, failed, len(result.skipped), len(result.expectedFailures)


def default_jobs():
    return max(2, 2 * (os.cpu_count() or 1))


def run_suite(argv=None):
    """unittest, plus the closing line CI reads: "N passed, N failed, N skipped".

    No arguments: every class, in parallel worker processes (-j N / --jobs N sets how
    many; -j1 or --serial runs in this process). Class or test names, or any unittest
    option, run those serially here, as `python3 -m unittest` would.
    """
    argv = list(sys.argv if argv is None else argv)
    jobs, rest = None, argv[:1]
    words = iter(argv[1:])
    for word in words:
        if word == "--serial":
            jobs = "1"
        elif word in ("-j", "--jobs"):
            jobs = next(words, "")
        elif word.startswith("-j") or word.startswith("--jobs="):
            jobs = word.split("=", 1)[1] if "=" in word else word[2:]
        else:
            rest.append(word)
    jobs = int(jobs) if jobs is not None and jobs.isdigit() else jobs
    if jobs is not None and not (isinstance(jobs, int) and jobs >= 1):
        sys.stderr.write("-j needs a number of worker processes, 1 or more\n")
        return 2
    if jobs == 1 or len(rest) > 1:
        tests, failed, skipped, expected = run_serial(rest)
    else:
        tests, failed, skipped, expected = run_parallel(jobs or default_jobs())
    sys.stdout.flush()
    sys.stderr.flush()
    sys.stdout.write("%d passed, %d failed, %d skipped\n" % (tests - failed - skipped - expected, failed, skipped))
    return 0 if failed == 0 and tests > 0 else 1


if __name__ == "__main__":
    sys.exit(run_suite())

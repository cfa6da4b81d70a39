"""The stand-in AI Connect Agent Jobs API: a stdlib HTTP server for tests, demos and benchmarks.

Serves, under /api/v0 on 127.0.0.1, the endpoints of shared/agent-jobs-api.md with jobs,
activities and job types kept in memory:
    DELETE /services/agent-jobs/{job_id}          cancel (409 when finished)
    GET    /services/agent-jobs/{job_id}          one job (+ include=activities overlay)
    GET    /services/agent-jobs                   list, filters, paging, sort (+ overlay, + include=stats)
    POST   /services/agent-jobs                   create (?delay=)
    GET    /services/activities?job_id=...        a job's activities
    GET    /organizations/{org}/agent-jobs-type[/{id}]   job types
Every request must carry "Authorization: Bearer <key>". Paths are split on the raw "/"
before percent-decoding, so an encoded %2F never makes an extra segment.

Python API:
    api = StandInAPI(key="k", latency=0.0); api.start(); api.url; ...; api.stop()
    api.requests (Recorded: method, raw_path, path, decoded_path, segments, query,
    raw_query, headers, body, json), api.add_job(**fields), api.jobs, api.activities,
    api.job_types, api.add_fault(...), api.latency, api.in_flight, api.max_in_flight,
    api.cancel_reply = "job" | "message", api.reset().
<<<<<<< HEAD
    api.hold() keeps every request that comes, counted in flight and recorded by nothing
    yet, until api.release() (or stop(), or 30 s): a test waits on what is in flight, not
    on a latency it hopes is long enough.
=======
Jobs that move on by themselves (issue 27): add_job(moves=[(seconds, status), ...]) or
(seconds, status, {fields}) steps, each due `seconds` after the one before it (the first
after add_job); api.create_moves = the same list for every job a POST creates (None: they
stay as created). A step is applied when a request comes after it is due, with updated_at
set then; a job that has ended (a DELETE cancelled it) takes no more steps.
MOVES_TO_COMPLETED and moves_to(end, seconds) make the usual SCHEDULED, RUNNING, end.
>>>>>>> main
Connections: HTTP/1.1 with keep-alive (a connection serves requests until the client
closes it or an answer says "Connection: close"). api.connections_accepted counts the
TCP connections accepted since start() or reset(); api.drop_idle() closes, from the
server's side, every connection now waiting for its next request (as a server's idle
timeout would), and returns how many it closed.
TLS: StandInAPI(tls=True) serves https with standin/tls/server.pem (for 127.0.0.1 and
localhost), signed by the test-only CA standin/tls/ca.pem, whose key was thrown away.
Faults, add_fault(status=500, body=b"", content_type=None, headers=None, times=1, method=None,
path_contains=None, action="respond", delay=None, size=10 MiB, interval=0.5, repeat=1), consulted in order; the first
whose `method` (None: any) and `path_contains` (substring of the raw request-target, None: any)
match is used `times` times (None: always). The request is still recorded. Actions:
    "respond"  status, body (bytes, str, or dict/list sent as JSON), content_type (None: JSON for
               a dict/list, text/html otherwise), headers; after `delay` s (None: 0)
    "drop"     close the connection without answering
    "hang"     answer nothing for `delay` s (None: 30), then close; stop() wakes it early
    "huge"     200 JSON whose body is `size` bytes, streamed in 64 KiB chunks
    "reset"    write `body` (bytes: the start of an answer, e.g. a status line), wait `delay` s
               (None: 0.2), then reset the connection (RST: SO_LINGER 0)
    "trickle"  status and headers at once (no Content-Length), then the body one byte every
               `interval` s (spaces once it is all sent) until `delay` s have passed (None:
               forever, until stop() or the client hangs up); then the rest, and it closes
    "interim"  `repeat` interim answers (`status` 1xx, e.g. 102 or 103, with `headers`), then
               the real answer once the client sends more or `delay` s have passed (None: 0.5),
               as an API still processing sends it
    "stray"    the real answer with `body` (bytes, e.g. the start of another answer) in the same
               write as its body: one TLS record, whose tail the client has decrypted already
    "framing"  `status`, `headers` as given (a list of (name, value) pairs may repeat a name) and
               no Content-Length of its own, then `body`: at once, or with `delay` set, once the
               client sends its next request or `delay` s have passed (the late bytes of an
               answer framed shorter, e.g. a 204 with a body); the connection stays open
    "short"    `status` and a Content-Length for all of `body`, then only its first half; it closes
Anything that is not a fault answers JSON (application/json; charset=utf-8) with Content-Length.
"""

import collections
import copy
import datetime
import http.server
import json
import os
import select
import socket
import socketserver
import ssl
import struct
import threading
import time
import urllib.parse

def body_bytes(payload):
    """An answer's body as bytes: a dict or list as JSON, a str as UTF-8, bytes as they are."""
    if isinstance(payload, (dict, list)):
        return json.dumps(payload).encode("utf-8")
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return payload or b""


Recorded = collections.namedtuple(
    "Recorded", "method raw_path path decoded_path segments query raw_query headers body json")

STATUSES = ("WAITING", "SCHEDULED", "RUNNING", "COMPLETED", "FAILED", "CANCELED")
TERMINAL = ("COMPLETED", "FAILED", "CANCELED")
ACTIVITY_SORTS = ("created_at", "-created_at")
FAULT_ACTIONS = ("respond", "drop", "hang", "huge", "trickle", "reset", "interim", "stray", "framing",
                 "short")
JSON_TYPE = "application/json; charset=utf-8"
TLS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tls")
CA_FILE = os.path.join(TLS_DIR, "ca.pem")


def moves_to(end="COMPLETED", seconds=0.2):
    """Steps for a job that is SCHEDULED, then RUNNING, then `end`, `seconds` apart."""
    fields = {"COMPLETED": {"result": "Customer answered; order confirmed."},
              "FAILED": {"result": {"error": "no answer after 3 follow-ups"}}}.get(end, {})
    return [(0.0, "SCHEDULED"), (seconds, "RUNNING"), (seconds, end, fields)]


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class ApiError(Exception):
    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status, self.message = status, message


def seed_job_types():
    schema = {
        "type": "object", "required": ["customer_name", "order_id"],
        "properties": {
            "customer_name": {"type": "string", "description": "Name used to greet the customer"},
            "order_id": {"type": "string", "description": "Order to follow up on"},
            "language": {"type": "string", "enum": ["pt-BR", "en", "es"], "default": "pt-BR",
                         "description": "Conversation language"},
            "max_discount": {"type": "number", "default": 0, "description": "Largest discount to offer, in %"},
            "notes": {"type": "string", "description": "Free-form notes for the agent"},
        }}
    base = {"org_id": "aiconnect", "version": 3, "visibility": "private", "active": True,
            "created_at": "2024-05-02T14:00:00Z", "updated_at": "2024-07-01T09:30:00Z"}
    types = [
        dict(base, id="customer-followup", name="Customer follow-up", emoji="\U0001f4de",
             description="Follows up with a customer after a purchase until they answer.",
             default_config={"max_follow_ups": 3, "max_task_retries": 2, "task_retry_interval": 30,
                             "max_time_to_complete": 1440, "failure_cooldown_minutes": 60,
                             "profile_id": "profile-sales", "start_prompt": "Greet the customer."},
             params_schema=schema, tags="sales,post-purchase"),
        dict(base, id="lead-qualification", name="Lead qualification", emoji="\U0001f3af",
             description="Asks a new lead a few questions and scores them.",
             default_config={"max_follow_ups": 2, "max_task_retries": 1, "task_retry_interval": 15,
                             "max_time_to_complete": 240, "failure_cooldown_minutes": 30},
             params_schema={"type": "object", "required": ["lead_name"], "properties": {
                 "lead_name": {"type": "string", "description": "The lead's name"},
                 "source": {"type": "string", "description": "Where the lead came from"}}},
             tags=["sales", "leads"]),
        dict(base, id="nps-survey", name="NPS survey", emoji="\U0001f4ca",
             description="Asks for a 0-10 score and a comment.",
             default_config={"max_follow_ups": 1, "max_task_retries": 0, "task_retry_interval": 60,
                             "max_time_to_complete": 2880, "failure_cooldown_minutes": 0},
             params_schema={}, tags="survey"),
        dict(base, org_id="other-org", id="other-type", name="Other org's type", emoji="\U0001f512",
             description="Belongs to other-org.", default_config={}, params_schema={}, tags=""),
    ]
    return dict(((t["org_id"], t["id"]), t) for t in types)


def seed_jobs():
    def job(number, status, job_type, channel, platform, **extra):
        record = {
            "job_id": "job-%04d" % number, "org_id": "aiconnect", "channel_code": channel,
            "chat_id": "chat-%04d" % number, "job_type_id": job_type, "job_status": status,
            "created_at": "2024-07-%02dT10:00:00Z" % (10 + number),
            "updated_at": "2024-07-%02dT12:30:00Z" % (10 + number),
            "scheduled_at": "2024-07-%02dT10:05:00Z" % (10 + number),
            "last_task_created_at": "2024-07-%02dT11:00:00Z" % (10 + number),
            "tasks": [{"task_id": "task-%04d-1" % number, "created_at": "2024-07-%02dT10:05:00Z" % (10 + number),
                       "status": "done", "result": "message sent"}],
            "result": None, "params": {"customer_name": "Customer %d" % number, "order_id": "A-%d" % (1000 + number)},
            "config": {"max_follow_ups": 3, "max_task_retries": 2, "task_retry_interval": 30,
                       "max_time_to_complete": 1440},
            "channel_data": {"platform": platform, "channel_id": channel, "name": "Customer %d" % number,
                             "profile_id": "profile-sales", "thread_id": None},
            "flags": {"is_new_channel": number % 2 == 0, "has_human_reply": number % 3 == 0,
                      "first_reply_at": None, "ignore_cooldown": False},
            "tags": "vip" if number % 2 else "q3-campaign",
            "execution_log": ["job created", "task 1 dispatched"], "activities_count": 0}
        record.update(extra)
        return record
    jobs = [
        job(1, "RUNNING", "customer-followup", "5511999990001", "whatsapp"),
        job(2, "WAITING", "customer-followup", "5511999990002", "whatsapp", tasks=[], last_task_created_at=None),
        job(3, "SCHEDULED", "nps-survey", "C0123SLACK", "slack", scheduled_at="2030-01-01T09:00:00Z", tasks=[]),
        job(4, "COMPLETED", "customer-followup", "5511999990004", "whatsapp",
            result="Customer answered; order confirmed.", flags={"is_new_channel": False, "has_human_reply": True,
                                                                 "first_reply_at": "2024-07-14T10:20:00Z",
                                                                 "ignore_cooldown": False}),
        job(5, "FAILED", "lead-qualification", "web-user-5", "web", result={"error": "no answer after 3 follow-ups"},
            tasks=[{"task_id": "task-0005-%d" % i, "created_at": "2024-07-15T1%d:00:00Z" % i, "status": "failed"}
                   for i in range(1, 4)], execution_log=["job created"] + ["retry %d" % i for i in range(1, 8)]),
        job(6, "CANCELED", "customer-followup", "5511999990006", "whatsapp", result="Canceled: duplicate"),
        job(7, "RUNNING", "lead-qualification", "web-user-7", "web",
            created_at=1721728800000, updated_at=1721736000000, scheduled_at=1721729100000),
        job(8, "COMPLETED", "nps-survey", "C0456SLACK", "slack", result={"score": 9, "comment": "Great"}),
        job(9, "RUNNING", "other-type", "5511999990009", "whatsapp", org_id="other-org"),
    ]
    return dict((j["job_id"], j) for j in jobs)


def seed_activities():
    def act(number, job_id, status, kind, source, output, minute):
        return {"id": "act-%04d" % number, "org_id": "aiconnect", "activity_type_code": kind,
                "status": status, "allocated_credits": 10, "consumed_credits": 7 if status == "completed" else 0,
                "credits_rule_id": "rule-standard", "payloads": {"input": {"prompt": "step %d" % number},
                                                                 "output": output},
                "processed_at": "2024-07-11T10:%02d:30Z" % minute if status == "completed" else None,
                "created_at": "2024-07-11T10:%02d:00Z" % minute, "updated_at": "2024-07-11T10:%02d:30Z" % minute,
                "source": {"type": source, "reference_id": "ref-%d" % number, "execution_id": "exec-%d" % number,
                           "job_id": job_id, "chat_id": "chat-0001", "agent_job_type_id": "customer-followup",
                           "channel_code": "5511999990001"}}
    one = [act(1, "job-0001", "completed", "ai_completion", "dispatch", "Hello! How was your order?", 5),
           act(2, "job-0001", "completed", "ai_completion", "process_module",
               "Line one of the answer\nline two\twith a tab", 10),
           act(3, "job-0001", "submitted", "message_dispatch", "direct", None, 15),
           act(4, "job-0001", "completed", "ai_completion", "dispatch", "A long answer. " * 30, 20)]
    five = [act(10 + i, "job-0005", "canceled" if i == 2 else "completed", "ai_completion", "dispatch",
                "attempt %d" % i, 30 + i) for i in range(1, 4)]
    return {"job-0001": one, "job-0005": five}


def sort_key(value):
    """Order timestamps given as ISO strings or epoch milliseconds together."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value / 1000.0, datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S.%f")
    return "" if value is None else str(value).replace("Z", "")


class StandInAPI(object):
    """The stand-in API on 127.0.0.1 (see the module docstring)."""

    def __init__(self, key="test-key", latency=0.0, seed=True, port=0, log=None, tls=False):
        self.key, self.latency, self.seed, self.port, self.log = key, latency, seed, port, log
        self.tls = None
        if tls:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER) if hasattr(ssl, "PROTOCOL_TLS_SERVER") \
                else ssl.SSLContext(ssl.PROTOCOL_TLSv1_2)
            self.tls.load_cert_chain(os.path.join(TLS_DIR, "server.pem"), os.path.join(TLS_DIR, "server-key.pem"))
        self.lock = threading.Lock()
        self.open_handlers = set()  # the RequestHandler of each connection now open
        self.stopping = threading.Event()
        self.released = threading.Event()  # cleared by hold(): requests wait for it
        self.released.set()
        self.httpd = self.thread = None
        self.reset()
        self.latency = latency

    # -- lifecycle -----------------------------------------------------------
    def start(self):
        api = self

        class Handler(RequestHandler):
            owner = api

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128

        self.httpd = Server(("127.0.0.1", self.port), Handler)
        started = threading.Event()

        def serve():
            started.set()
            self.httpd.serve_forever(poll_interval=0.05)
        self.stopping.clear()
        self.thread = threading.Thread(target=serve, name="standin-api")
        self.thread.daemon = True
        self.thread.start()
        started.wait()
        return self

    @property
    def origin(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.httpd.server_address[1])

    @property
    def url(self):
        return self.origin + "/api/v0"

    def stop(self):
        self.stopping.set()
        self.released.set()
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(5)
            self.httpd = None
        self.drop_idle()  # kept-alive connections would otherwise outlive the server

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- state ---------------------------------------------------------------
    def reset(self):
        with self.lock:
            self.jobs = seed_jobs() if self.seed else {}
            self.activities = seed_activities() if self.seed else {}
            self.job_types = seed_job_types() if self.seed else {}
            self.requests = []
            self.faults = []
            self.latency = 0.0
            self.released.set()
            self.cancel_reply = "job"
            self.in_flight = self.max_in_flight = 0
            self.connections_accepted = 0
            self.next_number = 100
            self.moves = {}  # job id -> [(due, status, fields)], soonest first
            self.create_moves = None
            for job_id, records in self.activities.items():
                if job_id in self.jobs:
                    self.jobs[job_id]["activities_count"] = len(records)

    def clear_requests(self):
        with self.lock:
            self.requests = []

    def last_request(self):
        with self.lock:
            return self.requests[-1] if self.requests else None

    def drop_idle(self, settle=2.0):
        """Close every connection that is waiting for its next request; how many.

        A client has its answer a moment before the handler that wrote it is back to
        waiting: wait (up to `settle` s) until no handler is between an answer and
        its next read, so that an answer just read counts its connection as idle."""
        deadline = time.monotonic() + settle
        while True:
            with self.lock:
                settling = [h for h in self.open_handlers if h.answered and not h.idle]
                idle = [h for h in self.open_handlers if h.idle]
            if not settling or time.monotonic() >= deadline:
                break
            time.sleep(0.005)
        for handler in idle:
            handler.drop()
        return len(idle)

    def hold(self):
        """Requests from now on wait, in flight, until release()."""
        self.released.clear()

    def release(self):
        self.released.set()

    def reset_in_flight(self):
        with self.lock:
            self.max_in_flight = self.in_flight

    def add_job(self, moves=None, **fields):
        with self.lock:
            self.next_number += 1
            number = self.next_number
        stamp = now_iso()
        job = {"job_id": "job-%04d" % number, "org_id": "aiconnect", "channel_code": "5511988880000",
               "chat_id": None, "job_type_id": "customer-followup", "job_status": "WAITING",
               "created_at": stamp, "updated_at": stamp, "scheduled_at": stamp, "last_task_created_at": None,
               "tasks": [], "result": None, "params": {"customer_name": "Test"},
               "config": {"max_follow_ups": 3, "max_task_retries": 2},
               "channel_data": {"platform": "whatsapp", "channel_id": "5511988880000", "name": "Test"},
               "flags": {"is_new_channel": True, "has_human_reply": False, "first_reply_at": None,
                         "ignore_cooldown": False},
               "tags": "", "execution_log": [], "activities_count": 0}
        job.update(fields)
        with self.lock:
            self.jobs[job["job_id"]] = job
            if moves:
                self.plan_moves(job["job_id"], moves)
        self.advance()
        return job

    def plan_moves(self, job_id, moves):
        due, plan = time.monotonic(), []
        for step in moves:
            due += step[0]
            plan.append((due, step[1], step[2] if len(step) > 2 else {}))
        self.moves[job_id] = plan

    def advance(self):
        """Apply every step that is due (see the module docstring)."""
        now = time.monotonic()
        with self.lock:
            for job_id, plan in list(self.moves.items()):
                job = self.jobs.get(job_id)
                while plan and plan[0][0] <= now and job is not None and job["job_status"] not in TERMINAL:
                    _, status, fields = plan.pop(0)
                    job.update(fields, job_status=status, updated_at=now_iso())
                if not plan or job is None or job["job_status"] in TERMINAL:
                    del self.moves[job_id]

    def add_fault(self, status=500, body=b"", content_type=None, headers=None, times=1,
                  method=None, path_contains=None, action="respond", delay=None, size=10 * 1024 * 1024,
                  interval=0.5, repeat=1):
        if action not in FAULT_ACTIONS:
            raise ValueError("action must be one of %s" % ", ".join(FAULT_ACTIONS))
        if content_type is None:
            content_type = JSON_TYPE if isinstance(body, (dict, list)) else "text/html; charset=utf-8"
        if delay is None:  # trickle keeps None: forever
            delay = {"hang": 30.0, "reset": 0.2, "trickle": None, "interim": 0.5}.get(action, 0.0)
        with self.lock:
            self.faults.append({"status": status, "body": body, "content_type": content_type,
                                "headers": headers or {}, "times": times, "method": method,
                                "path_contains": path_contains, "action": action, "delay": delay,
                                "size": size, "interval": interval, "repeat": repeat})

    def clear_faults(self):
        with self.lock:
            self.faults = []

    def take_fault(self, method, raw_path):
        with self.lock:
            for fault in self.faults:
                if fault["method"] not in (None, method):
                    continue
                if fault["path_contains"] is not None and fault["path_contains"] not in raw_path:
                    continue
                if fault["times"] is not None:
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    # -- the endpoints -------------------------------------------------------
    def route(self, method, segments, query, body):
        """(status, payload) for a request; raises ApiError."""
        self.advance()
        if segments[:2] == ["services", "agent-jobs"] and len(segments) == 3:
            job_id = segments[2]
            if method == "DELETE":
                return self.cancel(job_id, query, body)
            if method == "GET":
                return self.get_job(job_id, query)
        if segments == ["services", "agent-jobs"]:
            if method == "GET":
                return self.list_jobs(query)
            if method == "POST":
                return self.create_job(query, body)
        if segments == ["services", "activities"] and method == "GET":
            return self.list_activities(query)
        if len(segments) in (3, 4) and segments[0] == "organizations" and segments[2] == "agent-jobs-type" \
                and method == "GET":
            org = segments[1]
            if len(segments) == 4:
                return self.get_job_type(org, segments[3])
            return self.list_job_types(org, query)
        raise ApiError(404, "Cannot %s /%s" % (method, "/".join(segments)))

    def find_job(self, job_id, query):
        if not job_id:
            raise ApiError(400, "job_id is required")
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, "Job with ID '%s' not found" % job_id)
        org = one(query, "org_id")
        if org is not None and job.get("org_id") != org:
            raise ApiError(403, "Job '%s' belongs to another organization" % job_id)
        return job

    def cancel(self, job_id, query, body):
        with self.lock:
            job = self.find_job(job_id, query)
            if job["job_status"] in TERMINAL:
                raise ApiError(409, "Job '%s' is already %s and cannot be canceled" % (job_id, job["job_status"]))
            job["job_status"] = "CANCELED"
            job["updated_at"] = now_iso()
            if isinstance(body, dict) and body.get("reason"):
                job["cancel_reason"] = body["reason"]
                job["result"] = "Canceled: %s" % body["reason"]
            snapshot = copy.deepcopy(job)
        if self.cancel_reply == "message":
            return 200, {"meta": {"org_id": snapshot["org_id"], "job_id": job_id},
                         "message": "Job with ID '%s' successfully canceled" % job_id}
        return 200, {"data": snapshot, "meta": {"org_id": snapshot["org_id"], "job_id": job_id}}

    def get_job(self, job_id, query):
        with self.lock:
            job = copy.deepcopy(self.find_job(job_id, query))
            meta = {"org_id": job.get("org_id")}
            if one(query, "include") == "activities":
                limit = int_param(query, "include_limit", 50, 1, 100)
                order = choice_param(query, "include_sort", ACTIVITY_SORTS, "-created_at")
                records = sort_records(self.activities.get(job_id, []), order)
                job["Activities"] = copy.deepcopy(records[:limit])
                meta["activities_meta"] = {"count": len(records), "limit": limit}
        return 200, {"data": job, "meta": meta}

    def filtered_jobs(self, query, with_status=True):
        org = one(query, "org_id")
        status = one(query, "status")
        jobs = []
        for job in self.jobs.values():
            if org is not None and job.get("org_id") != org:
                continue
            if org is None and job.get("org_id") != "aiconnect":
                continue
            if with_status and status and job["job_status"] != status.upper():
                continue
            if not matches_dates(job, query):
                continue
            if one(query, "job_type_id") and job.get("job_type_id") != one(query, "job_type_id"):
                continue
            if one(query, "channel_code") and job.get("channel_code") != one(query, "channel_code"):
                continue
            tags = one(query, "tags")
            if tags:
                wanted = set(t.strip() for t in tags.split(",") if t.strip())
                have = set(t.strip() for t in str(job.get("tags") or "").split(","))
                if not wanted & have:
                    continue
            jobs.append(job)
        return jobs

    def list_jobs(self, query):
        with self.lock:
            include = (one(query, "include") or "").split(",")
            stats = "stats" in include
            jobs = self.filtered_jobs(query, with_status=not stats)
            field, _, direction = (one(query, "sort") or "created_at:desc").partition(":")
            jobs.sort(key=lambda j: sort_key(j.get(field)), reverse=direction != "asc")
            limit = int_param(query, "limit", 20, 1, 1000)
            offset = int_param(query, "offset", 0, 0, 10 ** 9)
            page = copy.deepcopy(jobs[offset:offset + limit])
            meta = {"count": len(page), "limit": limit, "offset": offset, "total": len(jobs)}
            if stats:
                meta["stats"] = {"status": status_counts(jobs)}
            if "activities" in include:
                per_job = int_param(query, "activities_limit_per_job", 15, 1, 100)
                total_limit = int_param(query, "activities_total_limit", 500, 1, 3000)
                order = choice_param(query, "activities_sort", ACTIVITY_SORTS, "-created_at")
                returned = available = 0
                for job in page:
                    records = sort_records(self.activities.get(job["job_id"], []), order)[:per_job]
                    available += len(self.activities.get(job["job_id"], []))
                    records = records[:max(0, total_limit - returned)]
                    returned += len(records)
                    job["Activities"] = copy.deepcopy(records)
                meta.update(activities_total_returned=returned, activities_total_available=available,
                            activities_truncated=returned < available)
        return 200, {"data": page, "meta": meta}

    def create_job(self, query, body):
        delay = one(query, "delay")
        if delay is not None and not delay.isdigit():
            raise ApiError(400, "delay must be a non-negative integer")
        if not isinstance(body, dict):
            raise ApiError(400, "The body must be a JSON object")
        job_type_id = body.get("job_type_id")
        channel = body.get("target_channel")
        if not isinstance(job_type_id, str) or not job_type_id:
            raise ApiError(400, "job_type_id is required")
        if not isinstance(channel, dict) or channel.get("platform") not in ("whatsapp", "slack", "web") \
                or not channel.get("code"):
            raise ApiError(400, "target_channel needs platform (whatsapp, slack or web) and code")
        org = channel.get("org_id") or "aiconnect"
        if (org, job_type_id) not in self.job_types:
            raise ApiError(404, "Job type '%s' not found in organization '%s'" % (job_type_id, org))
        fields = {"org_id": org, "job_type_id": job_type_id, "channel_code": channel["code"],
                  "channel_data": dict(channel.get("data") or {}, platform=channel["platform"],
                                       channel_id=channel["code"]),
                  "params": body.get("params") or {},
                  "config": dict(self.job_types[(org, job_type_id)].get("default_config") or {},
                                 **(body.get("config") or {})),
                  "job_status": "SCHEDULED" if body.get("scheduled_at") else "WAITING"}
        if body.get("scheduled_at"):
            fields["scheduled_at"] = body["scheduled_at"]
        job = self.add_job(moves=self.create_moves, **fields)
        return 201, {"data": copy.deepcopy(job)}

    def list_activities(self, query):
        job_id = one(query, "job_id")
        if not job_id:
            raise ApiError(400, "job_id is required")
        with self.lock:
            records = list(self.activities.get(job_id, []))
            for name in ("status", "activity_type_code"):
                if one(query, name):
                    records = [r for r in records if r.get(name) == one(query, name)]
            if one(query, "source_type"):
                records = [r for r in records if isinstance(r.get("source"), dict)
                           and r["source"].get("type") == one(query, "source_type")]
            records = sort_records(records, one(query, "sort") or "-created_at")
            limit = int_param(query, "limit", 50, 1, 1000)
            offset = int_param(query, "offset", 0, 0, 10 ** 9)
            page = copy.deepcopy(records[offset:offset + limit])
        return 200, {"data": page, "meta": {"count": len(page), "limit": limit, "total": len(records),
                                            "offset": offset}}

    def list_job_types(self, org, query):
        with self.lock:
            types = [t for (o, _), t in self.job_types.items() if o == org]
            if not types and org not in set(o for o, _ in self.job_types):
                raise ApiError(404, "Organization '%s' not found" % org)
            field, _, direction = (one(query, "sort") or "name:asc").partition(":")
            types.sort(key=lambda t: str(t.get(field, "")), reverse=direction == "desc")
            limit = int_param(query, "limit", 20, 1, 1000)
            offset = int_param(query, "offset", 0, 0, 10 ** 9)
            page = []
            for job_type in types[offset:offset + limit]:
                item = {"id": job_type["id"], "name": job_type["name"], "description": job_type.get("description")}
                if one(query, "enrich") == "emoji":
                    item["emoji"] = job_type.get("emoji")
                if one(query, "include") == "schema":
                    item["params_schema"] = job_type.get("params_schema")
                page.append(item)
        return 200, {"data": page, "meta": {"total": len(types), "limit": limit, "offset": offset}}

    def get_job_type(self, org, job_type_id):
        with self.lock:
            job_type = self.job_types.get((org, job_type_id))
            if job_type is None:
                raise ApiError(404, "Job type '%s' not found in organization '%s'" % (job_type_id, org))
            return 200, {"data": copy.deepcopy(job_type)}


def status_counts(jobs):
    counts = dict((s.lower(), 0) for s in STATUSES)
    for job in jobs:
        status = str(job.get("job_status")).lower()
        counts[status] = counts.get(status, 0) + 1
    return counts


def one(query, name):
    values = query.get(name)
    return values[0] if values else None


def int_param(query, name, default, low, high):
    value = one(query, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, "%s must be an integer" % name)
    if not low <= number <= high:
        raise ApiError(400, "%s must be between %d and %d" % (name, low, high))
    return number


def choice_param(query, name, choices, default):
    value = one(query, name)
    if value is None:
        return default
    if value not in choices:
        raise ApiError(400, "%s must be one of %s" % (name, ", ".join(choices)))
    return value


def sort_records(records, order):
    field = order.lstrip("-")
    return sorted(records, key=lambda r: sort_key(r.get(field)), reverse=order.startswith("-"))


def matches_dates(job, query):
    for name, field, test in (("scheduled_at", "scheduled_at", lambda a, b: a[:len(b)] == b),
                              ("scheduled_at_gte", "scheduled_at", lambda a, b: a >= b),
                              ("scheduled_at_lte", "scheduled_at", lambda a, b: a <= b),
                              ("created_at_gte", "created_at", lambda a, b: a >= b),
                              ("created_at_lte", "created_at", lambda a, b: a <= b)):
        wanted = one(query, name)
        if wanted and not test(sort_key(job.get(field)), wanted.replace("Z", "")):
            return False
    return True


class RequestHandler(http.server.BaseHTTPRequestHandler):
    owner = None  # the StandInAPI, set on a subclass
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the body would wait for
    # the client's (delayed) ACK of the headers, 40 ms on a kept-alive connection. Servers
    # that keep connections alive switch it off (nginx's tcp_nodelay, Node's noDelay).
    disable_nagle_algorithm = True

    idle = False  # waiting for the next request on a kept-alive connection
    stray = b""  # bytes a "stray" fault sends after the real answer, in the same write
    answered = False  # an answer went out and the handler is not yet back to waiting

    def setup(self):
        with self.owner.lock:
            self.owner.connections_accepted += 1
            self.owner.open_handlers.add(self)
        if self.owner.tls is not None:  # the handshake happens here, in the handler's thread
            self.request.settimeout(10)
            try:
                self.request = self.owner.tls.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError):
                self.request = None
        if self.request is None:
            self.rfile = self.wfile = None
            return
        http.server.BaseHTTPRequestHandler.setup(self)

    def handle(self):
        if self.rfile is not None:
            http.server.BaseHTTPRequestHandler.handle(self)

    def handle_one_request(self):
        self.idle, self.answered = True, False  # until the request line is in (handle_api)
        try:
            http.server.BaseHTTPRequestHandler.handle_one_request(self)
        except (OSError, ValueError):  # drop_idle() closed it under the read
            self.close_connection = True
        self.idle = False

    def drop(self):
        """Close the connection from this side, as a FIN: under TLS the TCP socket's own
        shutdown (SSLSocket.shutdown would pull the TLS state from under the reader)."""
        self.close_connection = True
        try:
            socket.socket.shutdown(self.connection, socket.SHUT_RDWR)
        except OSError:
            pass

    def finish(self):
        with self.owner.lock:
            self.owner.open_handlers.discard(self)
        if self.rfile is not None:
            http.server.BaseHTTPRequestHandler.finish(self)
        if self.owner.tls is not None and self.request is not None:
            self.request.close()  # the TLS wrapper; socketserver closes only the raw socket

    def log_message(self, fmt, *args):
        if self.owner.log:
            self.owner.log("%s %s" % (self.address_string(), fmt % args))

    def do_GET(self):
        self.handle_api()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def handle_api(self):
        self.idle = False
        api = self.owner
        with api.lock:
            api.in_flight += 1
            api.max_in_flight = max(api.max_in_flight, api.in_flight)
        self.counted = True
        try:
            if not api.released.is_set():
                api.released.wait(30)
            self._handle(api)
        finally:
            self.leave()

    def leave(self):
        """No longer in flight: called before the answer is written, since the client may
        send its next request the moment it has the answer (and drop_idle() may come)."""
        self.answered = True
        if getattr(self, "counted", False):
            self.counted = False
            with self.owner.lock:
                self.owner.in_flight -= 1

    def _handle(self, api):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            return self.reply(400, {"message": "Bad Content-Length"})
        body = self.rfile.read(length) if length else b""
        path, _, raw_query = self.path.partition("?")
        raw_segments = path.split("/")
        segments = [urllib.parse.unquote(s) for s in raw_segments]
        try:
            parsed = json.loads(body.decode("utf-8")) if body else None
        except ValueError:
            parsed = None
        record = Recorded(self.command, self.path, path, urllib.parse.unquote(path), segments,
                          urllib.parse.parse_qs(raw_query, keep_blank_values=True), raw_query,
                          dict((k.lower(), v) for k, v in self.headers.items()), body, parsed)
        with api.lock:
            api.requests.append(record)
        fault = api.take_fault(self.command, self.path)
        if api.latency:
            api.stopping.wait(api.latency)
        self.stray = b""
        if fault is not None and fault["action"] == "interim":
            self.send_interim(fault)  # then the real answer
        elif fault is not None and fault["action"] == "stray":
            self.stray = body_bytes(fault["body"])  # reply() sends it after the real answer
        elif fault is not None:
            return self.fault(fault)
        if api.key is not None and self.headers.get("Authorization") != "Bearer " + api.key:
            return self.reply(401, {"message": "Invalid or missing API key"})
        if segments[:3] != ["", "api", "v0"]:
            return self.reply(404, {"message": "Not found: %s" % path})
        if body and parsed is None:
            return self.reply(400, {"message": "The body is not valid JSON"})
        try:
            status, payload = api.route(self.command, segments[3:], record.query, parsed)
        except ApiError as error:
            status, payload = error.status, {"message": error.message, "statusCode": error.status}
        self.reply(status, payload)

    def send_error(self, code, message=None, explain=None):
        """http.server's own errors (bad request line, unknown method) as JSON too."""
        self.close_connection = True
        self.reply(code, {"message": message or self.responses.get(code, ("Error",))[0]})

    def reply(self, status, payload, content_type=JSON_TYPE, headers=None):
        data = body_bytes(payload)
        self.leave()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data + self.stray)

    def fault(self, fault):
        getattr(self, "fault_" + fault["action"])(fault)

    def fault_respond(self, fault):
        if fault["delay"]:
            self.owner.stopping.wait(fault["delay"])
        self.reply(fault["status"], fault["body"], fault["content_type"], fault["headers"])

    def send_interim(self, fault):
        """`repeat` 1xx answers, then a wait for the client or for `delay` s."""
        for _ in range(fault["repeat"]):
            self.send_response_only(fault["status"])
            for name, value in fault["headers"].items():
                self.send_header(name, value)
            self.end_headers()
        self.wfile.flush()
        self.wait_for_client(fault["delay"])

    def wait_for_client(self, delay):
        """Until the client sends something (or hangs up), `delay` s pass, or the API stops."""
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and not self.owner.stopping.is_set():
            pending = self.connection.pending() if self.owner.tls is not None else 0
            if pending or select.select([self.connection], [], [], 0.02)[0]:
                return

    def fault_framing(self, fault):
        """Status and headers exactly as given; the body at once or late (see the docstring)."""
        self.leave()
        self.send_response(fault["status"])
        headers = fault["headers"]
        for name, value in headers.items() if isinstance(headers, dict) else headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()
        if fault["delay"]:
            self.wait_for_client(fault["delay"])
        try:
            self.wfile.write(body_bytes(fault["body"]))
        except OSError:
            self.close_connection = True

    def fault_short(self, fault):
        """A Content-Length for the whole body, half of it, then the end of the connection."""
        data = body_bytes(fault["body"])
        self.leave()
        self.close_connection = True
        self.send_response(fault["status"])
        self.send_header("Content-Type", fault["content_type"])
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data[:len(data) // 2])
        except OSError:
            pass

    def fault_drop(self, fault):
        self.leave()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def fault_reset(self, fault):
        """The start of an answer, then a reset: the client has read bytes when it fails."""
        self.leave()
        self.close_connection = True
        try:
            self.wfile.write(fault["body"])
            self.wfile.flush()
            self.owner.stopping.wait(fault["delay"])
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            socket.socket.close(self.connection)
        except OSError:
            pass

    def fault_hang(self, fault):
        """Answer nothing until `delay` passes, the API stops, or the client hangs up."""
        self.close_connection = True
        deadline = time.monotonic() + fault["delay"]
        while time.monotonic() < deadline and not self.owner.stopping.is_set():
            if self.owner.tls is not None:  # SSLSocket refuses MSG_PEEK: just wait
                self.owner.stopping.wait(min(0.05, max(0.0, deadline - time.monotonic())))
                continue
            if select.select([self.connection], [], [], 0.05)[0]:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return
                except OSError:
                    return

    def fault_huge(self, fault):
        """A valid JSON object of exactly `size` bytes (at least 12), sent in chunks."""
        size = max(int(fault["size"]), 12)
        head, tail = b'{"data": "', b'"}'
        self.leave()
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        chunk = b"x" * 65536
        try:
            self.wfile.write(head)
            left = size - len(head) - len(tail)
            while left > 0:
                self.wfile.write(chunk[:left])
                left -= min(left, len(chunk))
            self.wfile.write(tail)
        except OSError:
            pass

    def fault_trickle(self, fault):
        """Headers now, then the body (and spaces after it) one byte per `interval`."""
        body = body_bytes(fault["body"])
        self.leave()
        self.close_connection = True
        self.send_response(fault["status"])
        self.send_header("Content-Type", fault["content_type"])
        self.send_header("Connection", "close")
        for name, value in fault["headers"].items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()
        deadline = time.monotonic() + fault["delay"] if fault["delay"] else None
        sent = 0
        while not self.owner.stopping.is_set() and (deadline is None or time.monotonic() < deadline):
            byte = body[sent:sent + 1] or b" "
            try:
                self.wfile.write(byte)
                self.wfile.flush()
            except (OSError, ValueError):
                return  # the client hung up
            sent += 1
            self.owner.stopping.wait(fault["interval"])
        try:
            self.wfile.write(body[sent:])  # the duration is over: the rest at once
        except (OSError, ValueError):
            pass

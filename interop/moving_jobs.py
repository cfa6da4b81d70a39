"""Jobs on the stand-in API that move on by themselves, for the interop tasks checks.

Standard library only: imported by interop/run.py (the machine's python3) and by
interop/tasks_frameworks.py (in the frameworks' venvs). A moving job goes SCHEDULED, then
RUNNING, then COMPLETED (or FAILED), one state every `step` seconds; its clock can wait for a
condition, such as the first time the API is asked for it, so a client that reaches it late
still sees it move.
"""
import threading
import time

STEP = 0.6  # seconds in each state: long enough to be seen working, short for the run's time


def set_status(api, job_id, status):
    with api.lock:
        job = api.jobs[job_id]
        job["job_status"] = status
        job["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        if status == "COMPLETED":
            job["result"] = "Followed to its end by interop"


def looked_at(api, job_id):
    """A condition: the API has been asked for this job (GET) at least once."""
    suffix = "/agent-jobs/" + job_id
    return lambda: any(r.method == "GET" and r.path.endswith(suffix) for r in list(api.requests))


def moving_job(api, end="COMPLETED", steps=("RUNNING",), step=None, on_look=True):
    """A new job that goes SCHEDULED -> each of `steps` -> `end` on its own, `step` seconds
    apart; with `on_look`, its clock starts when the API is first asked for it (60 s at most)."""
    job_id = api.add_job(job_status="SCHEDULED")["job_id"]
    step = STEP if step is None else step
    start_after = looked_at(api, job_id) if on_look else None

    def run():
        if start_after is not None:
            deadline = time.monotonic() + 60
            while not start_after() and time.monotonic() < deadline:
                time.sleep(0.02)
        for status in tuple(steps) + (end,):
            time.sleep(step)
            set_status(api, job_id, status)
    thread = threading.Thread(target=run, name="moving-" + job_id)
    thread.daemon = True
    thread.start()
    return job_id


def moving_created_jobs(api, end="COMPLETED", step=None):
    """From now until the returned Event is set, every job create_job makes moves on by
    itself (RUNNING after `step` s, then `end`)."""
    step = STEP if step is None else step
    with api.lock:
        seen = set(api.jobs)
    stop = threading.Event()

    def run():
        while not stop.is_set():
            with api.lock:
                fresh = [job_id for job_id in api.jobs if job_id not in seen]
            for job_id in fresh:
                seen.add(job_id)
                for delay, status in ((step, "RUNNING"), (2 * step, end)):
                    timer = threading.Timer(delay, set_status, (api, job_id, status))
                    timer.daemon = True
                    timer.start()
            stop.wait(0.02)
    thread = threading.Thread(target=run, name="moving-created")
    thread.daemon = True
    thread.start()
    return stop

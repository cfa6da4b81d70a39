"""Jobs on the stand-in API that move on by themselves, for the interop tasks checks.

Standard library only: imported by interop/run.py (the machine's python3) and by
interop/tasks_frameworks.py (in the frameworks' venvs). The moving itself is the stand-in's
(`add_job(moves=...)`, `api.create_moves`, `moves_to`: SCHEDULED, then RUNNING, then
COMPLETED or FAILED, a step every few tenths of a second); what this adds is a clock that
starts when the API is first asked for the job, so a client that reaches a job made for it
up front still sees it working, and sees it move.
"""
import threading
import time

from standin.agentjobs_api import moves_to

STEP = 0.4  # seconds in each state: short for the run's time (the server looks at most once a second)


def looked_at(api, job_id):
    """A condition: the API has been asked for this job (GET) at least once."""
    suffix = "/agent-jobs/" + job_id
    return lambda: any(r.method == "GET" and r.path.endswith(suffix) for r in list(api.requests))


def moving_job(api, end="COMPLETED", step=None):
    """A new SCHEDULED job that moves on by itself (RUNNING, then `end`, `step` seconds
    apart) from the first time the API is asked for it (60 s at most)."""
    job_id = api.add_job(job_status="SCHEDULED")["job_id"]
    seen = looked_at(api, job_id)

    def run():
        deadline = time.monotonic() + 60
        while not seen() and time.monotonic() < deadline:
            time.sleep(0.02)
        with api.lock:
            api.plan_moves(job_id, moves_to(end, STEP if step is None else step)[1:])
    thread = threading.Thread(target=run, name="moving-" + job_id)
    thread.daemon = True
    thread.start()
    return job_id


def moving_created_jobs(api, end="COMPLETED", step=None):
    """Every job create_job makes from now on moves on by itself (the stand-in's create_moves)."""
    api.create_moves = moves_to(end, STEP if step is None else step)


def set_status(api, job_id, status):
    """Move a job now (the stand-in applies it as the next request comes)."""
    with api.lock:
        api.plan_moves(job_id, [(0.0, status)])

"""A small FastAPI app of an LMS reporting to Belfry with the real
sentry-sdk and its FastAPI integration, carrying every SDK feature Belfry
takes:

- errors: two exception sites (one holding a password in a local
  variable), a captured message with an e-mail address, messages with a
  custom fingerprint, a release and an environment;
- release health: the ASGI middleware's request-mode session tracking
  (`auto_session_tracking`), one session a request, aggregated by the SDK
  and flushed every 60 s and at shutdown (the lifespan's shutdown handler
  flushes, as a deploy's SIGTERM would have it);
- performance: a `traces_sampler` that samples the course page's
  transactions and the guide's 10 % of the others;
- crons: the grade-sync job run under `sentry_sdk.monitor` with a
  `monitor_config`, so its first check-in upserts the monitor; it fails
  when asked to;
- user feedback: the form an error page offers, naming the event id the
  user was shown, sent as the `feedback` envelope item the browser SDK's
  widget sends (the Python SDK has no feedback call of its own).

A middleware tags each request's events with its `request_id` (the
X-Request-ID header, else a new one) and writes a JSON log line with the
same `request_id` to Belfry's NDJSON logs API, so errors and logs can be
joined. The SDK is told to send personal data and its own scrubbing is off:
what is tested is that the server scrubs whatever arrives.

Usage: errors_fastapi_app.py DSN PORT LOGS_URL
"""

import contextlib
import json
import sys
import time
import urllib.request
import uuid

import sentry_sdk
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from sentry_sdk.envelope import Envelope, Item, PayloadRef
from sentry_sdk.integrations.fastapi import FastApiIntegration
from sentry_sdk.integrations.starlette import StarletteIntegration
from sentry_sdk.scrubber import EventScrubber

dsn, port, logs_url = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def traces_sampler(sampling_context):
    # The sampler runs before routing, so it reads the raw path.
    path = sampling_context.get("asgi_scope", {}).get("path", "")
    return 1.0 if path.startswith("/courses/") else 0.1


sentry_sdk.init(
    dsn=dsn,
    release="lms@3.1.0",
    environment="staging",
    send_default_pii=True,
    event_scrubber=EventScrubber(denylist=[], pii_denylist=[]),
    integrations=[StarletteIntegration(), FastApiIntegration()],
    auto_session_tracking=True,
    traces_sampler=traces_sampler,
)

# Every minute, a minute's margin and runtime (Belfry's test config makes
# a schedule minute short).
GRADE_SYNC = {
    "schedule": {"type": "interval", "value": 1, "unit": "minute"},
    "checkin_margin": 1,
    "max_runtime": 1,
    "timezone": "Europe/Berlin",
    "failure_issue_threshold": 1,
    "recovery_threshold": 1,
}


@contextlib.asynccontextmanager
async def lifespan(app):
    yield
    # Request-mode sessions wait in the SDK's aggregate for up to 60 s;
    # uvicorn re-raises SIGTERM after shutdown, which skips atexit.
    sentry_sdk.flush(timeout=10)


app = FastAPI(lifespan=lifespan)


def log_line(record):
    body = (json.dumps(record) + "\n").encode()
    req = urllib.request.Request(logs_url, data=body, headers={"Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


@app.middleware("http")
async def request_id_middleware(request: Request, call_next):
    request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
    sentry_sdk.set_tag("request_id", request_id)
    log_line(
        {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "level": "INFO",
            "service": "lms-api",
            "request_id": request_id,
            "path": request.url.path,
            "message": f"{request.method} {request.url.path} started",
        }
    )
    return await call_next(request)


@app.get("/ok")
def ok():
    return {"ok": True}


@app.get("/grade/{submission}")
def grade(submission: int):
    password = "hunter2-SECRET"  # noqa: F841 - a local the frame reports
    raise KeyError(f"grade for submission {submission}")


@app.get("/enrol/{course}")
def enrol(course: str):
    raise ValueError(f"course {course} is full")


@app.get("/export")
def export(teacher: str):
    sentry_sdk.capture_message(f"quiz export failed for teacher {teacher}")
    return {"reported": True}


@app.get("/quiz/{seconds}")
def quiz(seconds: int):
    with sentry_sdk.new_scope() as scope:
        scope.fingerprint = ["quiz-export-timeouts"]
        sentry_sdk.capture_message(f"quiz export timed out after {seconds} s")
    return {"reported": True}


@app.get("/courses/{course_id}")
def course(course_id: int, slow: float = 0.0):
    time.sleep(slow)
    if course_id != 101:
        raise HTTPException(status_code=404, detail="no such course")
    return {"id": course_id, "title": "Calculus"}


class SyncFailed(Exception):
    pass


@app.post("/jobs/grade-sync")
def grade_sync(fail: bool = False):
    # The job's failure is the monitor's to report (an error check-in),
    # not an error event: the scheduler only needs the status code.
    try:
        with sentry_sdk.monitor(monitor_slug="grade-sync", monitor_config=GRADE_SYNC):
            if fail:
                raise SyncFailed("the registry did not answer")
    except SyncFailed as e:
        return JSONResponse({"error": str(e)}, status_code=503)
    return {"synced": True}


@app.post("/feedback")
async def feedback(request: Request):
    form = await request.json()
    envelope = Envelope()
    envelope.add_item(
        Item(
            type="feedback",
            payload=PayloadRef(
                json={
                    "event_id": uuid.uuid4().hex,
                    "timestamp": time.time(),
                    "contexts": {
                        "feedback": {
                            "message": form["comments"],
                            "contact_email": form["email"],
                            "name": form["name"],
                            "associated_event_id": form["event_id"],
                            "url": str(request.url),
                        }
                    },
                }
            ),
        )
    )
    sentry_sdk.get_client().transport.capture_envelope(envelope)
    return {"thanks": True}


uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")

"""A small FastAPI app of an LMS reporting to Belfry with the real
sentry-sdk and its FastAPI integration: two exception sites (one holding a
password in a local variable), a captured message with an e-mail address,
messages with a custom fingerprint, a release and an environment. A
middleware tags each request's events with its `request_id` (the
X-Request-ID header, else a new one) and writes a JSON log line with the
same `request_id` to Belfry's NDJSON logs API, so errors and logs can be
joined. The SDK is told to send personal data and its own scrubbing is off:
what is tested is that the server scrubs whatever arrives.

Usage: errors_fastapi_app.py DSN PORT LOGS_URL
More routes (sessions, transactions, check-ins, feedback) can be added
beside these; each feature's test calls its own routes.
"""

import json
import sys
import time
import urllib.request
import uuid

import sentry_sdk
import uvicorn
from fastapi import FastAPI, Request
from sentry_sdk.integrations.fastapi import FastApiIntegration
from sentry_sdk.integrations.starlette import StarletteIntegration
from sentry_sdk.scrubber import EventScrubber

dsn, port, logs_url = sys.argv[1], int(sys.argv[2]), sys.argv[3]

sentry_sdk.init(
    dsn=dsn,
    release="lms@3.1.0",
    environment="staging",
    send_default_pii=True,
    event_scrubber=EventScrubber(denylist=[], pii_denylist=[]),
    integrations=[StarletteIntegration(), FastApiIntegration()],
    traces_sample_rate=0,
)

app = FastAPI()


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


uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")

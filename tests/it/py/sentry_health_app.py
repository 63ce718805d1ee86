"""An LMS-like program sending release health, transactions, user feedback
and attachments with the real sentry-sdk to the DSN given first.

Usage: sentry_health_app.py DSN app|server|feedback|attachments

- app: release lms@2.0, application-mode sessions (one `session` item per
  session): student-1 healthy, student-2 with a handled error, student-1
  crashing (an unhandled exception), student-3 healthy.
- server: release lms@2.1, request-mode sessions (the SDK aggregates them
  into a `sessions` item): six requests, each a transaction — four fine,
  one with a handled error, one crashing with status internal_error — plus
  one /quiz/{id} and one /export transaction.
- feedback: a gradebook error and `feedback` naming it; a `user_report`
  naming an event that is sent after it.
- attachments: an event with a small CSV attachment and one larger than
  the server's limit.

Prints the event ids it made as JSON.
"""

import json
import sys
import time
import uuid

import sentry_sdk
from sentry_sdk.envelope import Envelope, Item, PayloadRef
from sentry_sdk.sessions import track_session
from sentry_sdk.utils import event_from_exception

dsn = sys.argv[1]
mode = sys.argv[2]

sentry_sdk.init(
    dsn=dsn,
    release="lms@2.1" if mode == "server" else "lms@2.0",
    environment="production",
    auto_session_tracking=True,
    traces_sample_rate=1.0,
    default_integrations=False,
)


class GradebookError(Exception):
    pass


# One function per site, so each site is its own issue (grouping reads
# functions, not line numbers).
def save_grades(user):
    raise GradebookError("save failed for " + user)


def handle_request(i):
    raise GradebookError("request %d" % i)


def save_gradebook():
    raise GradebookError("the gradebook could not save")


def crash(exc):
    """Reports `exc` as unhandled, as a framework integration does."""
    event, hint = event_from_exception(exc, mechanism={"type": "test", "handled": False})
    return sentry_sdk.capture_event(event, hint=hint)


def send(items, event_id=None):
    headers = {"event_id": event_id} if event_id else {}
    envelope = Envelope(headers=headers)
    for ty, payload in items:
        envelope.add_item(Item(payload=PayloadRef(json=payload), type=ty))
    sentry_sdk.get_client().transport.capture_envelope(envelope)


out = {}

if mode == "app":
    for user, outcome in [("student-1", "ok"), ("student-2", "error"), ("student-1", "crash"), ("student-3", "ok")]:
        sentry_sdk.set_user({"id": user})
        sentry_sdk.start_session()
        try:
            save_grades(user)
        except GradebookError as e:
            if outcome == "error":
                sentry_sdk.capture_exception(e)
            elif outcome == "crash":
                crash(e)
        sentry_sdk.end_session()
elif mode == "server":
    for i, outcome in enumerate(["ok", "ok", "ok", "ok", "error", "crash"]):
        with sentry_sdk.isolation_scope() as scope:
            with track_session(scope, session_mode="request"):
                with sentry_sdk.start_transaction(name="/courses/{id}", op="http.server") as tx:
                    time.sleep(0.3 if i == 0 else 0.02)
                    try:
                        handle_request(i)
                    except GradebookError as e:
                        if outcome == "error":
                            sentry_sdk.capture_exception(e)
                        elif outcome == "crash":
                            crash(e)
                            tx.set_status("internal_error")
                    if outcome != "crash":
                        tx.set_status("ok")
    for name in ["/quiz/{id}", "/export"]:
        with sentry_sdk.start_transaction(name=name, op="http.server") as tx:
            tx.set_status("ok")
elif mode == "feedback":
    try:
        save_gradebook()
    except GradebookError as e:
        out["gradebook_event"] = sentry_sdk.capture_exception(e)
    sentry_sdk.flush(timeout=10)
    send(
        [
            (
                "feedback",
                {
                    "event_id": uuid.uuid4().hex,
                    "timestamp": time.time(),
                    "contexts": {
                        "feedback": {
                            "message": "Saving grades fails every time",
                            "contact_email": "ana.lima@uni.example",
                            "name": "Ana Lima",
                            "associated_event_id": out["gradebook_event"],
                            "url": "https://lms.example/gradebook",
                        }
                    },
                },
            )
        ]
    )
    late = uuid.uuid4().hex
    out["late_event"] = late
    send([("user_report", {"event_id": late, "name": "Bo Chen", "email": "bo.chen@uni.example", "comments": "The export hangs"})])
    sentry_sdk.flush(timeout=10)
    sentry_sdk.capture_event({"event_id": late, "message": "quiz export hung", "level": "error"})
elif mode == "attachments":
    with sentry_sdk.new_scope() as scope:
        scope.add_attachment(bytes=b"student,grade\ns1,A\ns2,B\n", filename="grades.csv", content_type="text/csv")
        scope.add_attachment(bytes=b"\x00" * (80 * 1024), filename="dump.bin")
        out["attachment_event"] = sentry_sdk.capture_message("grade import failed", level="error")

sentry_sdk.flush(timeout=10)
print(json.dumps(out))

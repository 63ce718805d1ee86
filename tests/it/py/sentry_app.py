"""An LMS-like program reporting errors with the real sentry-sdk to the DSN
given as the first argument: two exception sites raised several times each
(one holding a password in a local variable), a message with an e-mail
address in it, an event with its own fingerprint, and a request carrying a
Cookie header. The SDK's own scrubbing is switched off (an empty denylist):
`send_default_pii=False` is only the client's promise, and what is tested
is that the server scrubs whatever arrives.

Usage: sentry_app.py DSN [regression]
"""

import sys

import sentry_sdk
from sentry_sdk.scrubber import EventScrubber

dsn = sys.argv[1]
mode = sys.argv[2] if len(sys.argv) > 2 else "all"


def add_request(event, hint):
    event["request"] = {
        "url": "https://lms.example/courses/101/grades",
        "method": "POST",
        "headers": {"Cookie": "sessionid=COOKIE_VALUE_77", "User-Agent": "lms-test"},
        "cookies": {"sessionid": "COOKIE_VALUE_77"},
    }
    return event


sentry_sdk.init(
    dsn=dsn,
    release="lms@1.4.2",
    environment="production",
    send_default_pii=False,
    event_scrubber=EventScrubber(denylist=[], pii_denylist=[]),
    before_send=add_request,
    default_integrations=False,
)
sentry_sdk.set_user({"id": "student-4711", "email": "student4711@uni.example"})


def grade_submission(submission_id):
    password = "hunter2-SECRET"  # noqa: F841 - a local the frame reports
    raise KeyError("grade for submission %d" % submission_id)


def enrol(course):
    raise ValueError("course %s is full" % course)


def report(fn, *args):
    try:
        fn(*args)
    except Exception:
        sentry_sdk.capture_exception()


if mode == "regression":
    report(grade_submission, 999)
else:
    for i in range(3):
        report(grade_submission, i)
    for c in ["MATH101", "BIO200"]:
        report(enrol, c)
    sentry_sdk.capture_message("quiz export failed for teacher mail.teacher@uni.example")
    with sentry_sdk.new_scope() as scope:
        scope.fingerprint = ["quiz-export-timeouts"]
        sentry_sdk.capture_message("quiz export timed out after 30 s")
    with sentry_sdk.new_scope() as scope:
        scope.fingerprint = ["quiz-export-timeouts"]
        sentry_sdk.capture_message("quiz export timed out after 45 s")

sentry_sdk.flush(timeout=10)

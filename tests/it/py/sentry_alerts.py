"""An LMS-like program driving Belfry's error alerts and cron monitors
with the real sentry-sdk, one command a line on standard input so the
test decides when each thing happens; it answers each with "done".

  exception          report the grade-export crash (one issue)
  checkin STATUS     a check-in of the `grade-sync` monitor (ok, error,
                     in_progress), upserting its config: every minute,
                     1 minute margin, 1 minute max runtime

Usage: sentry_alerts.py DSN
"""

import sys

import sentry_sdk
from sentry_sdk.crons import capture_checkin

sentry_sdk.init(
    dsn=sys.argv[1],
    release="lms@2.0.1",
    environment="production",
    default_integrations=False,
)

MONITOR = {
    "schedule": {"type": "interval", "value": 1, "unit": "minute"},
    "checkin_margin": 1,
    "max_runtime": 1,
    "timezone": "Europe/Berlin",
    "failure_issue_threshold": 1,
    "recovery_threshold": 1,
}


def export_grades(course):
    raise RuntimeError("grade export for course %s lost its database connection" % course)


for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    if words[0] == "exception":
        try:
            export_grades(101)
        except Exception:
            sentry_sdk.capture_exception()
    elif words[0] == "checkin":
        capture_checkin(monitor_slug="grade-sync", status=words[1], monitor_config=MONITOR)
    else:
        raise SystemExit("unknown command %r" % line)
    sentry_sdk.flush(timeout=10)
    print("done", flush=True)

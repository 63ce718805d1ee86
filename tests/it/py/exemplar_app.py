"""A small instrumented app for Belfry's exemplar test: prometheus_client
serving OpenMetrics (negotiated by Accept) with a histogram whose
observations carry exemplars. Usage: exemplar_app.py PORT. Prints "ready"
once listening; serves until killed."""

import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Histogram, make_wsgi_app


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main():
    port = int(sys.argv[1])
    registry = CollectorRegistry()
    latency = Histogram(
        "lms_request_duration_seconds",
        "Request latency.",
        buckets=(0.1, 0.5, 1.0),
        registry=registry,
    )
    latency.observe(0.05, exemplar={"request_id": "req-7", "trace_id": "0af7651916cd43dd"})
    latency.observe(0.3, exemplar={"request_id": "req-42", "trace_id": "4bf92f3577b34da6"})
    server = make_server("127.0.0.1", port, make_wsgi_app(registry), handler_class=QuietHandler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Serves one file as a Prometheus text-format scrape target.

Usage: serve_static.py FILE PORT

Every GET (any path) answers with the file's bytes, read once at start, as
`text/plain; version=0.0.4`. Each answered scrape prints one line
`scrape N` to stdout, flushed, so the benchmark script can count scrapes
per scraper without asking the scraper.
"""

import http.server
import sys
import threading


def serve(port, body, banner=None):
    """Answers every GET on 127.0.0.1:PORT with `body()` until killed,
    printing `scrape N` after each answer."""
    count = 0
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            nonlocal count
            data = body()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            with lock:
                count += 1
                print(f"scrape {count}", flush=True)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    if banner:
        print(banner, flush=True)
    server.serve_forever()


def main():
    path, port = sys.argv[1], int(sys.argv[2])
    with open(path, "rb") as f:
        data = f.read()
    serve(port, lambda: data)


if __name__ == "__main__":
    main()

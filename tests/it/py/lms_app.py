"""A small LMS API for the rule pack's tests: FastAPI under uvicorn on
127.0.0.1:PORT, instrumented exactly as the LMS README documents
(prometheus-fastapi-instrumentator with its defaults, plus the app's own
upload counters from prometheus_client), so the metrics Belfry scrapes are
the names, labels and buckets a real LMS exposes.

Usage: lms_app.py PORT. Prints "ready" once it serves; exits when stdin
closes, so a test that dies never leaves it running."""

import asyncio
import sys
import threading

import uvicorn
from fastapi import FastAPI, Response
from prometheus_client import Counter
from prometheus_fastapi_instrumentator import Instrumentator

UPLOADS = Counter("lms_file_uploads", "File upload attempts.")
UPLOAD_FAILURES = Counter("lms_file_upload_failures", "File upload attempts that failed.")

app = FastAPI()


@app.get("/api/courses")
async def courses():
    return [{"id": 1, "title": "Intro"}]


@app.get("/api/courses/{course_id}")
async def course(course_id: int):
    return {"id": course_id}


@app.get("/api/slow")
async def slow(seconds: float = 2.5):
    await asyncio.sleep(seconds)
    return {"slept": seconds}


@app.get("/api/fail")
async def fail():
    return Response(status_code=500)


@app.post("/api/upload")
async def upload(ok: bool = True):
    UPLOADS.inc()
    if not ok:
        UPLOAD_FAILURES.inc()
        return Response(status_code=422)
    return {"stored": True}


Instrumentator().instrument(app).expose(app)


def main():
    port = int(sys.argv[1])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)

    def stop_when_stdin_closes():
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=stop_when_stdin_closes, daemon=True).start()

    async def serve():
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                break
            await asyncio.sleep(0.05)
        if server.started:
            print("ready", flush=True)
        await task

    asyncio.run(serve())


if __name__ == "__main__":
    main()

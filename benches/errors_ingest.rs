//! Error ingest throughput on realistic Python exception events: what
//! `sentry-sdk` 2.x sends for an exception in a web request (30 frames
//! with context lines and local variables, breadcrumbs, request data,
//! contexts, modules), in envelopes as the SDK posts them.
//!
//! `cargo bench --profile measure --bench errors_ingest`. Before
//! criterion's runs it ingests `ERRORS_INGEST_ONCE_EVENTS` events (20,000)
//! once into a fresh store from 64 concurrent requests, as a server
//! would (decode, envelope split, parse, scrub, group in a blocking task,
//! then the durable group commit), and prints events per wall second and
//! per CPU second of the process (the per-core figure), the rate at which
//! `serde_json` alone parses the same events on one core, and the ratio.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use belfry::config::{ErrorLimitsConfig, PrivacyConfig, ProjectConfig};
use belfry::errors::{Endpoint, ErrorIngest, ErrorStore, EventScrubber, IngestRequest, Projects};
use belfry::privacy::Privacy;
use belfry::selfmetrics::Registry;
use belfry::state::{StateStore, StateWriter};
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

const KEY: &str = "0123456789abcdef0123456789abcdef";
const CONCURRENCY: usize = 64;

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

const LIBRARY_FRAMES: &[(&str, &str, &str)] = &[
    (
        "uvicorn.protocols.http.httptools_impl",
        "run_asgi",
        "uvicorn/protocols/http/httptools_impl.py",
    ),
    (
        "uvicorn.middleware.proxy_headers",
        "__call__",
        "uvicorn/middleware/proxy_headers.py",
    ),
    ("fastapi.applications", "__call__", "fastapi/applications.py"),
    ("starlette.applications", "__call__", "starlette/applications.py"),
    (
        "starlette.middleware.errors",
        "__call__",
        "starlette/middleware/errors.py",
    ),
    (
        "sentry_sdk.integrations.asgi",
        "_run_app",
        "sentry_sdk/integrations/asgi.py",
    ),
    (
        "starlette.middleware.base",
        "call_next",
        "starlette/middleware/base.py",
    ),
    (
        "starlette.middleware.exceptions",
        "__call__",
        "starlette/middleware/exceptions.py",
    ),
    (
        "starlette._exception_handler",
        "wrapped_app",
        "starlette/_exception_handler.py",
    ),
    ("starlette.routing", "__call__", "starlette/routing.py"),
    ("starlette.routing", "handle", "starlette/routing.py"),
    ("starlette.routing", "app", "starlette/routing.py"),
    ("fastapi.routing", "app", "fastapi/routing.py"),
    ("fastapi.routing", "run_endpoint_function", "fastapi/routing.py"),
    (
        "sentry_sdk.integrations.fastapi",
        "_sentry_app",
        "sentry_sdk/integrations/fastapi.py",
    ),
    (
        "starlette.concurrency",
        "run_in_threadpool",
        "starlette/concurrency.py",
    ),
    ("anyio.to_thread", "run_sync", "anyio/to_thread.py"),
    ("anyio._backends._asyncio", "run", "anyio/_backends/_asyncio.py"),
    ("sqlalchemy.orm.session", "execute", "sqlalchemy/orm/session.py"),
    (
        "sqlalchemy.engine.base",
        "_execute_context",
        "sqlalchemy/engine/base.py",
    ),
];

const APP_FRAMES: &[(&str, &str)] = &[
    ("lms.api.views", "submit_assignment"),
    ("lms.api.views", "grade_quiz"),
    ("lms.grading.service", "compute"),
    ("lms.grading.rubric", "load_rubric"),
    ("lms.courses.enrolment", "enrol"),
    ("lms.storage.files", "save_upload"),
    ("lms.db.queries", "fetch_submission"),
    ("lms.auth.permissions", "check_enrolled"),
    ("lms.notifications.mail", "send_receipt"),
    ("lms.export.grades", "export_csv"),
];

const EXCEPTIONS: &[(&str, &str, &str)] = &[
    ("KeyError", "builtins", "'criteria'"),
    ("ValueError", "builtins", "invalid rubric for assignment 4411"),
    ("DeadlockDetected", "psycopg2.errors", "deadlock detected"),
    (
        "TimeoutError",
        "builtins",
        "upstream storage did not answer within 30s",
    ),
    (
        "PermissionError",
        "builtins",
        "user 40211 is not enrolled in course 88",
    ),
    (
        "IntegrityError",
        "sqlalchemy.exc",
        "duplicate key value violates unique constraint",
    ),
    (
        "AttributeError",
        "builtins",
        "'NoneType' object has no attribute 'score'",
    ),
    ("ZeroDivisionError", "builtins", "division by zero"),
];

fn context_lines(function: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            Value::from(format!(
                "        result = {function}_step_{i}(request, course_id, options)"
            ))
        })
        .collect()
}

/// A local variable dict as the SDK serializes it (`repr`s, cut at 1,024).
fn frame_vars(rng: &mut Rng, in_app: bool) -> Value {
    let mut vars = serde_json::Map::new();
    vars.insert(
        "self".into(),
        json!(format!(
            "<lms.api.views.SubmissionView object at 0x7f{}>",
            rng.hex(10)
        )),
    );
    vars.insert(
        "request".into(),
        json!("<starlette.requests.Request object at 0x7f3b2c1d9e50>"),
    );
    vars.insert("course_id".into(), json!(rng.below(5000).to_string()));
    vars.insert(
        "user_id".into(),
        json!(format!("{}", 100_000 + rng.below(20_000))),
    );
    if in_app {
        vars.insert(
            "options".into(),
            json!({"late": "False", "attempt": "2", "max_score": "20"}),
        );
        vars.insert(
            "submission".into(),
            json!(format!(
                "<Submission id={} status='pending' files=3>",
                rng.below(1_000_000)
            )),
        );
        vars.insert("password".into(), json!("'hunter2-not-really'"));
        vars.insert(
            "rows".into(),
            json!([
                "(1, 'q1', 4.0)",
                "(2, 'q2', 3.5)",
                "(3, 'q3', 0.0)",
                "(4, 'q4', 2.0)"
            ]),
        );
    } else {
        vars.insert(
            "scope".into(),
            json!({"type": "'http'", "asgi": "{'version': '3.0'}", "http_version": "'1.1'"}),
        );
        vars.insert(
            "receive".into(),
            json!("<function RequestResponseCycle.receive at 0x7f3b2c1b4d30>"),
        );
        vars.insert(
            "send".into(),
            json!("<function wrap_send.<locals>.sender at 0x7f3b2c1b4f70>"),
        );
    }
    Value::Object(vars)
}

/// The in-app frames follow from the exception site (`site`), so events
/// of one site group into one issue, as in a real app.
fn frames(rng: &mut Rng, site: usize) -> Vec<Value> {
    let mut out = Vec::with_capacity(30);
    for i in 0..30 {
        let in_app = i >= 22;
        let (module, function, path) = if in_app {
            let (m, f) = APP_FRAMES[(site * 3 + i) % APP_FRAMES.len()];
            (
                m.to_string(),
                f.to_string(),
                format!("/srv/lms/{}.py", m.replace('.', "/")),
            )
        } else {
            let (m, f, p) = LIBRARY_FRAMES[i % LIBRARY_FRAMES.len()];
            (
                m.to_string(),
                f.to_string(),
                format!("/usr/local/lib/python3.11/site-packages/{p}"),
            )
        };
        let filename = path
            .rsplit_once("site-packages/")
            .map_or(path.trim_start_matches("/srv/"), |(_, f)| f);
        out.push(json!({
            "filename": filename,
            "abs_path": path,
            "function": function,
            "module": module,
            "lineno": 20 + rng.below(400),
            "pre_context": context_lines(&function, 5),
            "context_line": format!("        return await {function}(request, **params)"),
            "post_context": context_lines(&function, 5),
            "vars": frame_vars(rng, in_app),
            "in_app": in_app,
        }));
    }
    out
}

fn breadcrumbs(rng: &mut Rng, ts: f64) -> Vec<Value> {
    (0..25)
        .map(|i| {
            let t = ts - 2.0 + i as f64 * 0.05;
            match i % 3 {
                0 => json!({"type": "default", "category": "query", "level": "info", "timestamp": t,
                    "message": format!("SELECT submissions.id, submissions.status FROM submissions WHERE submissions.course_id = %(course_id)s AND submissions.user_id = %(user_id)s LIMIT {}", 1 + rng.below(50)),
                    "data": {"db.system": "postgresql", "db.params": {"course_id": rng.below(5000), "user_id": rng.below(20000)}}}),
                1 => json!({"type": "http", "category": "httplib", "level": "info", "timestamp": t,
                    "data": {"url": format!("http://storage.internal:9000/uploads/{}", rng.hex(16)), "method": "GET", "status_code": 200, "reason": "OK"}}),
                _ => json!({"type": "log", "category": "lms.grading", "level": "info", "timestamp": t,
                    "message": format!("rubric loaded for assignment {} ({} criteria)", rng.below(9000), rng.below(12)),
                    "logger": "lms.grading"}),
            }
        })
        .collect()
}

fn modules() -> Value {
    let names = [
        "fastapi",
        "starlette",
        "uvicorn",
        "pydantic",
        "pydantic-core",
        "sqlalchemy",
        "psycopg2-binary",
        "alembic",
        "celery",
        "kombu",
        "redis",
        "httpx",
        "httpcore",
        "anyio",
        "sniffio",
        "idna",
        "certifi",
        "urllib3",
        "requests",
        "charset-normalizer",
        "jinja2",
        "markupsafe",
        "python-multipart",
        "passlib",
        "bcrypt",
        "python-jose",
        "ecdsa",
        "rsa",
        "pyasn1",
        "six",
        "click",
        "h11",
        "httptools",
        "uvloop",
        "watchfiles",
        "websockets",
        "python-dotenv",
        "pyyaml",
        "typing-extensions",
        "annotated-types",
        "sentry-sdk",
        "prometheus-client",
        "orjson",
        "boto3",
        "botocore",
        "s3transfer",
        "jmespath",
        "python-dateutil",
        "pytz",
        "tzdata",
        "greenlet",
        "mako",
        "vine",
        "amqp",
        "billiard",
        "wcwidth",
        "prompt-toolkit",
        "click-didyoumean",
        "click-repl",
        "click-plugins",
    ];
    Value::Object(
        names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    n.to_string(),
                    json!(format!("{}.{}.{}", 1 + i % 4, i % 17, i % 5)),
                )
            })
            .collect(),
    )
}

/// One event as sentry-sdk 2.x's FastAPI integration sends it.
fn event(rng: &mut Rng, ts: f64) -> Value {
    let site = rng.below(EXCEPTIONS.len() as u64) as usize;
    let (ty, module, value) = EXCEPTIONS[site];
    let course = rng.below(5000);
    let request_id = format!(
        "{}-{}-4{}-a{}-{}",
        rng.hex(8),
        rng.hex(4),
        rng.hex(3),
        rng.hex(3),
        rng.hex(12)
    );
    let route = rng.pick(&[
        "/api/v1/assignments/{id}/submissions",
        "/api/v1/quiz/{id}/submit",
        "/api/v1/grades/{id}",
    ]);
    let path = route.replace("{id}", &course.to_string());
    json!({
        "event_id": rng.hex(32),
        "level": "error",
        "platform": "python",
        "timestamp": ts,
        "server_name": rng.pick(&["web-1", "web-2", "web-3"]),
        "release": "lms@2.14.1",
        "environment": "production",
        "transaction": route,
        "transaction_info": {"source": "route"},
        "tags": {"request_id": request_id, "course_id": course.to_string()},
        "user": {"id": format!("{}", 100_000 + rng.below(20_000)), "ip_address": "10.1.2.3"},
        "sdk": {"name": "sentry.python.fastapi", "version": "2.19.2",
            "packages": [{"name": "pypi:sentry-sdk", "version": "2.19.2"}],
            "integrations": ["argv", "atexit", "dedupe", "excepthook", "fastapi", "logging", "modules", "starlette", "stdlib", "threading"]},
        "contexts": {
            "runtime": {"name": "CPython", "version": "3.11.9", "build": "3.11.9 (main, Apr  2 2024, 08:25:04) [GCC 12.2.0]"},
            "trace": {"trace_id": rng.hex(32), "span_id": rng.hex(16), "parent_span_id": rng.hex(16), "op": "http.server", "status": "internal_error"},
            "os": {"name": "Linux"},
        },
        "modules": modules(),
        "extra": {"sys.argv": ["/usr/local/bin/uvicorn", "lms.main:app", "--host", "0.0.0.0", "--workers", "4"]},
        "breadcrumbs": {"values": breadcrumbs(rng, ts)},
        "request": {
            "url": format!("https://lms.example.edu{path}"),
            "method": "POST",
            "query_string": "draft=0",
            "headers": {
                "host": "lms.example.edu", "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
                "accept": "application/json", "content-type": "application/json", "content-length": "312",
                "x-request-id": request_id, "x-forwarded-for": "203.0.113.77", "authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc",
                "cookie": "sessionid=9f8e7d6c5b4a",
            },
            "env": {"REMOTE_ADDR": "10.1.2.3"},
            "data": {"answers": [{"question": 1, "choice": "b"}, {"question": 2, "choice": "d"}], "comment": "please regrade, mail me at student@uni.example"},
        },
        "exception": {"values": [{
            "type": ty,
            "value": value,
            "module": module,
            "mechanism": {"type": "starlette", "handled": false},
            "stacktrace": {"frames": frames(rng, site)},
        }]},
    })
}

/// Envelopes as the SDK posts them: header line, item header, event.
fn envelopes(n: usize, seed: u64) -> (Vec<Bytes>, Vec<Vec<u8>>) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let mut bodies = Vec::with_capacity(n);
    let mut events = Vec::with_capacity(n);
    for i in 0..n {
        let e = event(&mut rng, now - (n - i) as f64 * 0.001);
        let payload = serde_json::to_vec(&e).unwrap();
        let mut body = format!(
            "{{\"event_id\":\"{}\",\"sent_at\":\"2026-01-01T00:00:00Z\",\"dsn\":\"http://{KEY}@localhost/1\"}}\n{{\"type\":\"event\",\"length\":{}}}\n",
            e["event_id"].as_str().unwrap(),
            payload.len()
        )
        .into_bytes();
        body.extend_from_slice(&payload);
        body.push(b'\n');
        bodies.push(Bytes::from(body));
        events.push(payload);
    }
    (bodies, events)
}

fn request(body: Bytes) -> IngestRequest {
    IngestRequest {
        project: "1".into(),
        endpoint: Endpoint::Envelope,
        auth_header: Some(format!(
            "Sentry sentry_version=7, sentry_key={KEY}, sentry_client=sentry.python/2.19.2"
        )),
        query: None,
        content_encoding: None,
        body,
    }
}

fn open_ingest(dir: &std::path::Path) -> Arc<ErrorIngest> {
    let registry = Registry::new();
    let privacy = Privacy::open(&PrivacyConfig::default(), dir, registry.clone()).expect("privacy");
    let state = StateStore::open(dir).expect("state");
    let store = ErrorStore::open(state.clone(), StateWriter::start(state)).expect("store");
    let projects = Projects::new(
        &[ProjectConfig {
            id: 1,
            name: "lms".into(),
            keys: vec![KEY.into()],
            max_events_per_second: Some(u32::MAX),
        }],
        Vec::new(),
        u32::MAX,
    );
    let scrubber = EventScrubber::new(Some(privacy.scrubber.clone()), privacy.hasher.clone());
    Arc::new(ErrorIngest::new(
        projects,
        Arc::new(store),
        scrubber,
        Vec::new(),
        ErrorLimitsConfig::default(),
        &registry,
    ))
}

/// CPU seconds this process has used (user + system), as getrusage
/// reports them for RUSAGE_SELF, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Ingests every body from `CONCURRENCY` concurrent requests as the
/// server does (prepare in a blocking task, then the durable commit).
fn ingest_all(rt: &tokio::runtime::Runtime, ingest: &Arc<ErrorIngest>, bodies: &[Bytes]) {
    let queue = Arc::new(parking_lot::Mutex::new(bodies.to_vec()));
    rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..CONCURRENCY {
            let queue = queue.clone();
            let ingest = ingest.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let Some(body) = queue.lock().pop() else {
                        return;
                    };
                    let prepared = {
                        let ingest = ingest.clone();
                        tokio::task::spawn_blocking(move || ingest.prepare(request(body)))
                            .await
                            .unwrap()
                            .expect("prepare")
                    };
                    ingest.commit(prepared).await.expect("commit");
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

fn serde_rate(events: &[Vec<u8>]) -> f64 {
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed().as_secs_f64() < 2.0 {
        for e in events.iter().take(2_000) {
            black_box(serde_json::from_slice::<Value>(black_box(e)).unwrap());
            n += 1;
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn ingest_once(n: usize) {
    let (bodies, events) = envelopes(n, 0);
    let bytes: usize = events.iter().map(Vec::len).sum();
    let dir = tempfile::tempdir().expect("temp dir");
    let ingest = open_ingest(dir.path());
    let rt = runtime();
    let cpu = cpu_seconds();
    let wall = Instant::now();
    ingest_all(&rt, &ingest, &bodies);
    let wall = wall.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    let issues = ingest.store().issues(&Default::default());
    let stored: u64 = issues.iter().map(|i| i.count).sum();
    assert_eq!(stored, n as u64, "every event is stored once");
    let per_core = n as f64 / cpu.max(0.01);
    let serde = serde_rate(&events);
    eprintln!(
        "errors_ingest: {n} events of {} bytes on average, {} issues, {CONCURRENCY} concurrent requests: \
         {:.0} events/s wall, {per_core:.0} events per CPU second ({cpu:.2} CPU s over {wall:.2} s)",
        bytes / n,
        issues.len(),
        n as f64 / wall,
    );
    eprintln!(
        "errors_ingest: serde_json alone parses {serde:.0} events/s on one core; ingest per core is {:.2} of that",
        per_core / serde
    );
}

fn bench(c: &mut Criterion) {
    let once = std::env::var("ERRORS_INGEST_ONCE_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    ingest_once(once);

    let n = 1_000;
    let (bodies, events) = envelopes(n, 1);
    let dir = tempfile::tempdir().expect("temp dir");
    let ingest = open_ingest(dir.path());
    let rt = runtime();
    let mut group = c.benchmark_group("errors_ingest");
    group.throughput(Throughput::Elements(n as u64));
    group.sample_size(10);
    group.bench_function("serde_json_parse_1k_events", |b| {
        b.iter(|| {
            for e in &events {
                black_box(serde_json::from_slice::<Value>(black_box(e)).unwrap());
            }
        })
    });
    group.bench_function("prepare_1k_envelopes", |b| {
        b.iter(|| {
            for body in &bodies {
                black_box(ingest.prepare(request(body.clone())).expect("prepare"));
            }
        })
    });
    // Fresh events each round, or every round after the first would be
    // answered as retries.
    let mut round = 1u64;
    group.bench_function("ingest_durable_1k_envelopes", |b| {
        b.iter_batched(
            || {
                round += 1;
                envelopes(n, round).0
            },
            |bodies| ingest_all(&rt, &ingest, &bodies),
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

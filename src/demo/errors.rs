//! The synthetic LMS's Sentry events: one per failing request the log
//! generator reported (Sentry's SDK samples errors, so at the SDK's
//! `sample_rate`), with the exception's stack trace, the breadcrumbs
//! leading to it, the request (its `X-Request-ID` header) and a
//! `request_id` tag, so an issue's event finds its log lines. They go
//! through the errors ingest as a Sentry SDK's `store` request would.

use serde_json::{Value, json};

use super::logs::{Failure, FailureKind};
use super::rng::Rng;

/// The share of failures the SDK sends, as `sentry_sdk.init(sample_rate=…)`.
const SAMPLE_RATE: f64 = 0.05;
pub const RELEASE: &str = "lms@2.14.0";
pub const ENVIRONMENT: &str = "demo";

pub struct ErrorEvents {
    rng: Rng,
}

impl ErrorEvents {
    pub fn new(seed: u64) -> ErrorEvents {
        ErrorEvents {
            rng: Rng::stream(seed, "errors"),
        }
    }

    /// The events the SDK sends for these failures (a sample of them).
    pub fn events(&mut self, failures: &[Failure]) -> Vec<Value> {
        let mut out = Vec::new();
        for f in failures {
            if self.rng.chance(SAMPLE_RATE) {
                out.push(self.event(f));
            }
        }
        out
    }

    fn event(&mut self, f: &Failure) -> Value {
        let (module, class) = f.kind.exception();
        let at = f.t_ms as f64 / 1000.0;
        json!({
            "event_id": self.rng.hex(32),
            "timestamp": at,
            "platform": "python",
            "level": "error",
            "logger": "lms.api",
            "server_name": "lms-api-1",
            "release": RELEASE,
            "environment": ENVIRONMENT,
            "transaction": f.path,
            "tags": { "request_id": f.request_id, "handler": f.path },
            "user": { "id": f.user_id },
            "request": {
                "method": f.method,
                "url": format!("https://lms.example.edu{}", f.path),
                "headers": { "X-Request-ID": f.request_id, "User-Agent": "Mozilla/5.0" },
            },
            "exception": { "values": [{
                "type": class,
                "value": f.kind.text(),
                "module": module,
                "mechanism": { "type": "starlette", "handled": false },
                "stacktrace": { "frames": frames(f.kind) },
            }]},
            "breadcrumbs": { "values": breadcrumbs(f, at) },
            "sdk": { "name": "sentry.python.fastapi", "version": "2.19.2" },
        })
    }
}

/// The call path of each failure, innermost frame last as Sentry wants.
fn frames(kind: FailureKind) -> Vec<Value> {
    let app = |file: &str, function: &str, lineno: u32, line: &str| {
        json!({ "filename": file, "abs_path": format!("/srv/lms/{file}"), "function": function,
                "module": file.trim_end_matches(".py").replace('/', "."), "lineno": lineno,
                "context_line": line, "in_app": true })
    };
    let lib = |file: &str, function: &str, lineno: u32| json!({ "filename": file, "function": function, "lineno": lineno, "in_app": false });
    let mut out = vec![
        lib("starlette/routing.py", "app", 74),
        lib("fastapi/routing.py", "run_endpoint_function", 212),
    ];
    match kind {
        FailureKind::PoolTimeout | FailureKind::TooManyConnections => {
            out.push(app(
                "lms/api/courses.py",
                "get_course",
                48,
                "course = await repo.course(session, course_id)",
            ));
            out.push(app(
                "lms/db/repo.py",
                "course",
                112,
                "result = await session.execute(stmt)",
            ));
            if kind == FailureKind::PoolTimeout {
                out.push(lib("sqlalchemy/pool/impl.py", "_do_get", 168));
            } else {
                out.push(lib("asyncpg/connect_utils.py", "_connect_addr", 1047));
            }
        }
        FailureKind::CacheTimeout => {
            out.push(app(
                "lms/api/users.py",
                "me",
                31,
                "profile = await cache.get_profile(user.id)",
            ));
            out.push(app(
                "lms/cache.py",
                "get_profile",
                22,
                "raw = await redis.get(f\"profile:{user_id}\")",
            ));
            out.push(lib("redis/asyncio/connection.py", "read_response", 575));
        }
        FailureKind::MissingLesson => {
            out.push(app(
                "lms/api/lessons.py",
                "get_lesson",
                66,
                "body = render(lesson[\"content\"])",
            ));
        }
        FailureKind::EmptyQuiz => {
            out.push(app(
                "lms/api/quizzes.py",
                "submit_attempt",
                90,
                "score = grading.grade(attempt)",
            ));
            out.push(app(
                "lms/grading.py",
                "grade",
                17,
                "return correct / len(quiz.questions)",
            ));
        }
    }
    out
}

/// What happened in the request before it failed.
fn breadcrumbs(f: &Failure, at: f64) -> Vec<Value> {
    vec![
        json!({ "timestamp": at - 0.4, "category": "http", "type": "http", "level": "info",
                "data": { "method": f.method, "url": f.path } }),
        json!({ "timestamp": at - 0.3, "category": "auth", "level": "info",
                "message": format!("authenticated user {}", f.user_id) }),
        json!({ "timestamp": at - 0.1, "category": "query", "level": "info",
                "message": "SELECT courses.id, courses.code FROM courses WHERE courses.id = $1" }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_the_request_id_of_their_log_line() {
        let mut e = ErrorEvents::new(1);
        let failures: Vec<Failure> = (0..200)
            .map(|i| Failure {
                t_ms: 1_000_000 + i,
                request_id: format!("{i:016x}"),
                kind: FailureKind::PoolTimeout,
                path: "/api/courses",
                method: "GET",
                user_id: "s-1001".into(),
            })
            .collect();
        let events = e.events(&failures);
        assert!(
            !events.is_empty() && events.len() < failures.len(),
            "{} sampled",
            events.len()
        );
        for ev in &events {
            let rid = ev["tags"]["request_id"].as_str().unwrap();
            assert_eq!(ev["request"]["headers"]["X-Request-ID"], rid);
            assert!(failures.iter().any(|f| f.request_id == rid));
            assert!(
                !ev["exception"]["values"][0]["stacktrace"]["frames"]
                    .as_array()
                    .unwrap()
                    .is_empty()
            );
        }
    }
}

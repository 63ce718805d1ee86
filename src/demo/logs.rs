//! The synthetic LMS's log lines, as its JSON formatter writes them
//! (`docs/lms-metrics.md`, the guide's §7 fields): access lines with
//! request ids, the security events the Security dashboard and the
//! `lms-logs` pack read, PostgreSQL's slow-statement lines, and during an
//! incident the error lines of the failing requests. Each failing request
//! is handed back as a [`Failure`] so its error event carries the same
//! request id.

use serde_json::{Value, json};

use crate::logs::Entry;

use super::incident::Conditions;
use super::rng::Rng;

/// What went wrong in a failing request, and where: the error event's
/// kind and the request it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub t_ms: i64,
    pub request_id: String,
    pub kind: FailureKind,
    pub path: &'static str,
    pub method: &'static str,
    pub user_id: String,
}

/// The errors the synthetic LMS raises; each groups into its own issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// SQLAlchemy's pool gave up waiting for a connection (the incident).
    PoolTimeout,
    /// PostgreSQL refused a connection: `max_connections` reached.
    TooManyConnections,
    /// Redis did not answer in time.
    CacheTimeout,
    /// A lesson without content (a bug, now and then).
    MissingLesson,
    /// Grading a quiz with no questions (a bug, rarely).
    EmptyQuiz,
}

impl FailureKind {
    /// The exception's text, as the error line's `error` field and the
    /// event's exception value.
    pub fn text(self) -> &'static str {
        match self {
            FailureKind::PoolTimeout => {
                "QueuePool limit of size 20 overflow 10 reached, connection timed out, timeout 30.00"
            }
            FailureKind::TooManyConnections => "sorry, too many clients already",
            FailureKind::CacheTimeout => "Timeout reading from redis:6379",
            FailureKind::MissingLesson => "'content'",
            FailureKind::EmptyQuiz => "division by zero",
        }
    }

    pub fn exception(self) -> (&'static str, &'static str) {
        match self {
            FailureKind::PoolTimeout => ("sqlalchemy.exc", "TimeoutError"),
            FailureKind::TooManyConnections => ("asyncpg.exceptions", "TooManyConnectionsError"),
            FailureKind::CacheTimeout => ("redis.exceptions", "TimeoutError"),
            FailureKind::MissingLesson => ("builtins", "KeyError"),
            FailureKind::EmptyQuiz => ("builtins", "ZeroDivisionError"),
        }
    }
}

const ACCESS_PATHS: &[(&str, &str)] = &[
    ("/api/courses", "GET"),
    ("/api/courses/{course_id}", "GET"),
    ("/api/courses/{course_id}/lessons/{lesson_id}", "GET"),
    ("/api/quizzes/{quiz_id}/attempts", "POST"),
    ("/api/assignments/{assignment_id}/submissions", "POST"),
    ("/api/users/me", "GET"),
    ("/api/files/{file_id}", "GET"),
];
const SLOW_STATEMENTS: &[&str] = &[
    "SELECT l.id, l.title, p.done FROM lessons l LEFT JOIN progress p ON p.lesson_id = l.id WHERE l.course_id = $1 ORDER BY l.position",
    "SELECT count(*) FROM enrollments WHERE course_id = $1 AND status = 'active'",
    "UPDATE quiz_attempts SET score = $1, graded_at = now() WHERE id = $2",
    "SELECT * FROM submissions WHERE assignment_id = $1 ORDER BY submitted_at DESC",
];

/// Lines per second of each sort at the busiest hour.
const ACCESS_PER_S: f64 = 0.4;
const LOGIN_FAILED_PER_S: f64 = 0.03;
/// Failing requests a second at an incident's worst: enough error lines
/// for `LMSErrorLogBurst` (over 100 in 5 minutes).
const INCIDENT_FAILURES_PER_S: f64 = 0.6;

pub struct LogGenerator {
    rng: Rng,
}

impl LogGenerator {
    pub fn new(seed: u64) -> LogGenerator {
        LogGenerator {
            rng: Rng::stream(seed, "logs"),
        }
    }

    /// The lines of the `dt_s` seconds ending at `t_ms`, and the failing
    /// requests among them.
    pub fn step(&mut self, t_ms: i64, dt_s: f64, load: f64, c: &Conditions) -> (Vec<Entry>, Vec<Failure>) {
        let mut lines = Vec::new();
        let mut failures = Vec::new();
        let span_ms = (dt_s * 1000.0) as i64;
        for _ in 0..self.rng.count(ACCESS_PER_S * load * dt_s) {
            let at = self.at(t_ms, span_ms);
            let (path, method) = ACCESS_PATHS[self.rng.below(ACCESS_PATHS.len())];
            let ms = (self.rng.range(20.0, 140.0) * c.latency_factor()).round();
            let rid = self.rng.hex(16);
            let user = self.user();
            lines.push(line(
                at,
                json!({
                    "level": "info", "service": "lms-api", "message": "request completed", "request_id": rid,
                    "user_id": user, "path": path, "method": method, "status": 200, "duration_ms": ms,
                }),
            ));
        }
        // Failing requests: a bug now and then; many during an incident.
        let failing = self
            .rng
            .count((0.004 * load + INCIDENT_FAILURES_PER_S * c.severity) * dt_s);
        for _ in 0..failing {
            let kind = if c.in_incident() {
                [
                    FailureKind::PoolTimeout,
                    FailureKind::PoolTimeout,
                    FailureKind::TooManyConnections,
                    FailureKind::CacheTimeout,
                ][self.rng.below(4)]
            } else if self.rng.chance(0.7) {
                FailureKind::MissingLesson
            } else {
                FailureKind::EmptyQuiz
            };
            let (path, method) = match kind {
                FailureKind::MissingLesson => ACCESS_PATHS[2],
                FailureKind::EmptyQuiz => ACCESS_PATHS[3],
                _ => ACCESS_PATHS[self.rng.below(ACCESS_PATHS.len())],
            };
            let f = Failure {
                t_ms: self.at(t_ms, span_ms),
                request_id: self.rng.hex(16),
                kind,
                path,
                method,
                user_id: self.user(),
            };
            let (module, class) = kind.exception();
            lines.push(line(f.t_ms, json!({
                "level": "error", "service": "lms-api", "message": format!("unhandled exception in {method} {path}"),
                "request_id": f.request_id, "user_id": f.user_id, "path": path, "method": method, "status": 500,
                "duration_ms": (self.rng.range(30.0, 200.0) * c.latency_factor()).round(),
                "error": format!("{module}.{class}: {}", kind.text()),
            })));
            failures.push(f);
        }
        if c.in_incident() {
            for _ in 0..self.rng.count(0.1 * c.severity * dt_s) {
                let at = self.at(t_ms, span_ms);
                lines.push(line(at, json!({
                    "level": "error", "service": "lms-worker",
                    "message": "task lms.tasks.grade_submission failed",
                    "error": "sqlalchemy.exc.TimeoutError: QueuePool limit of size 20 overflow 10 reached",
                })));
            }
        }
        self.security(t_ms, span_ms, dt_s, load, &mut lines);
        let slow = self.rng.count((0.02 + 0.3 * c.severity) * dt_s);
        for _ in 0..slow {
            let at = self.at(t_ms, span_ms);
            let ms = self.rng.range(250.0, 900.0) * (1.0 + 20.0 * c.severity);
            let statement = SLOW_STATEMENTS[self.rng.below(SLOW_STATEMENTS.len())];
            lines.push(line(
                at,
                json!({
                    "level": "info", "service": "postgres",
                    "message": format!("duration: {ms:.3} ms  statement: {statement}"),
                }),
            ));
        }
        lines.sort_by_key(|e| e.timestamp_ns);
        (lines, failures)
    }

    fn security(&mut self, t_ms: i64, span_ms: i64, dt_s: f64, load: f64, lines: &mut Vec<Entry>) {
        for _ in 0..self.rng.count(LOGIN_FAILED_PER_S * load * dt_s) {
            let at = self.at(t_ms, span_ms);
            let reason = ["bad_password", "bad_password", "unknown_user", "mfa_failed"][self.rng.below(4)];
            let method = ["password", "password", "sso"][self.rng.below(3)];
            let (ip, user, rid) = (self.ip(), self.user(), self.rng.hex(16));
            lines.push(line(at, json!({
                "level": "warning", "service": "lms-api", "message": "login failed", "event": "login_failed",
                "reason": reason, "method": method, "client_ip": ip, "user_id": user, "request_id": rid,
                "path": "/api/auth/login", "status": 401, "duration_ms": self.rng.range(150.0, 260.0).round(),
            })));
        }
        // An account locked about once an hour: LMSAccountLockouts fires
        // for each, as it would in a real deployment.
        if self.rng.chance(0.00028 * dt_s) {
            let at = self.at(t_ms, span_ms);
            let (ip, user) = (self.ip(), self.user());
            lines.push(line(at, json!({
                "level": "warning", "service": "lms-api", "message": "account locked", "event": "account_locked",
                "reason": "too_many_failures", "client_ip": ip, "user_id": user,
            })));
        }
        let others: [(&str, f64); 4] = [
            ("rate_limited", 0.004),
            ("permission_denied", 0.006),
            ("suspicious_activity", 0.001),
            ("password_reset_requested", 0.003),
        ];
        for (event, rate) in others {
            for _ in 0..self.rng.count(rate * load * dt_s) {
                let at = self.at(t_ms, span_ms);
                let (ip, user) = (self.ip(), self.user());
                let mut v = json!({ "service": "lms-api", "event": event, "client_ip": ip, "user_id": user });
                let o = v.as_object_mut().expect("an object");
                let (level, message) = match event {
                    "rate_limited" => {
                        o.insert("limit".into(), json!("api"));
                        o.insert("path".into(), json!("/api/courses"));
                        o.insert("status".into(), json!(429));
                        ("warning", "rate limit exceeded")
                    }
                    "permission_denied" => {
                        o.insert(
                            "path".into(),
                            json!("/api/assignments/{assignment_id}/submissions"),
                        );
                        o.insert("status".into(), json!(403));
                        ("warning", "permission denied")
                    }
                    "suspicious_activity" => {
                        o.insert(
                            "kind".into(),
                            json!(["new_country", "impossible_travel", "token_reuse"][self.rng.below(3)]),
                        );
                        ("warning", "suspicious activity")
                    }
                    _ => ("info", "password reset requested"),
                };
                o.insert("level".into(), json!(level));
                o.insert("message".into(), json!(message));
                lines.push(line(at, v));
            }
        }
    }

    fn at(&mut self, t_ms: i64, span_ms: i64) -> i64 {
        t_ms - (self.rng.unit() * span_ms as f64) as i64
    }

    fn user(&mut self) -> String {
        format!("s-{}", 1000 + self.rng.below(3000))
    }

    fn ip(&mut self) -> String {
        // Documentation ranges (RFC 5737): never a real address.
        let net = ["203.0.113", "198.51.100", "192.0.2"][self.rng.below(3)];
        format!("{net}.{}", 1 + self.rng.below(254))
    }
}

/// One JSON line with its RFC 3339 `timestamp`, as the LMS writes it.
fn line(t_ms: i64, mut fields: Value) -> Entry {
    let ts = chrono::DateTime::from_timestamp_millis(t_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    if let Some(o) = fields.as_object_mut() {
        o.insert("timestamp".into(), json!(ts));
    }
    Entry {
        timestamp_ns: Some(t_ms.saturating_mul(1_000_000)),
        line: fields.to_string(),
        ..Entry::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incident_logs_failures_with_request_ids() {
        let mut g = LogGenerator::new(5);
        let worst = Conditions {
            severity: 1.0,
            number: 0,
        };
        let (lines, failures) = g.step(60_000_000, 300.0, 1.0, &worst);
        assert!(failures.len() > 100, "{} failures in 5 minutes", failures.len());
        for f in &failures {
            assert!(
                lines.iter().any(|l| l.line.contains(&f.request_id)),
                "no line for {}",
                f.request_id
            );
        }
        let parsed: Value = serde_json::from_str(&lines[0].line).unwrap();
        for field in ["timestamp", "level", "service", "message"] {
            assert!(parsed.get(field).is_some(), "no {field} in {parsed}");
        }
        assert!(lines.windows(2).all(|w| w[0].timestamp_ns <= w[1].timestamp_ns));
    }

    #[test]
    fn quiet_times_have_few_failures_and_some_security_events() {
        let mut g = LogGenerator::new(5);
        let (lines, failures) = g.step(60_000_000, 3600.0, 1.0, &Conditions::NORMAL);
        assert!(failures.len() < 40, "{}", failures.len());
        assert!(
            lines
                .iter()
                .any(|l| l.line.contains("\"event\":\"login_failed\""))
        );
        assert!(lines.iter().any(|l| l.line.contains("duration: ")));
    }
}

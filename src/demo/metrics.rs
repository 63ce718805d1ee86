//! The synthetic LMS's series: what prometheus-fastapi-instrumentator,
//! the application's own `lms_*` metrics, postgres_exporter,
//! redis_exporter and celery-exporter would expose, with the names and
//! labels of `docs/lms-metrics.md`, so the built-in dashboards and the
//! LMS rule pack read them as they would a real deployment.
//!
//! Load follows a daily rhythm (quiet at 03:00 UTC, busiest at 15:00)
//! with noise; counters only grow (by whole events), and each histogram
//! is consistent: buckets cumulative, `+Inf` equal to `_count`, `_sum`
//! the observations' total. [`LmsModel::advance`] moves the LMS on by one
//! step under the incident's [`Conditions`].

use crate::model::Labels;

use super::incident::Conditions;
use super::rng::Rng;

pub const API_JOB: &str = "lms-api";
const API_INSTANCE: &str = "lms-api:8000";

/// A FastAPI route: its template (the instrumentator's `handler`), method,
/// share of the traffic, typical latency and response size.
struct Route {
    handler: &'static str,
    method: &'static str,
    share: f64,
    median_s: f64,
    size_bytes: f64,
}

const ROUTES: &[Route] = &[
    Route {
        handler: "/api/courses",
        method: "GET",
        share: 0.17,
        median_s: 0.06,
        size_bytes: 12_000.0,
    },
    Route {
        handler: "/api/courses/{course_id}",
        method: "GET",
        share: 0.19,
        median_s: 0.05,
        size_bytes: 6_000.0,
    },
    Route {
        handler: "/api/courses/{course_id}/lessons/{lesson_id}",
        method: "GET",
        share: 0.21,
        median_s: 0.08,
        size_bytes: 40_000.0,
    },
    Route {
        handler: "/api/quizzes/{quiz_id}/attempts",
        method: "POST",
        share: 0.06,
        median_s: 0.15,
        size_bytes: 1_200.0,
    },
    Route {
        handler: "/api/assignments/{assignment_id}/submissions",
        method: "POST",
        share: 0.03,
        median_s: 0.3,
        size_bytes: 800.0,
    },
    Route {
        handler: "/api/auth/login",
        method: "POST",
        share: 0.04,
        median_s: 0.2,
        size_bytes: 500.0,
    },
    Route {
        handler: "/api/users/me",
        method: "GET",
        share: 0.12,
        median_s: 0.02,
        size_bytes: 900.0,
    },
    Route {
        handler: "/api/files",
        method: "POST",
        share: 0.02,
        median_s: 0.6,
        size_bytes: 300.0,
    },
    Route {
        handler: "/api/files/{file_id}",
        method: "GET",
        share: 0.05,
        median_s: 0.12,
        size_bytes: 900_000.0,
    },
    Route {
        handler: "/health",
        method: "GET",
        share: 0.11,
        median_s: 0.003,
        size_bytes: 20.0,
    },
];

/// Requests a second at the busiest hour.
const PEAK_RPS: f64 = 40.0;
/// The spread of request latency (lognormal sigma).
const LATENCY_SIGMA: f64 = 0.7;

pub const COURSES: &[&str] = &[
    "math-101", "bio-110", "chem-120", "cs-101", "eng-201", "hist-105", "phys-150", "stat-200",
];

const HIGHR_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 7.5, 10.0,
    30.0, 60.0,
];
const HANDLER_BUCKETS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0];
const SIZE_BUCKETS: &[f64] = &[
    256.0,
    1024.0,
    4096.0,
    16384.0,
    65536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
];
const SCORE_BUCKETS: &[f64] = &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
/// Prometheus's default buckets, which celery-exporter uses.
const DEFAULT_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

const LOGIN_METHODS: &[(&str, f64)] = &[("password", 0.7), ("sso", 0.25), ("ldap", 0.05)];
const LOGIN_FAILURES: &[(&str, f64)] = &[
    ("bad_password", 0.6),
    ("unknown_user", 0.2),
    ("account_locked", 0.08),
    ("mfa_failed", 0.12),
];
const RATE_LIMITS: &[(&str, &str)] = &[
    ("login", "/api/auth/login"),
    ("api", "/api/courses"),
    ("upload", "/api/files"),
    ("password_reset", "/api/auth/password-reset"),
];
const DENIED_HANDLERS: &[&str] = &[
    "/api/courses/{course_id}",
    "/api/assignments/{assignment_id}/submissions",
    "/api/admin/users",
];
const SUSPICIOUS_KINDS: &[&str] = &[
    "new_country",
    "impossible_travel",
    "credential_stuffing",
    "token_reuse",
    "privilege_escalation",
    "other",
];
const UPLOAD_FAILURES: &[&str] = &["too_large", "bad_type", "quota", "storage_error", "other"];
const DOWNLOAD_FAILURES: &[&str] = &["not_found", "storage_error", "aborted", "other"];

const PG_INSTANCE: &str = "postgres:9187";
const PG_MAX_CONNECTIONS: f64 = 100.0;
const PG_DATABASES: &[&str] = &["lms", "postgres"];
const PG_STATES: &[&str] = &["active", "idle", "idle in transaction"];
const PG_QUERY_IDS: &[&str] = &[
    "1147616880456321454",
    "4831267019425542981",
    "-2298141178453061102",
];
const REDIS_INSTANCE: &str = "redis:9121";
const REDIS_MAX_MEMORY: f64 = 512.0 * 1024.0 * 1024.0;
const CELERY_INSTANCE: &str = "celery-exporter:9808";
const CELERY_WORKERS: &[&str] = &["celery@worker-1", "celery@worker-2"];
/// Task name, queue, typical runtime, runs a second at the peak, the
/// exception it fails with.
const CELERY_TASKS: &[(&str, &str, f64, f64, &str)] = &[
    ("lms.tasks.grade_submission", "grading", 1.2, 0.4, "TimeoutError"),
    ("lms.tasks.send_email", "notifications", 0.3, 1.5, "SMTPException"),
    ("lms.tasks.sync_grades", "celery", 4.0, 0.05, "OperationalError"),
    ("lms.tasks.generate_report", "celery", 8.0, 0.02, "MemoryError"),
];
const CELERY_QUEUES: &[&str] = &["celery", "grading", "notifications"];

/// Every series of the model, index-aligned with its current value.
#[derive(Default)]
pub struct SeriesTable {
    labels: Vec<Labels>,
    values: Vec<f64>,
}

impl SeriesTable {
    fn add(&mut self, name: &str, job: &str, instance: &str, pairs: &[(&str, &str)]) -> usize {
        let mut all: Vec<(&str, &str)> = vec![("__name__", name), ("job", job), ("instance", instance)];
        all.extend_from_slice(pairs);
        self.labels.push(Labels::from_pairs(&all));
        self.values.push(0.0);
        self.labels.len() - 1
    }

    pub fn labels(&self) -> &[Labels] {
        &self.labels
    }

    pub fn values(&self) -> &[f64] {
        &self.values
    }

    fn inc(&mut self, i: usize, by: f64) {
        self.values[i] += by;
    }

    fn set(&mut self, i: usize, v: f64) {
        self.values[i] = v;
    }
}

/// A classic histogram's series: one per bucket, `+Inf`, `_sum`, `_count`.
struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<usize>,
    inf: usize,
    sum: usize,
    count: usize,
}

impl Histogram {
    fn new(
        t: &mut SeriesTable,
        name: &str,
        job: &str,
        instance: &str,
        pairs: &[(&str, &str)],
        bounds: &'static [f64],
    ) -> Histogram {
        let mut bucket = |le: &str| {
            let mut p = pairs.to_vec();
            p.push(("le", le));
            t.add(&format!("{name}_bucket"), job, instance, &p)
        };
        let buckets = bounds.iter().map(|b| bucket(&format_le(*b))).collect();
        let inf = bucket("+Inf");
        Histogram {
            bounds,
            buckets,
            inf,
            sum: t.add(&format!("{name}_sum"), job, instance, pairs),
            count: t.add(&format!("{name}_count"), job, instance, pairs),
        }
    }

    /// `n` observations distributed by `cdf`, with `mean` each on
    /// average. Bucket `k` gains round(n·cdf(le_k)): cumulative, never
    /// above `n`, never decreasing with `le`.
    fn observe(&self, t: &mut SeriesTable, n: u64, mean: f64, cdf: impl Fn(f64) -> f64) {
        if n == 0 {
            return;
        }
        let nf = n as f64;
        let mut below = 0.0f64;
        for (b, &i) in self.bounds.iter().zip(&self.buckets) {
            let c = (nf * cdf(*b).clamp(0.0, 1.0)).round().max(below).min(nf);
            t.inc(i, c);
            below = c;
        }
        t.inc(self.inf, nf);
        t.inc(self.count, nf);
        t.inc(self.sum, nf * mean);
    }
}

/// A summary as the instrumentator exposes its sizes: `_sum` and `_count`.
struct Summary {
    sum: usize,
    count: usize,
}

/// `le` as Prometheus's client libraries print it (`0.1`, `1.0`, `256.0`).
fn format_le(b: f64) -> String {
    if b.fract() == 0.0 {
        format!("{b:.1}")
    } else {
        format!("{b}")
    }
}

/// The error function (Abramowitz and Stegun 7.1.26, error below 1.5e-7).
fn erf(x: f64) -> f64 {
    let s = x.signum();
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    s * y
}

fn normal_cdf(x: f64, mean: f64, sd: f64) -> f64 {
    0.5 * (1.0 + erf((x - mean) / (sd * std::f64::consts::SQRT_2)))
}

fn lognormal_cdf(x: f64, median: f64, sigma: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    normal_cdf((x / median).ln(), 0.0, sigma)
}

fn lognormal_mean(median: f64, sigma: f64) -> f64 {
    median * (sigma * sigma / 2.0).exp()
}

/// The daily rhythm: 0.15 at 03:00 UTC rising to 1.0 at 15:00.
pub fn daily_load(t_ms: i64) -> f64 {
    let hour = (t_ms.rem_euclid(86_400_000)) as f64 / 3_600_000.0;
    let bump = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * (hour - 3.0) / 24.0).cos();
    0.15 + 0.85 * bump
}

struct RouteSeries {
    /// `http_requests_total` by status class: 2xx, 4xx, 5xx.
    requests: [usize; 3],
    duration: Histogram,
    request_size: Summary,
    response_size: Summary,
    lms_response_size: Histogram,
}

struct CourseSeries {
    enrollments: usize,
    unenrollments: usize,
    enrolled: usize,
    completed: usize,
    progress: usize,
    completions: usize,
    lessons: usize,
    quiz_passed: usize,
    quiz_failed: usize,
    quiz_score: Histogram,
    on_time: usize,
    late: usize,
    /// The database figures the gauges report.
    enrolled_now: f64,
    completed_now: f64,
    progress_now: f64,
}

struct TaskSeries {
    runtime: Histogram,
    succeeded: usize,
    retried: usize,
    failed: usize,
}

/// The synthetic LMS: its series and the state behind them.
pub struct LmsModel {
    table: SeriesTable,
    rng: Rng,
    /// Slowly wandering noise on the load, so curves are not smooth.
    wobble: f64,
    routes: Vec<RouteSeries>,
    highr: Histogram,
    ups: Vec<usize>,
    logins: Vec<(f64, usize)>,
    lockouts: usize,
    locked: usize,
    locked_now: f64,
    rate_limits: Vec<usize>,
    resets: [usize; 2],
    denied: Vec<usize>,
    suspicious: Vec<usize>,
    active: [usize; 3],
    courses: Vec<CourseSeries>,
    uploads: usize,
    upload_failures: Vec<usize>,
    upload_bytes: usize,
    downloads: usize,
    download_failures: Vec<usize>,
    download_bytes: usize,
    pg: PgSeries,
    redis: RedisSeries,
    tasks: Vec<Vec<TaskSeries>>,
    queues: Vec<usize>,
    workers_up: Vec<usize>,
    workers_active: Vec<usize>,
}

struct PgSeries {
    up: usize,
    max_connections: usize,
    /// By database, then state.
    activity: Vec<Vec<usize>>,
    max_tx: Vec<Vec<usize>>,
    longest: Vec<usize>,
    /// By database: commit, rollback, returned, fetched, inserted,
    /// updated, deleted, blks_hit, blks_read, deadlocks, conflicts.
    db: Vec<[usize; 11]>,
    statements: Vec<(usize, usize)>,
}

struct RedisSeries {
    up: usize,
    hits: usize,
    misses: usize,
    used: usize,
    max: usize,
    evicted: usize,
    expired: usize,
    commands: usize,
    clients: usize,
    blocked: usize,
}

impl LmsModel {
    pub fn new(seed: u64) -> LmsModel {
        let mut t = SeriesTable::default();
        let api = |t: &mut SeriesTable, name: &str, pairs: &[(&str, &str)]| {
            t.add(name, API_JOB, API_INSTANCE, pairs)
        };
        let routes = ROUTES
            .iter()
            .map(|r| {
                let h = [("handler", r.handler)];
                RouteSeries {
                    requests: ["2xx", "4xx", "5xx"].map(|s| {
                        api(
                            &mut t,
                            "http_requests_total",
                            &[("handler", r.handler), ("method", r.method), ("status", s)],
                        )
                    }),
                    duration: Histogram::new(
                        &mut t,
                        "http_request_duration_seconds",
                        API_JOB,
                        API_INSTANCE,
                        &[("handler", r.handler), ("method", r.method)],
                        HANDLER_BUCKETS,
                    ),
                    request_size: Summary {
                        sum: api(&mut t, "http_request_size_bytes_sum", &h),
                        count: api(&mut t, "http_request_size_bytes_count", &h),
                    },
                    response_size: Summary {
                        sum: api(&mut t, "http_response_size_bytes_sum", &h),
                        count: api(&mut t, "http_response_size_bytes_count", &h),
                    },
                    lms_response_size: Histogram::new(
                        &mut t,
                        "lms_http_response_size_bytes",
                        API_JOB,
                        API_INSTANCE,
                        &h,
                        SIZE_BUCKETS,
                    ),
                }
            })
            .collect();
        let highr = Histogram::new(
            &mut t,
            "http_request_duration_highr_seconds",
            API_JOB,
            API_INSTANCE,
            &[],
            HIGHR_BUCKETS,
        );
        // Scrape health as Belfry's scrape would record it for each job:
        // the pack's down and absent alerts read these. `node` stands for
        // the host's node exporter, whose series the dashboards do not read.
        let ups = [
            (API_JOB, API_INSTANCE),
            ("postgres", PG_INSTANCE),
            ("redis", REDIS_INSTANCE),
            ("celery", CELERY_INSTANCE),
            ("node", "lms-host:9100"),
        ]
        .iter()
        .map(|(job, inst)| t.add("up", job, inst, &[]))
        .collect();
        let mut logins = Vec::new();
        for (method, share) in LOGIN_METHODS {
            logins.push((
                share * 0.9,
                api(
                    &mut t,
                    "lms_logins_total",
                    &[("method", method), ("result", "success"), ("reason", "none")],
                ),
            ));
            for (reason, r) in LOGIN_FAILURES {
                logins.push((
                    share * 0.1 * r,
                    api(
                        &mut t,
                        "lms_logins_total",
                        &[("method", method), ("result", "failure"), ("reason", reason)],
                    ),
                ));
            }
        }
        let lockouts = api(&mut t, "lms_account_lockouts_total", &[]);
        let locked = api(&mut t, "lms_locked_accounts", &[]);
        let rate_limits = RATE_LIMITS
            .iter()
            .map(|(l, h)| {
                api(
                    &mut t,
                    "lms_rate_limit_hits_total",
                    &[("limit", l), ("handler", h)],
                )
            })
            .collect();
        let resets =
            ["requested", "completed"].map(|s| api(&mut t, "lms_password_resets_total", &[("stage", s)]));
        let denied = DENIED_HANDLERS
            .iter()
            .map(|h| api(&mut t, "lms_permission_denied_total", &[("handler", h)]))
            .collect();
        let suspicious = SUSPICIOUS_KINDS
            .iter()
            .map(|k| api(&mut t, "lms_suspicious_activity_total", &[("kind", k)]))
            .collect();
        let active = ["1d", "7d", "30d"].map(|w| api(&mut t, "lms_active_users", &[("window", w)]));
        let mut rng = Rng::stream(seed, "metrics");
        let courses = COURSES
            .iter()
            .map(|c| {
                let p = [("course", *c)];
                let enrolled_now = rng.range(80.0, 420.0).round();
                CourseSeries {
                    enrollments: api(&mut t, "lms_enrollments_total", &p),
                    unenrollments: api(&mut t, "lms_unenrollments_total", &p),
                    enrolled: api(&mut t, "lms_course_enrolled_users", &p),
                    completed: api(&mut t, "lms_course_completed_users", &p),
                    progress: api(&mut t, "lms_course_progress_ratio", &p),
                    completions: api(&mut t, "lms_course_completions_total", &p),
                    lessons: api(&mut t, "lms_lesson_completions_total", &p),
                    quiz_passed: api(
                        &mut t,
                        "lms_quiz_attempts_total",
                        &[("course", c), ("result", "passed")],
                    ),
                    quiz_failed: api(
                        &mut t,
                        "lms_quiz_attempts_total",
                        &[("course", c), ("result", "failed")],
                    ),
                    quiz_score: Histogram::new(
                        &mut t,
                        "lms_quiz_score",
                        API_JOB,
                        API_INSTANCE,
                        &p,
                        SCORE_BUCKETS,
                    ),
                    on_time: api(
                        &mut t,
                        "lms_assignment_submissions_total",
                        &[("course", c), ("timeliness", "on_time")],
                    ),
                    late: api(
                        &mut t,
                        "lms_assignment_submissions_total",
                        &[("course", c), ("timeliness", "late")],
                    ),
                    enrolled_now,
                    completed_now: (enrolled_now * rng.range(0.05, 0.45)).round(),
                    progress_now: rng.range(0.3, 0.8),
                }
            })
            .collect();
        let uploads = api(&mut t, "lms_file_uploads_total", &[]);
        let upload_failures = UPLOAD_FAILURES
            .iter()
            .map(|r| api(&mut t, "lms_file_upload_failures_total", &[("reason", r)]))
            .collect();
        let upload_bytes = api(&mut t, "lms_file_upload_bytes_total", &[]);
        let downloads = api(&mut t, "lms_file_downloads_total", &[]);
        let download_failures = DOWNLOAD_FAILURES
            .iter()
            .map(|r| api(&mut t, "lms_file_download_failures_total", &[("reason", r)]))
            .collect();
        let download_bytes = api(&mut t, "lms_file_download_bytes_total", &[]);

        let pg_add = |t: &mut SeriesTable, name: &str, pairs: &[(&str, &str)]| {
            t.add(name, "postgres", PG_INSTANCE, pairs)
        };
        let pg = PgSeries {
            up: pg_add(&mut t, "pg_up", &[]),
            max_connections: pg_add(&mut t, "pg_settings_max_connections", &[]),
            activity: PG_DATABASES
                .iter()
                .map(|d| {
                    PG_STATES
                        .iter()
                        .map(|s| pg_add(&mut t, "pg_stat_activity_count", &[("datname", d), ("state", s)]))
                        .collect()
                })
                .collect(),
            max_tx: PG_DATABASES
                .iter()
                .map(|d| {
                    PG_STATES
                        .iter()
                        .map(|s| {
                            pg_add(
                                &mut t,
                                "pg_stat_activity_max_tx_duration",
                                &[("datname", d), ("state", s)],
                            )
                        })
                        .collect()
                })
                .collect(),
            longest: PG_DATABASES
                .iter()
                .map(|d| pg_add(&mut t, "pg_longest_query_seconds", &[("datname", d)]))
                .collect(),
            db: PG_DATABASES
                .iter()
                .map(|d| {
                    [
                        "xact_commit",
                        "xact_rollback",
                        "tup_returned",
                        "tup_fetched",
                        "tup_inserted",
                        "tup_updated",
                        "tup_deleted",
                        "blks_hit",
                        "blks_read",
                        "deadlocks",
                        "conflicts",
                    ]
                    .map(|m| pg_add(&mut t, &format!("pg_stat_database_{m}"), &[("datname", d)]))
                })
                .collect(),
            statements: PG_QUERY_IDS
                .iter()
                .map(|q| {
                    let p = [("datname", "lms"), ("user", "lms"), ("queryid", *q)];
                    (
                        pg_add(&mut t, "pg_stat_statements_calls_total", &p),
                        pg_add(&mut t, "pg_stat_statements_seconds_total", &p),
                    )
                })
                .collect(),
        };
        let r = |t: &mut SeriesTable, name: &str| t.add(name, "redis", REDIS_INSTANCE, &[]);
        let redis = RedisSeries {
            up: r(&mut t, "redis_up"),
            hits: r(&mut t, "redis_keyspace_hits_total"),
            misses: r(&mut t, "redis_keyspace_misses_total"),
            used: r(&mut t, "redis_memory_used_bytes"),
            max: r(&mut t, "redis_memory_max_bytes"),
            evicted: r(&mut t, "redis_evicted_keys_total"),
            expired: r(&mut t, "redis_expired_keys_total"),
            commands: r(&mut t, "redis_commands_processed_total"),
            clients: r(&mut t, "redis_connected_clients"),
            blocked: r(&mut t, "redis_blocked_clients"),
        };
        let c = |t: &mut SeriesTable, name: &str, pairs: &[(&str, &str)]| {
            t.add(name, "celery", CELERY_INSTANCE, pairs)
        };
        let tasks = CELERY_TASKS
            .iter()
            .map(|(name, queue, _, _, exception)| {
                CELERY_WORKERS
                    .iter()
                    .map(|host| {
                        let p = [("name", *name), ("hostname", *host), ("queue_name", *queue)];
                        TaskSeries {
                            runtime: Histogram::new(
                                &mut t,
                                "celery_task_runtime",
                                "celery",
                                CELERY_INSTANCE,
                                &p,
                                DEFAULT_BUCKETS,
                            ),
                            succeeded: c(&mut t, "celery_task_succeeded_total", &p),
                            retried: c(&mut t, "celery_task_retried_total", &p),
                            failed: c(
                                &mut t,
                                "celery_task_failed_total",
                                &[
                                    ("name", name),
                                    ("hostname", host),
                                    ("exception", exception),
                                    ("queue_name", queue),
                                ],
                            ),
                        }
                    })
                    .collect()
            })
            .collect();
        let queues = CELERY_QUEUES
            .iter()
            .map(|q| c(&mut t, "celery_queue_length", &[("queue_name", q)]))
            .collect();
        let workers_up = CELERY_WORKERS
            .iter()
            .map(|h| c(&mut t, "celery_worker_up", &[("hostname", h)]))
            .collect();
        let workers_active = CELERY_WORKERS
            .iter()
            .map(|h| c(&mut t, "celery_worker_tasks_active", &[("hostname", h)]))
            .collect();
        let mut model = LmsModel {
            table: t,
            rng,
            wobble: 0.0,
            routes,
            highr,
            ups,
            logins,
            lockouts,
            locked,
            locked_now: 3.0,
            rate_limits,
            resets,
            denied,
            suspicious,
            active,
            courses,
            uploads,
            upload_failures,
            upload_bytes,
            downloads,
            download_failures,
            download_bytes,
            pg,
            redis,
            tasks,
            queues,
            workers_up,
            workers_active,
        };
        model.set_constants();
        model
    }

    fn set_constants(&mut self) {
        let t = &mut self.table;
        for &u in &self.ups {
            t.set(u, 1.0);
        }
        t.set(self.pg.up, 1.0);
        t.set(self.pg.max_connections, PG_MAX_CONNECTIONS);
        t.set(self.redis.up, 1.0);
        t.set(self.redis.max, REDIS_MAX_MEMORY);
        for &w in &self.workers_up {
            t.set(w, 1.0);
        }
    }

    pub fn series(&self) -> &SeriesTable {
        &self.table
    }

    /// The load factor the last step ran at (for the log and error
    /// generators, which follow the same rhythm).
    pub fn load_at(&self, t_ms: i64) -> f64 {
        (daily_load(t_ms) * (1.0 + self.wobble)).max(0.05)
    }

    /// Moves the LMS on by `dt_s` seconds ending at `t_ms`.
    pub fn advance(&mut self, t_ms: i64, dt_s: f64, c: &Conditions) {
        self.wobble = (self.wobble * 0.9 + 0.03 * self.rng.normal()).clamp(-0.25, 0.25);
        let load = self.load_at(t_ms);
        let rps = PEAK_RPS * load;
        self.http(rps, dt_s, c);
        self.security(rps, dt_s, c);
        self.engagement(t_ms, load, dt_s);
        self.files(rps, dt_s, c);
        self.postgres(rps, load, dt_s, c);
        self.redis(rps, load, dt_s);
        self.celery(load, dt_s, c);
    }

    fn http(&mut self, rps: f64, dt_s: f64, c: &Conditions) {
        let t = &mut self.table;
        let rng = &mut self.rng;
        for (r, s) in ROUTES.iter().zip(&self.routes) {
            let n = rng.count(rps * r.share * dt_s);
            // Health checks answer from memory: the incident leaves them be.
            let affected = r.handler != "/health";
            let err = if affected { c.error_ratio() } else { 0.0 };
            let client_err = if r.handler == "/api/auth/login" {
                0.12
            } else {
                0.025
            };
            let n5 = (0..n).filter(|_| rng.chance(err)).count() as u64;
            let n4 = (0..n - n5).filter(|_| rng.chance(client_err)).count() as u64;
            t.inc(s.requests[0], (n - n5 - n4) as f64);
            t.inc(s.requests[1], n4 as f64);
            t.inc(s.requests[2], n5 as f64);
            let median = r.median_s * if affected { c.latency_factor() } else { 1.0 };
            let cdf = |x: f64| lognormal_cdf(x, median, LATENCY_SIGMA);
            let mean = lognormal_mean(median, LATENCY_SIGMA);
            s.duration.observe(t, n, mean, cdf);
            self.highr.observe(t, n, mean, cdf);
            let size_mean = lognormal_mean(r.size_bytes, 0.8);
            s.lms_response_size
                .observe(t, n, size_mean, |x| lognormal_cdf(x, r.size_bytes, 0.8));
            t.inc(s.response_size.count, n as f64);
            t.inc(s.response_size.sum, (n as f64 * size_mean).round());
            let request_bytes = if r.method == "POST" { 900.0 } else { 0.0 };
            t.inc(s.request_size.count, n as f64);
            t.inc(s.request_size.sum, n as f64 * request_bytes);
        }
    }

    fn security(&mut self, rps: f64, dt_s: f64, c: &Conditions) {
        let t = &mut self.table;
        let rng = &mut self.rng;
        let login_rate = rps * 0.04;
        for &(share, i) in &self.logins {
            t.inc(i, rng.count(login_rate * share * dt_s) as f64);
        }
        let lockouts = rng.count(0.0015 * dt_s);
        t.inc(self.lockouts, lockouts as f64);
        self.locked_now =
            (self.locked_now + lockouts as f64 - if rng.chance(0.004) { 1.0 } else { 0.0 }).max(1.0);
        t.set(self.locked, self.locked_now);
        for (k, &i) in self.rate_limits.iter().enumerate() {
            let rate = if k == 1 { 0.02 + 0.3 * c.severity } else { 0.005 };
            t.inc(i, rng.count(rate * dt_s) as f64);
        }
        let requested = rng.count(0.004 * rps * dt_s / 10.0);
        t.inc(self.resets[0], requested as f64);
        t.inc(self.resets[1], (requested as f64 * 0.7).floor());
        for &i in &self.denied {
            t.inc(i, rng.count(0.002 * rps * dt_s) as f64);
        }
        for &i in &self.suspicious {
            t.inc(i, rng.count(0.0004 * dt_s) as f64);
        }
    }

    fn engagement(&mut self, t_ms: i64, load: f64, dt_s: f64) {
        let t = &mut self.table;
        let rng = &mut self.rng;
        // Daily actives trail the day's load; the longer windows move slowly.
        let day = daily_load(t_ms - 6 * 3_600_000);
        t.set(
            self.active[0],
            (620.0 + 380.0 * day + rng.range(-8.0, 8.0)).round(),
        );
        t.set(
            self.active[1],
            (2_150.0 + 90.0 * day + rng.range(-5.0, 5.0)).round(),
        );
        t.set(
            self.active[2],
            (3_480.0 + 20.0 * day + rng.range(-3.0, 3.0)).round(),
        );
        for c in &mut self.courses {
            let pace = load * dt_s;
            let enrolled = rng.count(0.004 * pace);
            let left = rng.count(0.0008 * pace);
            let completions = rng.count(0.0015 * pace);
            t.inc(c.enrollments, enrolled as f64);
            t.inc(c.unenrollments, left as f64);
            t.inc(c.completions, completions as f64);
            c.enrolled_now = (c.enrolled_now + enrolled as f64 - left as f64).max(10.0);
            c.completed_now = (c.completed_now + completions as f64).min(c.enrolled_now);
            c.progress_now = (c.progress_now + 0.00002 * pace).min(0.98);
            t.set(c.enrolled, c.enrolled_now);
            t.set(c.completed, c.completed_now);
            t.set(c.progress, (c.progress_now * 1000.0).round() / 1000.0);
            t.inc(c.lessons, rng.count(0.05 * pace) as f64);
            let attempts = rng.count(0.02 * pace);
            // Scores: a course-specific mean around 0.7, spread 0.15.
            let mean = 0.62 + 0.02 * (c.enrollments % 7) as f64;
            let passed = (0..attempts)
                .filter(|_| rng.chance(normal_cdf(1.0, mean, 0.15) - normal_cdf(0.6, mean, 0.15)))
                .count();
            t.inc(c.quiz_passed, passed as f64);
            t.inc(c.quiz_failed, (attempts as usize - passed) as f64);
            // Scores cannot pass 1: the top bucket holds every attempt.
            c.quiz_score.observe(t, attempts, mean, |x| {
                if x >= 1.0 { 1.0 } else { normal_cdf(x, mean, 0.15) }
            });
            let subs = rng.count(0.008 * pace);
            let late = (0..subs).filter(|_| rng.chance(0.12)).count() as f64;
            t.inc(c.on_time, subs as f64 - late);
            t.inc(c.late, late);
        }
    }

    fn files(&mut self, rps: f64, dt_s: f64, c: &Conditions) {
        let t = &mut self.table;
        let rng = &mut self.rng;
        let ups = rng.count(rps * 0.02 * dt_s);
        let downs = rng.count(rps * 0.05 * dt_s);
        t.inc(self.uploads, ups as f64);
        t.inc(self.downloads, downs as f64);
        // Each failure kind draws from all uploads on its own, so in a bad
        // step their sum can pass the uploads: the bytes saturate at none.
        let mut failed_up = 0;
        for (k, &i) in self.upload_failures.iter().enumerate() {
            // Storage errors follow the incident: the object store times out.
            let p = if UPLOAD_FAILURES[k] == "storage_error" {
                0.002 + 0.1 * c.severity
            } else {
                0.003
            };
            let n = (0..ups).filter(|_| rng.chance(p)).count() as u64;
            failed_up += n;
            t.inc(i, n as f64);
        }
        let mut failed_down = 0;
        for &i in &self.download_failures {
            let n = (0..downs).filter(|_| rng.chance(0.002)).count() as u64;
            failed_down += n;
            t.inc(i, n as f64);
        }
        t.inc(
            self.upload_bytes,
            (ups.saturating_sub(failed_up) as f64 * rng.range(200_000.0, 2_000_000.0)).round(),
        );
        t.inc(
            self.download_bytes,
            (downs.saturating_sub(failed_down) as f64 * rng.range(300_000.0, 1_500_000.0)).round(),
        );
    }

    fn postgres(&mut self, rps: f64, load: f64, dt_s: f64, c: &Conditions) {
        let t = &mut self.table;
        let rng = &mut self.rng;
        let share = c.db_connection_share(0.18 + 0.25 * load);
        let total = (PG_MAX_CONNECTIONS * share).round();
        for (d, states) in self.pg.activity.iter().enumerate() {
            // The application's database holds all but a couple of the
            // connections (monitoring, maintenance).
            let mine = if d == 0 { total - 2.0 } else { 2.0 };
            let active = (mine * (0.25 + 0.6 * c.severity)).round();
            let in_tx = if d == 0 {
                (mine * 0.05).round().max(1.0)
            } else {
                0.0
            };
            t.set(states[0], active);
            t.set(states[2], in_tx);
            t.set(states[1], (mine - active - in_tx).max(0.0));
        }
        for (d, states) in self.pg.max_tx.iter().enumerate() {
            let base = if d == 0 { rng.range(0.5, 4.0) } else { 0.0 };
            t.set(states[0], (base * c.latency_factor() * 100.0).round() / 100.0);
            t.set(states[1], 0.0);
            t.set(
                states[2],
                (rng.range(0.2, 12.0) + 40.0 * c.severity) * if d == 0 { 1.0 } else { 0.0 },
            );
        }
        for (d, &i) in self.pg.longest.iter().enumerate() {
            let normal = if d == 0 {
                rng.range(0.01, 0.07)
            } else {
                rng.range(0.0, 0.01)
            };
            let v = if d == 0 {
                normal + c.severity * rng.range(4.0, 30.0)
            } else {
                normal
            };
            t.set(i, (v * 1000.0).round() / 1000.0);
        }
        for (d, m) in self.pg.db.iter().enumerate() {
            let tps = if d == 0 { rps * 2.5 } else { 0.3 };
            let commits = rng.count(tps * dt_s);
            t.inc(m[0], commits as f64);
            t.inc(m[1], rng.count(tps * (0.003 + 0.05 * c.severity) * dt_s) as f64);
            t.inc(m[2], (commits as f64 * rng.range(40.0, 60.0)).round());
            t.inc(m[3], (commits as f64 * rng.range(8.0, 12.0)).round());
            t.inc(m[4], (commits as f64 * rng.range(0.2, 0.4)).round());
            t.inc(m[5], (commits as f64 * rng.range(0.1, 0.2)).round());
            t.inc(m[6], (commits as f64 * rng.range(0.01, 0.03)).round());
            let reads = commits as f64 * rng.range(30.0, 50.0);
            let miss = 0.01 + 0.08 * c.severity;
            t.inc(m[7], (reads * (1.0 - miss)).round());
            t.inc(m[8], (reads * miss).round());
            t.inc(m[9], rng.count((0.00005 + 0.002 * c.severity) * dt_s) as f64);
            t.inc(m[10], 0.0);
        }
        for (k, &(calls, secs)) in self.pg.statements.iter().enumerate() {
            let n = rng.count(rps * [1.2, 0.6, 0.1][k] * dt_s);
            let each = [0.002, 0.008, 0.09][k] * c.latency_factor();
            t.inc(calls, n as f64);
            t.inc(secs, n as f64 * each);
        }
        let _ = load;
    }

    fn redis(&mut self, rps: f64, load: f64, dt_s: f64) {
        let t = &mut self.table;
        let rng = &mut self.rng;
        let lookups = rng.count(rps * 6.0 * dt_s);
        let hit = rng.range(0.9, 0.96);
        t.inc(self.redis.hits, (lookups as f64 * hit).round());
        t.inc(self.redis.misses, (lookups as f64 * (1.0 - hit)).round());
        t.inc(self.redis.commands, (lookups as f64 * 1.4).round());
        t.inc(self.redis.expired, rng.count(rps * 0.3 * dt_s) as f64);
        t.inc(self.redis.evicted, rng.count(0.01 * dt_s) as f64);
        t.set(
            self.redis.used,
            (REDIS_MAX_MEMORY * (0.38 + 0.2 * load + rng.range(-0.01, 0.01))).round(),
        );
        t.set(
            self.redis.clients,
            (12.0 + 30.0 * load + rng.range(-2.0, 2.0)).round(),
        );
        t.set(self.redis.blocked, rng.count(0.3) as f64);
    }

    fn celery(&mut self, load: f64, dt_s: f64, c: &Conditions) {
        let t = &mut self.table;
        let rng = &mut self.rng;
        let mut active = vec![0.0; CELERY_WORKERS.len()];
        for (k, per_host) in self.tasks.iter().enumerate() {
            let (_, _, runtime, rate, _) = CELERY_TASKS[k];
            for (h, s) in per_host.iter().enumerate() {
                // Workers slow down with the database, and get through less.
                let n =
                    rng.count(rate * load * dt_s / CELERY_WORKERS.len() as f64 / c.latency_factor().sqrt());
                let failed = (0..n).filter(|_| rng.chance(0.01 + 0.2 * c.severity)).count() as u64;
                let retried = (0..n).filter(|_| rng.chance(0.02 + 0.1 * c.severity)).count() as u64;
                let median = runtime * c.latency_factor().sqrt();
                s.runtime.observe(t, n, lognormal_mean(median, 0.5), |x| {
                    lognormal_cdf(x, median, 0.5)
                });
                t.inc(s.succeeded, (n - failed) as f64);
                t.inc(s.failed, failed as f64);
                t.inc(s.retried, retried as f64);
                active[h] += (rate * load * median / CELERY_WORKERS.len() as f64).min(4.0);
            }
        }
        for (h, &i) in self.workers_active.iter().enumerate() {
            t.set(i, (active[h] + rng.range(0.0, 1.0)).round().min(8.0));
        }
        for (q, &i) in self.queues.iter().enumerate() {
            let normal = rng.range(0.0, 30.0) * load;
            // The grading queue backs up when the workers stall.
            let backlog = if CELERY_QUEUES[q] == "grading" {
                c.queue_backlog()
            } else {
                c.queue_backlog() * 0.05
            };
            t.set(i, (normal + backlog * rng.range(0.95, 1.05)).round());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(m: &LmsModel, name: &str, pairs: &[(&str, &str)]) -> f64 {
        let t = m.series();
        t.labels()
            .iter()
            .position(|l| l.get("__name__") == Some(name) && pairs.iter().all(|(k, v)| l.get(k) == Some(*v)))
            .map(|i| t.values()[i])
            .unwrap_or_else(|| panic!("no series {name} {pairs:?}"))
    }

    fn run(steps: i64, c: Conditions) -> Vec<LmsModel> {
        let mut m = LmsModel::new(42);
        let mut out = Vec::new();
        for s in 0..steps {
            m.advance(15 * 3_600_000 + s * 15_000, 15.0, &c);
            if s % 10 == 9 {
                out.push(LmsModel::new(42));
                // Keep a copy of the values only; the labels are equal.
                out.last_mut().unwrap().table.values = m.table.values.clone();
            }
        }
        out
    }

    #[test]
    fn labels_are_unique() {
        let m = LmsModel::new(1);
        let mut seen = std::collections::HashSet::new();
        for l in m.series().labels() {
            assert!(seen.insert(l.clone()), "{l:?} twice");
        }
    }

    #[test]
    fn counters_never_decrease_and_histograms_are_consistent() {
        let snaps = run(60, Conditions::NORMAL);
        let labels = snaps[0].series().labels().to_vec();
        let names: std::collections::HashSet<&str> =
            labels.iter().filter_map(|l| l.get("__name__")).collect();
        // `_sum` and `_count` of histograms and summaries (both present);
        // a gauge such as pg_stat_activity_count only ends like one.
        let of_distribution = |name: &str| {
            let base = name.strip_suffix("_sum").or_else(|| name.strip_suffix("_count"));
            base.is_some_and(|b| {
                names.contains(format!("{b}_sum").as_str()) && names.contains(format!("{b}_count").as_str())
            })
        };
        for pair in snaps.windows(2) {
            for (i, l) in labels.iter().enumerate() {
                let name = l.get("__name__").unwrap();
                if name.ends_with("_total") || name.ends_with("_bucket") || of_distribution(name) {
                    assert!(
                        pair[1].series().values()[i] >= pair[0].series().values()[i],
                        "{l:?} went down"
                    );
                }
            }
        }
        let last = snaps.last().unwrap();
        let h = [("handler", "/api/courses"), ("method", "GET")];
        let count = value(last, "http_request_duration_seconds_count", &h);
        assert!(count > 0.0);
        let mut prev = 0.0;
        for le in ["0.1", "0.25", "0.5", "1.0", "2.0", "2.5", "5.0", "10.0", "+Inf"] {
            let mut p = h.to_vec();
            p.push(("le", le));
            let b = value(last, "http_request_duration_seconds_bucket", &p);
            assert!(b >= prev, "bucket {le} below the one before");
            prev = b;
        }
        assert_eq!(prev, count, "+Inf is the count");
        let requests: f64 = ["2xx", "4xx", "5xx"]
            .iter()
            .map(|s| {
                value(
                    last,
                    "http_requests_total",
                    &[("handler", "/api/courses"), ("status", s)],
                )
            })
            .sum();
        assert_eq!(requests, count, "every request is timed once");
    }

    #[test]
    fn an_incident_crosses_the_pack_thresholds() {
        let mut m = LmsModel::new(7);
        let worst = Conditions {
            severity: 1.0,
            number: 0,
        };
        m.advance(15 * 3_600_000, 15.0, &worst);
        let total: f64 = ["active", "idle", "idle in transaction"]
            .iter()
            .flat_map(|s| PG_DATABASES.iter().map(move |d| (*s, *d)))
            .map(|(s, d)| value(&m, "pg_stat_activity_count", &[("datname", d), ("state", s)]))
            .sum();
        assert!(total / PG_MAX_CONNECTIONS > 0.95, "{total}");
        assert!(value(&m, "celery_queue_length", &[("queue_name", "grading")]) > 1000.0);
        assert!(value(&m, "pg_longest_query_seconds", &[("datname", "lms")]) > 0.1);
        let mut calm = LmsModel::new(7);
        calm.advance(15 * 3_600_000, 15.0, &Conditions::NORMAL);
        assert!(value(&calm, "pg_longest_query_seconds", &[("datname", "lms")]) < 0.1);
        assert!(value(&calm, "celery_queue_length", &[("queue_name", "grading")]) < 1000.0);
    }

    #[test]
    fn the_same_seed_gives_the_same_series() {
        let mut a = LmsModel::new(3);
        let mut b = LmsModel::new(3);
        for s in 0..5 {
            a.advance(s * 15_000, 15.0, &Conditions::NORMAL);
            b.advance(s * 15_000, 15.0, &Conditions::NORMAL);
        }
        assert_eq!(a.series().values(), b.series().values());
    }
}

//! The field names real shippers and logging libraries use for each of the
//! guide's fields, in the order they are tried. A dotted name matches a
//! key written with dots (`"service.name"`) or nested objects
//! (`{"service": {"name": …}}`), as ECS and OpenTelemetry send them.

use super::values::DurationUnit;

pub const MESSAGE: &[&str] = &["message", "msg", "log", "text", "event.original"];

pub const TIMESTAMP: &[&str] = &[
    "@timestamp",
    "timestamp",
    "time",
    "ts",
    "datetime",
    "date",
    "asctime",
];

pub const LEVEL: &[&str] = &[
    "level",
    "levelname",
    "severity",
    "log.level",
    "lvl",
    "loglevel",
    "severity_text",
    "detected_level",
    "levelno",
];

pub const SERVICE: &[&str] = &[
    "service",
    "service.name",
    "service_name",
    "app",
    "application",
    "app_name",
    "component",
    "logger",
    "logger_name",
    "name",
];

/// Stream labels that name the service when no field does.
pub const SERVICE_LABELS: &[&str] = &[
    "service",
    "service_name",
    "app",
    "application",
    "job",
    "container_name",
    "container",
];

pub const REQUEST_ID: &[&str] = &[
    "request_id",
    "requestId",
    "request.id",
    "x_request_id",
    "x-request-id",
    "req_id",
    "reqId",
    "http.request.id",
    "trace_id",
    "traceId",
    "trace.id",
    "correlation_id",
];

/// Privacy owns the list: the same names mark user ids in free text.
pub const USER_ID: &[&str] = crate::privacy::USER_ID_NAMES;

pub const PATH: &[&str] = &[
    "path",
    "endpoint",
    "url.path",
    "http.path",
    "http.target",
    "http.route",
    "request_path",
    "route",
    "uri",
    "url",
];

pub const STATUS: &[&str] = &[
    "status",
    "status_code",
    "statusCode",
    "http.status_code",
    "http.response.status_code",
    "response.status",
    "http_status",
];

pub const DURATION: &[(&str, DurationUnit)] = &[
    ("duration", DurationUnit::Seconds),
    ("duration_ms", DurationUnit::Millis),
    ("duration_s", DurationUnit::Seconds),
    ("duration_seconds", DurationUnit::Seconds),
    ("duration_us", DurationUnit::Micros),
    ("duration_ns", DurationUnit::Nanos),
    ("elapsed", DurationUnit::Seconds),
    ("elapsed_ms", DurationUnit::Millis),
    ("response_time", DurationUnit::Seconds),
    ("response_time_ms", DurationUnit::Millis),
    ("latency", DurationUnit::Seconds),
    ("latency_ms", DurationUnit::Millis),
    ("request_time", DurationUnit::Seconds),
    ("took_ms", DurationUnit::Millis),
    ("took", DurationUnit::Millis),
    // ECS writes nanoseconds.
    ("event.duration", DurationUnit::Nanos),
];

pub const ERROR: &[&str] = &[
    "error",
    "err",
    "exception",
    "exc_info",
    "error.message",
    "error.stack_trace",
    "stack_trace",
    "stacktrace",
    "traceback",
];

/// What a record is about, when it is a security event: a login is one
/// whose value here names a login (`logs::schema::login`). ECS writes
/// `event.action`.
pub const EVENT: &[&str] = &["event", "event.action"];

/// Whether the event succeeded (ECS: `event.outcome`).
pub const OUTCOME: &[&str] = &["outcome", "event.outcome", "result"];

/// The client's address.
pub const CLIENT_IP: &[&str] = &["client_ip", "client.ip", "source.ip", "remote_addr", "ip"];

//! The file tailer's self-metrics (`belfry_logs_files_*`). Records it
//! hands to the store are counted by the store under `source="files"`.

use std::sync::Arc;

use crate::selfmetrics::{Counter, CounterVec, Gauge, Registry};

pub struct FilesMetrics {
    pub watched: Arc<Gauge>,
    pub bytes_read: Arc<Counter>,
    pub rotations: Arc<Counter>,
    pub truncations: Arc<Counter>,
    /// `{op}`: `scan`, `open`, `read`, `position`.
    pub errors: Arc<CounterVec>,
    pub lines_truncated: Arc<Counter>,
    pub multiline_cut: Arc<Counter>,
    pub malformed: Arc<Counter>,
    pub open_limit: Arc<Counter>,
}

impl FilesMetrics {
    pub fn new(r: &Registry) -> Self {
        FilesMetrics {
            watched: r.gauge("belfry_logs_files_watched", "Log files open for tailing."),
            bytes_read: r.counter("belfry_logs_files_bytes_read_total", "Bytes read from tailed log files."),
            rotations: r.counter(
                "belfry_logs_files_rotations_total",
                "Tailed log files renamed away or deleted (read to their end, then closed).",
            ),
            truncations: r.counter(
                "belfry_logs_files_truncations_total",
                "Tailed log files found shorter than their read offset (copytruncate); read again from the start.",
            ),
            errors: r.counter_vec(
                "belfry_logs_files_read_errors_total",
                "Errors of the file tailer (each logged once per file until it recovers), by operation: scan (a glob's directory), open, read, position (state.redb).",
                &["op"],
            ),
            lines_truncated: r.counter(
                "belfry_logs_files_lines_truncated_total",
                "Lines longer than logs.files[].max_line_bytes, cut and marked.",
            ),
            multiline_cut: r.counter(
                "belfry_logs_files_multiline_cut_total",
                "Multi-line records closed by multiline.max_lines or multiline.max_bytes.",
            ),
            malformed: r.counter(
                "belfry_logs_files_malformed_lines_total",
                "Lines of a docker-format file that were not json-file objects, kept as plain text.",
            ),
            open_limit: r.counter(
                "belfry_logs_files_open_limit_total",
                "Matched files left unopened because max_open_files were already open (counted once per file).",
            ),
        }
    }
}

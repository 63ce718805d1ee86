//! `logs.files`: log files Belfry tails itself, with no agent. Each entry
//! names files by glob, says how their lines are written (`format`), how
//! continuation lines join a record (`multiline`), which stream labels
//! its records carry, and where a file seen for the first time is read
//! from (`start_at`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ByteSize;
use crate::model::PromDuration;

/// How a file's lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// One JSON object per line (structlog, python-json-logger, pino, zap);
    /// a line that is not JSON is kept as plain text.
    #[default]
    Json,
    /// `key=value key2="quoted value"` pairs, as logfmt writes them.
    Logfmt,
    /// Free text; the level is read from a level word near the start.
    Plain,
    /// Docker's `json-file` driver: `{"log":"…\n","stream":"stdout","time":"…"}`,
    /// split lines joined, and a `log` that is itself JSON read as such.
    Docker,
}

impl FileFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Json => "json",
            FileFormat::Logfmt => "logfmt",
            FileFormat::Plain => "plain",
            FileFormat::Docker => "docker",
        }
    }
}

/// Where a file is read from when no position is stored for it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StartAt {
    /// From its first byte (Promtail's behaviour without a position).
    #[default]
    Beginning,
    /// From its current end: only lines written from now on.
    End,
}

/// Joining continuation lines into one record.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MultilineConfig {
    /// A line matching this regex begins a record; any other line continues
    /// the record before it. Without it, every line begins a record unless
    /// a built-in rule (Python tracebacks) says it continues one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// `Traceback (most recent call last):`, its indented frames, chained
    /// exceptions and the final `XError: message` line belong to the record
    /// before them.
    #[serde(default = "default_true")]
    pub python_tracebacks: bool,
    /// A record is closed after this many lines; the next line begins a new one.
    #[serde(default = "default_max_lines")]
    pub max_lines: u64,
    /// A record is closed once it holds this many bytes.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: ByteSize,
    /// A record waiting for continuation lines is sent after this long
    /// without a new line, so the last record of a quiet file is not held.
    #[serde(default = "default_flush_after")]
    pub flush_after: PromDuration,
}

fn default_true() -> bool {
    true
}

fn default_max_lines() -> u64 {
    500
}

fn default_max_bytes() -> ByteSize {
    ByteSize(256 << 10)
}

fn default_flush_after() -> PromDuration {
    PromDuration(std::time::Duration::from_secs(1))
}

impl Default for MultilineConfig {
    fn default() -> Self {
        MultilineConfig {
            start: None,
            python_tracebacks: true,
            max_lines: default_max_lines(),
            max_bytes: default_max_bytes(),
            flush_after: default_flush_after(),
        }
    }
}

/// One `logs.files` entry.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    /// Globs of the files to tail (`/var/log/lms/*.log`), re-expanded every
    /// `rescan_interval` so new files are picked up.
    pub paths: Vec<String>,
    /// Globs of files never tailed, even when `paths` matches them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub format: FileFormat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiline: Option<MultilineConfig>,
    /// Static stream labels of every record (`service: lms-api`); each
    /// record also carries `filename`, the path it was read from.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub start_at: StartAt,
    /// A line longer than this is cut, marked and counted; the rest of it
    /// is skipped up to its end, so one runaway line cannot fill memory.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: ByteSize,
    /// Most files of this entry open at once; further matches wait.
    #[serde(default = "default_max_open_files")]
    pub max_open_files: u64,
    /// Most records sent to the store in one batch.
    #[serde(default = "default_batch_lines")]
    pub batch_lines: u64,
    /// How often open files are read for new lines.
    #[serde(default = "default_poll_interval")]
    pub poll_interval: PromDuration,
    /// How often the globs are expanded again.
    #[serde(default = "default_rescan_interval")]
    pub rescan_interval: PromDuration,
}

fn default_max_line_bytes() -> ByteSize {
    ByteSize(256 << 10)
}

fn default_max_open_files() -> u64 {
    256
}

fn default_batch_lines() -> u64 {
    1000
}

fn default_poll_interval() -> PromDuration {
    PromDuration(std::time::Duration::from_millis(250))
}

fn default_rescan_interval() -> PromDuration {
    PromDuration(std::time::Duration::from_secs(5))
}

/// Below this a line cannot hold a useful message.
const MIN_LINE_BYTES: u64 = 256;
/// Labels Belfry sets itself.
const RESERVED_LABELS: [&str; 2] = ["filename", "stream"];

impl FileSourceConfig {
    /// Checks what serde cannot; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.paths.is_empty() {
            return Err("paths: at least one glob is required".into());
        }
        for (key, globs) in [("paths", &self.paths), ("exclude", &self.exclude)] {
            for g in globs {
                if !g.starts_with('/') {
                    return Err(format!("{key}: {g:?} must be an absolute path"));
                }
                glob::Pattern::new(g).map_err(|e| format!("{key}: {g:?} is not a valid glob: {e}"))?;
            }
        }
        if let Some(m) = &self.multiline {
            if let Some(start) = &m.start {
                regex::Regex::new(start)
                    .map_err(|e| format!("multiline.start: {start:?} is not a valid regex: {e}"))?;
            }
            if m.max_lines == 0 {
                return Err("multiline.max_lines: must be positive".into());
            }
            if m.max_bytes.0 < MIN_LINE_BYTES {
                return Err(format!(
                    "multiline.max_bytes: must be at least {MIN_LINE_BYTES}B, got {}",
                    m.max_bytes
                ));
            }
            if m.flush_after.is_zero() {
                return Err("multiline.flush_after: must be positive".into());
            }
        }
        for (name, value) in &self.labels {
            if RESERVED_LABELS.contains(&name.as_str()) {
                return Err(format!("labels: {name:?} is set by Belfry itself"));
            }
            if !crate::model::is_legacy_label_name(name) {
                return Err(format!("labels: {name:?} is not a valid label name"));
            }
            if value.is_empty() {
                return Err(format!("labels: {name:?} has an empty value"));
            }
        }
        if self.max_line_bytes.0 < MIN_LINE_BYTES {
            return Err(format!(
                "max_line_bytes: must be at least {MIN_LINE_BYTES}B, got {}",
                self.max_line_bytes
            ));
        }
        if self.max_open_files == 0 {
            return Err("max_open_files: must be positive".into());
        }
        if self.batch_lines == 0 {
            return Err("batch_lines: must be positive".into());
        }
        if self.poll_interval.is_zero() {
            return Err("poll_interval: must be positive".into());
        }
        if self.rescan_interval.is_zero() {
            return Err("rescan_interval: must be positive".into());
        }
        Ok(())
    }
}

/// Checks every entry; the message names the entry by index.
pub fn validate_files(files: &[FileSourceConfig], max_batch_lines: u64) -> Result<(), String> {
    for (i, f) in files.iter().enumerate() {
        f.validate().map_err(|m| format!("files[{i}].{m}"))?;
        if f.batch_lines > max_batch_lines {
            return Err(format!(
                "files[{i}].batch_lines: {} is above limits.max_batch_lines ({max_batch_lines})",
                f.batch_lines
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<FileSourceConfig, String> {
        let cfg: FileSourceConfig = serde_norway::from_str(yaml).map_err(|e| e.to_string())?;
        cfg.validate()?;
        Ok(cfg)
    }

    #[test]
    fn defaults() {
        let c = parse("paths: [/var/log/lms/*.log]").unwrap();
        assert_eq!(c.format, FileFormat::Json);
        assert_eq!(c.start_at, StartAt::Beginning);
        assert!(c.multiline.is_none());
        assert_eq!(c.poll_interval.0.as_millis(), 250);
        let m: MultilineConfig = serde_norway::from_str("{}").unwrap();
        assert!(m.python_tracebacks);
        assert_eq!(m.max_lines, 500);
    }

    #[test]
    fn full_entry_parses() {
        let c = parse(
            "paths: [/var/log/lms/*.log]\nexclude: ['/var/log/lms/*.gz']\nformat: docker\n\
             multiline: {start: '^\\d{4}-', max_lines: 50, max_bytes: 64KB, flush_after: 2s}\n\
             labels: {service: lms-api}\nstart_at: end\n",
        )
        .unwrap();
        assert_eq!(c.format, FileFormat::Docker);
        assert_eq!(c.start_at, StartAt::End);
        assert_eq!(c.labels["service"], "lms-api");
        let m = c.multiline.unwrap();
        assert_eq!(m.start.as_deref(), Some("^\\d{4}-"));
        assert_eq!(m.max_bytes.0, 64 << 10);
    }

    #[test]
    fn bad_values_are_named() {
        for (yaml, needle) in [
            ("paths: []", "paths"),
            ("paths: [relative/*.log]", "absolute"),
            ("paths: ['/a/[*.log']", "not a valid glob"),
            ("paths: [/a]\nformat: xml", "xml"),
            ("paths: [/a]\nmultiline: {start: '('}", "multiline.start"),
            ("paths: [/a]\nmultiline: {max_lines: 0}", "multiline.max_lines"),
            ("paths: [/a]\nlabels: {filename: x}", "set by Belfry"),
            ("paths: [/a]\nlabels: {'a-b': x}", "valid label name"),
            ("paths: [/a]\nmax_line_bytes: 10", "max_line_bytes"),
            ("paths: [/a]\npoll_interval: 0s", "poll_interval"),
            ("paths: [/a]\nstart_at: middle", "middle"),
            ("paths: [/a]\ncolour: red", "colour"),
        ] {
            let err = parse(yaml).unwrap_err();
            assert!(err.contains(needle), "{yaml}: {err}");
        }
        let entries = vec![parse("paths: [/a]\nbatch_lines: 500").unwrap()];
        let err = validate_files(&entries, 100).unwrap_err();
        assert!(err.contains("files[0].batch_lines"), "{err}");
    }
}

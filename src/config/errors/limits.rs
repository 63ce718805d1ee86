//! `errors.limits`: what protects memory and disk at ingest. Sentry's own
//! envelope limit (200 MiB) suits a cluster, not one process beside an
//! LMS, so ours are smaller; each refusal is counted by reason.

use serde::{Deserialize, Serialize};

use crate::config::ByteSize;

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorLimitsConfig {
    /// A request body as sent (compressed or not).
    #[serde(default = "default_envelope")]
    pub max_envelope_bytes: ByteSize,
    /// A body after decompression: past it decoding stops (a zip bomb is
    /// refused without being inflated).
    #[serde(default = "default_decompressed")]
    pub max_decompressed_bytes: ByteSize,
    /// One event's JSON.
    #[serde(default = "default_event")]
    pub max_event_bytes: ByteSize,
    /// One attachment item.
    #[serde(default = "default_attachment")]
    pub max_attachment_bytes: ByteSize,
    /// Events a second one project may send (a project can override it);
    /// above it ingest answers 429 with `Retry-After`.
    #[serde(default = "default_events_per_second")]
    pub max_events_per_second: u32,
    /// All stored attachments of one project together; past it an
    /// attachment is refused (and counted) until retention frees room.
    #[serde(default = "default_attachment_bytes_per_project")]
    pub max_attachment_bytes_per_project: ByteSize,
    /// Distinct transaction names one project's series may carry; later
    /// names are counted as `transaction="__other__"`, so a client cannot
    /// grow the TSDB's series without bound.
    #[serde(default = "default_transaction_names")]
    pub max_transaction_names: usize,
}

fn default_envelope() -> ByteSize {
    ByteSize(20 << 20)
}
fn default_decompressed() -> ByteSize {
    ByteSize(50 << 20)
}
fn default_event() -> ByteSize {
    ByteSize(1 << 20)
}
fn default_attachment() -> ByteSize {
    ByteSize(10 << 20)
}
fn default_events_per_second() -> u32 {
    500
}
fn default_attachment_bytes_per_project() -> ByteSize {
    ByteSize(256 << 20)
}
fn default_transaction_names() -> usize {
    1_000
}

impl Default for ErrorLimitsConfig {
    fn default() -> Self {
        ErrorLimitsConfig {
            max_envelope_bytes: default_envelope(),
            max_decompressed_bytes: default_decompressed(),
            max_event_bytes: default_event(),
            max_attachment_bytes: default_attachment(),
            max_events_per_second: default_events_per_second(),
            max_attachment_bytes_per_project: default_attachment_bytes_per_project(),
            max_transaction_names: default_transaction_names(),
        }
    }
}

impl ErrorLimitsConfig {
    pub fn validate(&self) -> Result<(), String> {
        for (key, v) in [
            ("max_envelope_bytes", self.max_envelope_bytes),
            ("max_decompressed_bytes", self.max_decompressed_bytes),
            ("max_event_bytes", self.max_event_bytes),
            ("max_attachment_bytes", self.max_attachment_bytes),
        ] {
            if v.0 < 1024 {
                return Err(format!("{key} must be at least 1KiB, got {v}"));
            }
        }
        if self.max_decompressed_bytes.0 < self.max_envelope_bytes.0 {
            return Err(format!(
                "max_decompressed_bytes ({}) must be at least max_envelope_bytes ({})",
                self.max_decompressed_bytes, self.max_envelope_bytes
            ));
        }
        if self.max_event_bytes.0 > self.max_decompressed_bytes.0 {
            return Err(format!(
                "max_event_bytes ({}) cannot exceed max_decompressed_bytes ({})",
                self.max_event_bytes, self.max_decompressed_bytes
            ));
        }
        if self.max_events_per_second == 0 {
            return Err("max_events_per_second must be positive".into());
        }
        if self.max_attachment_bytes_per_project.0 < self.max_attachment_bytes.0 {
            return Err(format!(
                "max_attachment_bytes_per_project ({}) must be at least max_attachment_bytes ({})",
                self.max_attachment_bytes_per_project, self.max_attachment_bytes
            ));
        }
        if self.max_transaction_names == 0 {
            return Err("max_transaction_names must be positive".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_and_transaction_limits_are_checked() {
        let mut limits = ErrorLimitsConfig::default();
        assert_eq!(limits.max_transaction_names, 1_000);
        assert!(limits.validate().is_ok());
        limits.max_attachment_bytes_per_project = ByteSize(4096);
        let e = limits.validate().unwrap_err();
        assert!(e.contains("max_attachment_bytes_per_project"), "{e}");
        limits = ErrorLimitsConfig {
            max_transaction_names: 0,
            ..ErrorLimitsConfig::default()
        };
        assert!(limits.validate().unwrap_err().contains("max_transaction_names"));
    }
}

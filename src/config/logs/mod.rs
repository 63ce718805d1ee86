//! The `logs:` section: how long each level is kept, how much disk the
//! logs may take, the limits that protect memory and disk at ingest, and
//! how often the index commits. The store lives under `<data-dir>/logs/`.
//!
//! Ingest sources (`files`, `gelf`, `syslog`) and `privacy` join this
//! section beside these keys.

mod commit;
mod limits;
mod query;
mod retention;

pub use commit::CommitConfig;
pub use limits::LogLimitsConfig;
pub use query::LogQueryConfig;
pub use retention::{LevelRetentionOverride, LogRetentionConfig};

use serde::Deserialize;

use super::size::ByteSize;

#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogsConfig {
    #[serde(default)]
    pub retention: LogRetentionConfig,
    /// The most disk the logs (index and WAL) may take; above it the
    /// oldest days are dropped first. 0 means no cap.
    #[serde(default)]
    pub retention_size: ByteSize,
    #[serde(default)]
    pub limits: LogLimitsConfig,
    #[serde(default)]
    pub commit: CommitConfig,
    /// What one LogQL query may spend.
    #[serde(default)]
    pub query: LogQueryConfig,
    /// User-id tokens and scrubbers, shared with errors.
    #[serde(default)]
    pub privacy: super::PrivacyConfig,
}

impl LogsConfig {
    /// Checks what serde cannot; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        self.retention.validate().map_err(|m| format!("retention: {m}"))?;
        self.limits.validate().map_err(|m| format!("limits: {m}"))?;
        self.commit.validate().map_err(|m| format!("commit: {m}"))?;
        self.query.validate().map_err(|m| format!("query: {m}"))?;
        self.privacy.validate().map_err(|e| format!("privacy: {e}"))?;
        if self.limits.max_pending_bytes.0 > 0
            && self.retention_size.0 > 0
            && self.limits.max_pending_bytes.0 > self.retention_size.0
        {
            return Err(format!(
                "limits.max_pending_bytes ({}) is larger than retention_size ({}): the WAL alone could \
                 exceed the disk cap",
                self.limits.max_pending_bytes, self.retention_size
            ));
        }
        Ok(())
    }

    /// The keys whose change a reload cannot apply (the store reads them
    /// once at start).
    pub fn changed_keys(&self, new: &LogsConfig) -> Vec<&'static str> {
        let mut keys = Vec::new();
        if self.retention != new.retention {
            keys.push("logs.retention");
        }
        if self.retention_size != new.retention_size {
            keys.push("logs.retention_size");
        }
        if self.limits != new.limits {
            keys.push("logs.limits");
        }
        if self.commit != new.commit {
            keys.push("logs.commit");
        }
        if self.query != new.query {
            keys.push("logs.query");
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<LogsConfig, String> {
        let cfg: LogsConfig = serde_norway::from_str(yaml).map_err(|e| e.to_string())?;
        cfg.validate()?;
        Ok(cfg)
    }

    #[test]
    fn defaults_follow_the_guide() {
        let cfg = parse("{}").unwrap();
        let days = |d: &crate::model::PromDuration| d.0.as_secs() / 86_400;
        assert_eq!(days(&cfg.retention.critical), 365);
        assert_eq!(days(&cfg.retention.error), 365);
        assert_eq!(days(&cfg.retention.warning), 90);
        assert_eq!(days(&cfg.retention.info), 30);
        assert_eq!(days(&cfg.retention.debug), 7);
        assert_eq!(cfg.retention_size.0, 0);
        assert!(cfg.limits.max_line_bytes.0 >= 1024);
    }

    #[test]
    fn per_service_overrides_parse_and_unknown_keys_fail() {
        let cfg =
            parse("retention:\n  debug: 1d\n  services:\n    api:\n      info: 14d\nretention_size: 10GB\n")
                .unwrap();
        assert_eq!(cfg.retention.debug.0.as_secs(), 86_400);
        let api = &cfg.retention.services["api"];
        assert_eq!(api.info.unwrap().0.as_secs(), 14 * 86_400);
        assert!(api.debug.is_none());
        assert_eq!(cfg.retention_size.0, 10 << 30);

        let err = parse("retention:\n  verbose: 1d\n").unwrap_err();
        assert!(err.contains("verbose"), "{err}");
        let err = parse("colour: red\n").unwrap_err();
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = parse("retention:\n  info: 0s\n").unwrap_err();
        assert!(err.contains("retention: info"), "{err}");
        let err = parse("limits:\n  max_line_bytes: 10\n").unwrap_err();
        assert!(err.contains("max_line_bytes"), "{err}");
        let err = parse("commit:\n  interval: 0s\n").unwrap_err();
        assert!(err.contains("commit: interval"), "{err}");
        let err = parse("query:\n  max_series: 0\n").unwrap_err();
        assert!(err.contains("query: max_series"), "{err}");
        let err = parse("query:\n  max_lines: 5\n").unwrap_err();
        assert!(err.contains("max_lines"), "{err}");
        let err = parse("retention_size: 1MB\nlimits:\n  max_pending_bytes: 64MB\n").unwrap_err();
        assert!(err.contains("max_pending_bytes"), "{err}");
        let err = parse("retention:\n  services:\n    '':\n      info: 1d\n").unwrap_err();
        assert!(err.contains("service name"), "{err}");
    }

    #[test]
    fn serializes_back_to_what_it_read() {
        let cfg = parse("retention:\n  warning: 30d\n  services:\n    api:\n      debug: 1d\n").unwrap();
        let yaml = serde_norway::to_string(&cfg).unwrap();
        let again: LogsConfig = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(cfg, again);
    }
}

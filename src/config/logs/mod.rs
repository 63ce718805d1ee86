//! The `logs:` section: how long each level is kept, how much disk the
//! logs may take, the limits that protect memory and disk at ingest, and
//! how often the index commits. The store lives under `<data-dir>/logs/`.
//!
//! Ingest sources (`files`, `gelf`, `syslog`) and `privacy` join this
//! section beside these keys; `files` is applied live on reload.

mod commit;
mod files;
mod gelf;
mod limits;
mod listener;
mod query;
mod retention;
mod syslog;

pub use commit::CommitConfig;
pub use files::{FileFormat, FileSourceConfig, MultilineConfig, StartAt};
pub use gelf::GelfConfig;
pub use limits::LogLimitsConfig;
pub use listener::Transport;
pub use query::LogQueryConfig;
pub use retention::{LevelRetentionOverride, LogRetentionConfig};
pub use syslog::SyslogConfig;

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
    /// The GELF listener (UDP and TCP); none unless configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gelf: Option<GelfConfig>,
    /// The syslog listener (UDP and TCP); none unless configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syslog: Option<SyslogConfig>,
    /// Log files tailed by Belfry itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileSourceConfig>,
}

impl LogsConfig {
    /// Checks what serde cannot; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        self.retention.validate().map_err(|m| format!("retention: {m}"))?;
        self.limits.validate().map_err(|m| format!("limits: {m}"))?;
        self.commit.validate().map_err(|m| format!("commit: {m}"))?;
        self.query.validate().map_err(|m| format!("query: {m}"))?;
        self.privacy.validate().map_err(|e| format!("privacy: {e}"))?;
        if let Some(gelf) = &self.gelf {
            gelf.validate().map_err(|m| format!("gelf.{m}"))?;
        }
        if let Some(syslog) = &self.syslog {
            syslog.validate().map_err(|m| format!("syslog.{m}"))?;
        }
        if let (Some(gelf), Some(syslog)) = (&self.gelf, &self.syslog)
            && gelf.listen_addr() == syslog.listen_addr()
        {
            let shared = gelf.protocols.iter().any(|t| syslog.protocols.contains(t));
            if shared {
                return Err(format!(
                    "gelf.listen and syslog.listen are both {}: each listener needs its own port",
                    gelf.listen
                ));
            }
        }
        files::validate_files(&self.files, self.limits.max_batch_lines)?;
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
        // Listeners are bound once at start.
        if self.gelf != new.gelf {
            keys.push("logs.gelf");
        }
        if self.syslog != new.syslog {
            keys.push("logs.syslog");
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
    fn listeners_are_off_unless_configured_and_checked_by_key() {
        let cfg = parse("{}").unwrap();
        assert!(cfg.gelf.is_none() && cfg.syslog.is_none());
        let cfg = parse("gelf: {}\nsyslog:\n  listen: '127.0.0.1:5514'\n  protocols: [tcp]\n").unwrap();
        let gelf = cfg.gelf.as_ref().unwrap();
        assert_eq!(gelf.listen, "127.0.0.1:12201");
        assert_eq!(gelf.protocols, [Transport::Udp, Transport::Tcp]);
        assert_eq!(cfg.syslog.as_ref().unwrap().protocols, [Transport::Tcp]);

        for (yaml, key) in [
            ("gelf:\n  listen: 'localhost'\n", "gelf.listen"),
            ("syslog:\n  protocols: []\n", "syslog.protocols"),
            ("syslog:\n  protocols: [udp, udp]\n", "syslog.protocols"),
            ("gelf:\n  max_message_bytes: 10B\n", "gelf.max_message_bytes"),
            ("syslog:\n  max_connections: 0\n", "syslog.max_connections"),
            ("gelf:\n  idle_timeout: 0s\n", "gelf.idle_timeout"),
            ("gelf:\n  max_chunk_bytes: 1KB\n", "gelf.max_chunk_bytes"),
            (
                "gelf: {listen: '127.0.0.1:9'}\nsyslog: {listen: '127.0.0.1:9'}\n",
                "each listener needs its own port",
            ),
        ] {
            let err = parse(yaml).unwrap_err();
            assert!(err.contains(key), "{yaml}: {err}");
        }
        let err = parse("syslog:\n  protocols: [sctp]\n").unwrap_err();
        assert!(err.contains("sctp"), "{err}");
        let err = parse("gelf:\n  port: 1\n").unwrap_err();
        assert!(err.contains("port"), "{err}");

        let old = parse("{}").unwrap();
        let new = parse("gelf: {}\n").unwrap();
        assert_eq!(old.changed_keys(&new), ["logs.gelf"]);
    }

    #[test]
    fn serializes_back_to_what_it_read() {
        let cfg = parse("retention:\n  warning: 30d\n  services:\n    api:\n      debug: 1d\n").unwrap();
        let yaml = serde_norway::to_string(&cfg).unwrap();
        let again: LogsConfig = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(cfg, again);
    }
}

//! Belfry's own sections: `storage` (retention, WAL) and `server` (listen
//! address, the limits on what HTTP clients may send, and `tls` in
//! `server_tls.rs`).

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::size::ByteSize;
use super::validation_error::ValidationError;
use crate::model::PromDuration;

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Samples older than this are deleted.
    #[serde(default = "default_retention_time")]
    pub retention_time: PromDuration,
    /// Oldest data is deleted above this size; 0 means no size limit.
    #[serde(default)]
    pub retention_size: ByteSize,
    #[serde(default)]
    pub wal: WalConfig,
    #[serde(default)]
    pub exemplars: super::exemplars::ExemplarsConfig,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            retention_time: default_retention_time(),
            retention_size: ByteSize(0),
            wal: WalConfig::default(),
            exemplars: Default::default(),
        }
    }
}

fn default_retention_time() -> PromDuration {
    PromDuration::from_secs(15 * 24 * 3600)
}

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct WalConfig {
    /// `always` (fsync every commit) or a duration (fsync at most that often).
    #[serde(default)]
    pub sync: WalSync,
    #[serde(default = "default_segment_size")]
    pub segment_size: ByteSize,
}

impl Default for WalConfig {
    fn default() -> Self {
        WalConfig {
            sync: WalSync::default(),
            segment_size: default_segment_size(),
        }
    }
}

fn default_segment_size() -> ByteSize {
    ByteSize(128 << 20)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalSync {
    Always,
    Interval(Duration),
}

impl Default for WalSync {
    /// Every commit reaches the OS at once (a process crash loses nothing);
    /// fsync once a second bounds what a power loss can take.
    fn default() -> Self {
        WalSync::Interval(Duration::from_secs(1))
    }
}

impl serde::Serialize for WalSync {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            WalSync::Always => s.serialize_str("always"),
            WalSync::Interval(d) => s.collect_str(&PromDuration(*d)),
        }
    }
}

impl<'de> Deserialize<'de> for WalSync {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text == "always" {
            return Ok(WalSync::Always);
        }
        match PromDuration::parse(&text) {
            Ok(d) if !d.is_zero() => Ok(WalSync::Interval(d.0)),
            _ => Err(serde::de::Error::custom(format!(
                "invalid wal sync policy {text:?} (expected \"always\" or a non-zero duration like 1s)"
            ))),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Where the HTTP server listens; `--listen` / `BELFRY_LISTEN` override it.
    #[serde(default)]
    pub listen_address: Option<SocketAddr>,
    /// Largest accepted request body, both as sent and after
    /// decompression; 0 means no limit.
    #[serde(default = "default_body_limit")]
    pub request_body_limit: ByteSize,
    /// Most labels on one pushed or remote-written series (0: no limit).
    #[serde(default = "default_label_limit")]
    pub label_limit: u64,
    #[serde(default = "default_label_name_length_limit")]
    pub label_name_length_limit: u64,
    #[serde(default = "default_label_value_length_limit")]
    pub label_value_length_limit: u64,
    /// The URL users reach Belfry under (as Prometheus's
    /// `--web.external-url`); its host name is accepted in `Host`, and its
    /// origin in `Origin`.
    #[serde(default)]
    pub external_url: Option<String>,
    /// More host names (without port) requests may be addressed to, beside
    /// loopback names and the listen address.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// HTTPS on the listener: certificate and key files, HSTS.
    #[serde(default)]
    pub tls: Option<super::ServerTlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen_address: None,
            request_body_limit: default_body_limit(),
            label_limit: default_label_limit(),
            label_name_length_limit: default_label_name_length_limit(),
            label_value_length_limit: default_label_value_length_limit(),
            external_url: None,
            allowed_hosts: Vec::new(),
            tls: None,
        }
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9900";

fn default_body_limit() -> ByteSize {
    ByteSize(32 << 20)
}
fn default_label_limit() -> u64 {
    128
}
fn default_label_name_length_limit() -> u64 {
    1024
}
fn default_label_value_length_limit() -> u64 {
    16 * 1024
}

impl StorageConfig {
    /// The `storage.*` keys whose values differ in `new`. The store is
    /// opened with them once, so a reload cannot apply them.
    pub fn changed_keys(&self, new: &StorageConfig) -> Vec<&'static str> {
        // Destructured so that a new field cannot be forgotten here.
        let StorageConfig {
            retention_time,
            retention_size,
            wal: WalConfig { sync, segment_size },
            // Applied by a reload (the exemplar store resizes).
            exemplars: _,
        } = self;
        let mut keys = Vec::new();
        push_if(
            &mut keys,
            *retention_time != new.retention_time,
            "storage.retention_time",
        );
        push_if(
            &mut keys,
            *retention_size != new.retention_size,
            "storage.retention_size",
        );
        push_if(&mut keys, *sync != new.wal.sync, "storage.wal.sync");
        push_if(
            &mut keys,
            *segment_size != new.wal.segment_size,
            "storage.wal.segment_size",
        );
        keys
    }
}

impl ServerConfig {
    /// The `server.*` keys whose values differ in `new`; the listener and
    /// the request limits are set up once at start.
    pub fn changed_keys(&self, new: &ServerConfig) -> Vec<&'static str> {
        let ServerConfig {
            listen_address,
            request_body_limit,
            label_limit,
            label_name_length_limit,
            label_value_length_limit,
            external_url,
            allowed_hosts,
            // The files themselves are picked up again while serving; which
            // files, and whether TLS is on at all, waits for a restart.
            tls,
        } = self;
        let mut keys = Vec::new();
        push_if(
            &mut keys,
            *listen_address != new.listen_address,
            "server.listen_address",
        );
        push_if(
            &mut keys,
            *request_body_limit != new.request_body_limit,
            "server.request_body_limit",
        );
        push_if(&mut keys, *label_limit != new.label_limit, "server.label_limit");
        push_if(
            &mut keys,
            *label_name_length_limit != new.label_name_length_limit,
            "server.label_name_length_limit",
        );
        push_if(
            &mut keys,
            *label_value_length_limit != new.label_value_length_limit,
            "server.label_value_length_limit",
        );
        push_if(
            &mut keys,
            *external_url != new.external_url,
            "server.external_url",
        );
        push_if(
            &mut keys,
            *allowed_hosts != new.allowed_hosts,
            "server.allowed_hosts",
        );
        push_if(&mut keys, *tls != new.tls, "server.tls");
        keys
    }

    /// The request body limit in bytes; `usize::MAX` when it is 0 (no limit).
    pub fn body_limit_bytes(&self) -> usize {
        match self.request_body_limit.0 {
            0 => usize::MAX,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        }
    }

    /// The host names `Host` may carry beside loopback and the listen
    /// address: `allowed_hosts` and `external_url`'s host, lower-cased.
    pub fn extra_host_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .allowed_hosts
            .iter()
            .map(|h| {
                h.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_ascii_lowercase()
            })
            .collect();
        if let Some(host) = self
            .external_url_parsed()
            .and_then(|u| u.host_str().map(str::to_string))
        {
            names.push(
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_ascii_lowercase(),
            );
        }
        names
    }

    /// `external_url`'s origin (`https://belfry.example.org`), which a
    /// browser sends as `Origin` from pages served under it.
    pub fn external_origin(&self) -> Option<String> {
        self.external_url_parsed()
            .map(|u| u.origin().ascii_serialization().to_ascii_lowercase())
    }

    /// Browsers reach Belfry over https (a TLS proxy in front names it in
    /// `external_url`), so cookies may be marked `Secure`.
    pub fn serves_https(&self) -> bool {
        self.external_url_parsed().is_some_and(|u| u.scheme() == "https")
    }

    fn external_url_parsed(&self) -> Option<reqwest::Url> {
        self.external_url
            .as_deref()
            .and_then(|u| reqwest::Url::parse(u).ok())
    }

    pub(super) fn validate(&self) -> Result<(), ValidationError> {
        if let Some(text) = &self.external_url {
            let url = reqwest::Url::parse(text).map_err(|e| ValidationError::ExternalUrl {
                url: text.clone(),
                reason: e.to_string(),
            })?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(ValidationError::ExternalUrl {
                    url: text.clone(),
                    reason: "expected an http or https URL with a host".into(),
                });
            }
        }
        for host in &self.allowed_hosts {
            let plain = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
                && !host.contains("//");
            if !plain {
                return Err(ValidationError::AllowedHost(host.clone()));
            }
        }
        Ok(())
    }
}

fn push_if(keys: &mut Vec<&'static str>, changed: bool, key: &'static str) {
    if changed {
        keys.push(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_limit_zero_means_none_and_names_are_checked() {
        let mut server = ServerConfig::default();
        assert_eq!(server.body_limit_bytes(), 32 << 20);
        server.request_body_limit = ByteSize(0);
        assert_eq!(server.body_limit_bytes(), usize::MAX);
        server.external_url = Some("https://Belfry.Example.org:8443/prefix".into());
        server.allowed_hosts = vec!["grafana-proxy".into(), "[::2]".into()];
        server.validate().unwrap();
        assert_eq!(
            server.extra_host_names(),
            ["grafana-proxy", "::2", "belfry.example.org"]
        );
        assert_eq!(
            server.external_origin().as_deref(),
            Some("https://belfry.example.org:8443")
        );
        server.external_url = Some("belfry.example.org".into());
        assert!(
            server
                .validate()
                .unwrap_err()
                .to_string()
                .contains("external_url")
        );
        server.external_url = None;
        server.allowed_hosts = vec!["http://x/".into()];
        assert!(
            server
                .validate()
                .unwrap_err()
                .to_string()
                .contains("allowed_hosts")
        );
    }

    #[test]
    fn changed_keys_name_each_differing_key() {
        let old = ServerConfig::default();
        let mut new = old.clone();
        assert!(old.changed_keys(&new).is_empty());
        new.label_limit = 5;
        new.listen_address = Some("127.0.0.1:1".parse().unwrap());
        assert_eq!(
            old.changed_keys(&new),
            ["server.listen_address", "server.label_limit"]
        );
        let s = StorageConfig::default();
        let mut t = s.clone();
        t.wal.sync = WalSync::Always;
        t.retention_size = ByteSize(1);
        assert_eq!(s.changed_keys(&t), ["storage.retention_size", "storage.wal.sync"]);
    }
}

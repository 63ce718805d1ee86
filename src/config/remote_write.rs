//! Prometheus's `remote_write` section: where stored samples are sent on to
//! (Mimir, VictoriaMetrics, Thanos Receive, another Prometheus), with its
//! HTTP client settings, `write_relabel_configs`, `queue_config` and
//! `metadata_config`; defaults and checks as Prometheus applies them.
//! Sending lives in `crate::remote`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::http::{self, Authorization, BasicAuth, ClientAuthFields, TlsConfig};
use super::proxy::ProxySettings;
use super::relabel::RelabelConfig;
use super::secret::Secret;
use super::validation_error::ValidationError;
use crate::model::PromDuration;

/// The one message format Belfry sends: remote write 1.0.
pub const PROTOBUF_MESSAGE_V1: &str = "prometheus.WriteRequest";

/// Headers the sender sets itself; Prometheus refuses them in `headers`.
const RESERVED_HEADERS: [&str; 13] = [
    "authorization",
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "retry-after",
    "x-prometheus-remote-write-version",
];

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWriteConfig {
    pub url: String,
    /// Names the queue in metrics and logs; when empty, one is derived
    /// from the URL at resolve time.
    #[serde(default)]
    pub name: String,
    #[serde(default = "default_remote_timeout")]
    pub remote_timeout: PromDuration,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub write_relabel_configs: Vec<RelabelConfig>,
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    #[serde(default)]
    pub authorization: Option<Authorization>,
    #[serde(default)]
    pub bearer_token: Secret,
    #[serde(default)]
    pub bearer_token_file: Option<PathBuf>,
    #[serde(default)]
    pub tls_config: TlsConfig,
    #[serde(default = "yes")]
    pub follow_redirects: bool,
    #[serde(default)]
    pub proxy_url: Option<String>,
    #[serde(default)]
    pub no_proxy: Option<String>,
    #[serde(default)]
    pub proxy_from_environment: bool,
    /// Accepted for compatibility; the client negotiates HTTP/1.1 or 2 by ALPN.
    #[serde(default = "yes")]
    pub enable_http2: bool,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub queue_config: QueueConfig,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub metadata_config: MetadataConfig,
    /// Belfry's WAL holds no exemplars, so `true` is refused.
    #[serde(default)]
    pub send_exemplars: bool,
    /// Belfry's store holds float samples only, so `true` is refused.
    #[serde(default)]
    pub send_native_histograms: bool,
    /// Prometheus 3's choice of message; only remote write 1.0 is spoken.
    #[serde(default)]
    pub protobuf_message: Option<String>,
}

/// How samples are batched, sharded and retried. Defaults are those of
/// current Prometheus releases (2.45 on), which raised the batch size and
/// capacity of 2.42's (500, 2500).
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Samples read ahead per shard before sending blocks reading.
    pub capacity: usize,
    pub max_shards: usize,
    pub min_shards: usize,
    pub max_samples_per_send: usize,
    /// A partial batch is sent after this long.
    pub batch_send_deadline: PromDuration,
    pub min_backoff: PromDuration,
    pub max_backoff: PromDuration,
    /// Retry on 429 Too Many Requests. Off by default, as in every
    /// Prometheus release so far (2.42 and 3.x alike): a copied Prometheus
    /// configuration behaves the same here. Mimir and friends answer 429
    /// when a tenant is over its rate, so turning it on avoids dropping
    /// data there.
    pub retry_on_http_429: bool,
    /// Samples older than this when read are dropped instead of sent;
    /// zero means no limit.
    pub sample_age_limit: PromDuration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: 10_000,
            max_shards: 50,
            min_shards: 1,
            max_samples_per_send: 2_000,
            batch_send_deadline: PromDuration::from_secs(5),
            min_backoff: PromDuration(Duration::from_millis(30)),
            max_backoff: PromDuration::from_secs(5),
            retry_on_http_429: false,
            sample_age_limit: PromDuration::ZERO,
        }
    }
}

/// Sending scrape metadata (`# TYPE`, `# HELP`, `# UNIT`).
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetadataConfig {
    pub send: bool,
    pub send_interval: PromDuration,
    pub max_samples_per_send: usize,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        MetadataConfig {
            send: true,
            send_interval: PromDuration::from_secs(60),
            max_samples_per_send: 2_000,
        }
    }
}

/// Why a `remote_write` entry is refused.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum RemoteWriteConfigError {
    #[error("url for remote_write is empty")]
    EmptyUrl,
    #[error("url {url:?} is not valid: {reason}")]
    Url { url: String, reason: String },
    #[error("url {0:?} must be http or https")]
    Scheme(String),
    #[error("{0:?} is a reserved header. It must not be changed")]
    ReservedHeader(String),
    #[error("header {0:?} is not a valid HTTP header name or value")]
    Header(String),
    #[error("found multiple remote write configs with name {0:?}")]
    DuplicateName(String),
    #[error("duplicate remote write configs are not allowed, found duplicate for URL: {0}")]
    DuplicateConfig(String),
    #[error("queue_config: {0}")]
    Queue(&'static str),
    #[error("metadata_config: {0}")]
    Metadata(&'static str),
    #[error(
        "send_exemplars: Belfry keeps no exemplars in its write-ahead log, so it cannot send any; \
         remove the key or set it to false"
    )]
    Exemplars,
    #[error(
        "send_native_histograms: Belfry stores float samples only, so there are no native \
         histograms to send; remove the key or set it to false"
    )]
    NativeHistograms,
    #[error(
        "protobuf_message {0:?} is not supported: Belfry sends remote write 1.0 (\"prometheus.WriteRequest\")"
    )]
    ProtobufMessage(String),
    #[error(transparent)]
    Client(#[from] ValidationError),
}

fn default_remote_timeout() -> PromDuration {
    PromDuration::from_secs(30)
}

fn yes() -> bool {
    true
}

impl RemoteWriteConfig {
    /// An entry with Prometheus's defaults, for building configs in code.
    pub fn new(url: impl Into<String>) -> Self {
        RemoteWriteConfig {
            url: url.into(),
            name: String::new(),
            remote_timeout: default_remote_timeout(),
            headers: BTreeMap::new(),
            write_relabel_configs: Vec::new(),
            basic_auth: None,
            authorization: None,
            bearer_token: Secret::default(),
            bearer_token_file: None,
            tls_config: TlsConfig::default(),
            follow_redirects: true,
            proxy_url: None,
            no_proxy: None,
            proxy_from_environment: false,
            enable_http2: true,
            queue_config: QueueConfig::default(),
            metadata_config: MetadataConfig::default(),
            send_exemplars: false,
            send_native_histograms: false,
            protobuf_message: None,
        }
    }

    pub fn proxy(&self) -> ProxySettings<'_> {
        ProxySettings {
            url: self.proxy_url.as_deref(),
            no_proxy: self.no_proxy.as_deref(),
            from_environment: self.proxy_from_environment,
        }
    }

    /// Checks one entry and fills its derived values (the name, the
    /// legacy bearer fields as an `authorization`).
    fn resolve(&mut self) -> Result<(), RemoteWriteConfigError> {
        if self.url.is_empty() {
            return Err(RemoteWriteConfigError::EmptyUrl);
        }
        let parsed = reqwest::Url::parse(&self.url).map_err(|e| RemoteWriteConfigError::Url {
            url: self.url.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(RemoteWriteConfigError::Scheme(self.url.clone()));
        }
        for (name, value) in &self.headers {
            if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                return Err(RemoteWriteConfigError::ReservedHeader(name.clone()));
            }
            let valid = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
                && reqwest::header::HeaderValue::from_str(value).is_ok();
            if !valid {
                return Err(RemoteWriteConfigError::Header(name.clone()));
            }
        }
        self.check_queue()?;
        if self.metadata_config.send && self.metadata_config.max_samples_per_send == 0 {
            return Err(RemoteWriteConfigError::Metadata(
                "max_samples_per_send must be positive",
            ));
        }
        if self.metadata_config.send && self.metadata_config.send_interval.is_zero() {
            return Err(RemoteWriteConfigError::Metadata("send_interval must be positive"));
        }
        if self.send_exemplars {
            return Err(RemoteWriteConfigError::Exemplars);
        }
        if self.send_native_histograms {
            return Err(RemoteWriteConfigError::NativeHistograms);
        }
        if let Some(m) = &self.protobuf_message
            && m != PROTOBUF_MESSAGE_V1
        {
            return Err(RemoteWriteConfigError::ProtobufMessage(m.clone()));
        }
        self.proxy().validate().map_err(ValidationError::from)?;
        self.resolve_auth()?;
        if self.name.is_empty() {
            self.name = derived_name(&self.url);
        }
        Ok(())
    }

    fn check_queue(&self) -> Result<(), RemoteWriteConfigError> {
        let q = &self.queue_config;
        let fail = |m| Err(RemoteWriteConfigError::Queue(m));
        if q.capacity == 0 {
            return fail("capacity must be positive");
        }
        if q.max_samples_per_send == 0 {
            return fail("max_samples_per_send must be positive");
        }
        if q.min_shards == 0 {
            return fail("min_shards must be positive");
        }
        if q.max_shards < q.min_shards {
            return fail("max_shards must not be below min_shards");
        }
        if q.batch_send_deadline.is_zero() {
            return fail("batch_send_deadline must be positive");
        }
        if q.min_backoff.is_zero() {
            return fail("min_backoff must be positive");
        }
        if q.max_backoff < q.min_backoff {
            return fail("max_backoff must not be below min_backoff");
        }
        Ok(())
    }

    fn resolve_auth(&mut self) -> Result<(), ValidationError> {
        ClientAuthFields {
            basic_auth: &self.basic_auth,
            authorization: &mut self.authorization,
            bearer_token: &mut self.bearer_token,
            bearer_token_file: &mut self.bearer_token_file,
            tls_config: &self.tls_config,
        }
        .validate_and_normalize()
    }

    pub(super) fn resolve_paths(&mut self, dir: &Path) {
        if let Some(b) = &mut self.basic_auth {
            http::resolve(dir, &mut b.password_file);
        }
        if let Some(a) = &mut self.authorization {
            http::resolve(dir, &mut a.credentials_file);
        }
        http::resolve(dir, &mut self.bearer_token_file);
        http::resolve(dir, &mut self.tls_config.ca_file);
        http::resolve(dir, &mut self.tls_config.cert_file);
        http::resolve(dir, &mut self.tls_config.key_file);
    }
}

/// Checks every entry and that names are unique. Returns the index of the
/// entry at fault with the error.
pub(super) fn resolve_all(list: &mut [RemoteWriteConfig]) -> Result<(), (usize, RemoteWriteConfigError)> {
    let mut names = HashSet::new();
    for (i, rw) in list.iter_mut().enumerate() {
        rw.resolve().map_err(|e| (i, e))?;
    }
    for (i, rw) in list.iter().enumerate() {
        if list[..i].iter().any(|earlier| earlier == rw) {
            return Err((i, RemoteWriteConfigError::DuplicateConfig(rw.url.clone())));
        }
        if !names.insert(rw.name.as_str()) {
            return Err((i, RemoteWriteConfigError::DuplicateName(rw.name.clone())));
        }
    }
    Ok(())
}

/// A stable short name from the URL (Prometheus hashes the whole entry;
/// the URL keeps the name, and so the persisted position, across edits
/// of the other keys).
fn derived_name(url: &str) -> String {
    let h = xxhash_rust::xxh3::xxh3_64(url.as_bytes());
    format!("{:06x}", h >> 40)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn load(yaml: &str) -> Result<Config, String> {
        Config::from_yaml_with_env(yaml, "t.yml", |_| None).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_follow_prometheus() {
        let c = load("remote_write:\n  - url: http://mimir:9009/api/v1/push\n").unwrap();
        let rw = &c.remote_write[0];
        assert_eq!(rw.remote_timeout, PromDuration::from_secs(30));
        assert_eq!(rw.queue_config, QueueConfig::default());
        assert!(!rw.queue_config.retry_on_http_429);
        assert!(rw.metadata_config.send);
        assert_eq!(rw.name.len(), 6, "a name is derived from the url");
    }

    #[test]
    fn full_entry_parses() {
        let c = load(
            r#"
remote_write:
  - url: https://mimir.example/api/v1/push
    name: mimir
    remote_timeout: 10s
    headers: {X-Scope-OrgID: lms}
    bearer_token: abc
    write_relabel_configs:
      - {source_labels: [__name__], regex: 'go_.*', action: drop}
    queue_config:
      capacity: 500
      max_shards: 4
      min_shards: 2
      max_samples_per_send: 100
      batch_send_deadline: 1s
      min_backoff: 10ms
      max_backoff: 1s
      retry_on_http_429: true
    metadata_config: {send: false, send_interval: 30s, max_samples_per_send: 10}
    send_exemplars: false
    protobuf_message: prometheus.WriteRequest
"#,
        )
        .unwrap();
        let rw = &c.remote_write[0];
        assert_eq!(rw.name, "mimir");
        assert_eq!(rw.headers["X-Scope-OrgID"], "lms");
        assert_eq!(rw.authorization.as_ref().unwrap().credentials.expose(), "abc");
        assert_eq!(rw.queue_config.max_shards, 4);
        assert!(rw.queue_config.retry_on_http_429);
        assert!(!rw.metadata_config.send);
        assert_eq!(rw.write_relabel_configs.len(), 1);
    }

    #[test]
    fn refusals_name_the_problem() {
        let cases = [
            ("remote_write: [{url: ''}]", "url for remote_write is empty"),
            ("remote_write: [{url: 'ftp://x/'}]", "must be http or https"),
            (
                "remote_write: [{url: 'http://x/', unknown: 1}]",
                "unknown field `unknown`",
            ),
            (
                "remote_write: [{url: 'http://x/', queue_config: {capcity: 1}}]",
                "unknown field `capcity`",
            ),
            (
                "remote_write: [{url: 'http://x/', headers: {User-Agent: me}}]",
                "\"User-Agent\" is a reserved header",
            ),
            (
                "remote_write: [{url: 'http://x/', name: a}, {url: 'http://y/', name: a}]",
                "multiple remote write configs with name \"a\"",
            ),
            (
                "remote_write: [{url: 'http://x/'}, {url: 'http://x/'}]",
                "duplicate remote write configs",
            ),
            (
                "remote_write: [{url: 'http://x/', send_exemplars: true}]",
                "send_exemplars",
            ),
            (
                "remote_write: [{url: 'http://x/', send_native_histograms: true}]",
                "float samples only",
            ),
            (
                "remote_write: [{url: 'http://x/', protobuf_message: io.prometheus.write.v2.Request}]",
                "remote write 1.0",
            ),
            (
                "remote_write: [{url: 'http://x/', queue_config: {min_shards: 3, max_shards: 2}}]",
                "max_shards must not be below min_shards",
            ),
            (
                "remote_write: [{url: 'http://x/', bearer_token: a, basic_auth: {username: u}}]",
                "at most one of basic_auth",
            ),
        ];
        for (yaml, want) in cases {
            let err = load(yaml).unwrap_err();
            assert!(err.contains(want), "{yaml}: {err}");
            if !want.contains("unknown field") {
                assert!(err.contains("remote_write"), "{yaml}: {err} names the section");
            }
        }
    }
}

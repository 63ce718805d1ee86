//! `global` and `scrape_configs`: Prometheus's format and defaults.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer};

use super::http::{Authorization, BasicAuth, ClientAuthFields, TlsConfig};
use super::proxy::ProxySettings;
use super::relabel::RelabelConfig;
use super::sd::{FileSdConfig, StaticConfig};
use super::secret::Secret;
use super::size::ByteSize;
use super::validation_error::ValidationError;
use crate::model::PromDuration;

/// Defaults every scrape job inherits, plus the rule evaluation interval.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    #[serde(default)]
    pub scrape_interval: PromDuration,
    #[serde(default)]
    pub scrape_timeout: PromDuration,
    #[serde(default)]
    pub evaluation_interval: PromDuration,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub external_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub sample_limit: u64,
    #[serde(default)]
    pub label_limit: u64,
    #[serde(default)]
    pub label_name_length_limit: u64,
    #[serde(default)]
    pub label_value_length_limit: u64,
    #[serde(default)]
    pub body_size_limit: ByteSize,
    #[serde(default)]
    pub target_limit: u64,
    #[serde(default)]
    pub keep_dropped_targets: u64,
    #[serde(default)]
    pub scrape_protocols: Option<Vec<ScrapeProtocol>>,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            scrape_interval: DEFAULT_SCRAPE_INTERVAL,
            scrape_timeout: DEFAULT_SCRAPE_TIMEOUT,
            evaluation_interval: DEFAULT_EVALUATION_INTERVAL,
            external_labels: BTreeMap::new(),
            sample_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            body_size_limit: ByteSize(0),
            target_limit: 0,
            keep_dropped_targets: 0,
            scrape_protocols: None,
        }
    }
}

pub const DEFAULT_SCRAPE_INTERVAL: PromDuration = PromDuration(std::time::Duration::from_secs(60));
pub const DEFAULT_SCRAPE_TIMEOUT: PromDuration = PromDuration(std::time::Duration::from_secs(10));
pub const DEFAULT_EVALUATION_INTERVAL: PromDuration = PromDuration(std::time::Duration::from_secs(60));

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    #[default]
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An exposition format a scrape may negotiate, named as in Prometheus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScrapeProtocol {
    /// Protobuf; accepted in the config for compatibility but never
    /// requested, since Belfry parses only the text formats.
    PrometheusProto,
    OpenMetricsText0_0_1,
    OpenMetricsText1_0_0,
    PrometheusText0_0_4,
    PrometheusText1_0_0,
}

impl ScrapeProtocol {
    const ALL: [ScrapeProtocol; 5] = [
        ScrapeProtocol::PrometheusProto,
        ScrapeProtocol::OpenMetricsText0_0_1,
        ScrapeProtocol::OpenMetricsText1_0_0,
        ScrapeProtocol::PrometheusText0_0_4,
        ScrapeProtocol::PrometheusText1_0_0,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ScrapeProtocol::PrometheusProto => "PrometheusProto",
            ScrapeProtocol::OpenMetricsText0_0_1 => "OpenMetricsText0.0.1",
            ScrapeProtocol::OpenMetricsText1_0_0 => "OpenMetricsText1.0.0",
            ScrapeProtocol::PrometheusText0_0_4 => "PrometheusText0.0.4",
            ScrapeProtocol::PrometheusText1_0_0 => "PrometheusText1.0.0",
        }
    }

    /// The media type sent in `Accept`; `None` for formats Belfry cannot parse.
    pub fn media_type(self) -> Option<&'static str> {
        match self {
            ScrapeProtocol::PrometheusProto => None,
            ScrapeProtocol::OpenMetricsText0_0_1 => Some("application/openmetrics-text;version=0.0.1"),
            ScrapeProtocol::OpenMetricsText1_0_0 => {
                Some("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8")
            }
            ScrapeProtocol::PrometheusText0_0_4 => Some("text/plain;version=0.0.4"),
            ScrapeProtocol::PrometheusText1_0_0 => Some("text/plain;version=1.0.0;escaping=allow-utf-8"),
        }
    }
}

impl serde::Serialize for ScrapeProtocol {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for ScrapeProtocol {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ScrapeProtocol::ALL
            .into_iter()
            .find(|p| p.name() == text)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown scrape protocol {text:?}, supported: PrometheusProto, OpenMetricsText0.0.1, \
                     OpenMetricsText1.0.0, PrometheusText0.0.4, PrometheusText1.0.0"
                ))
            })
    }
}

/// One scrape job. After `Config` resolves it, every inherited field
/// (interval, timeout, limits, protocols) holds its effective value.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    pub job_name: String,
    #[serde(default)]
    pub scrape_interval: PromDuration,
    #[serde(default)]
    pub scrape_timeout: PromDuration,
    #[serde(default = "default_metrics_path")]
    pub metrics_path: String,
    #[serde(default)]
    pub scheme: Scheme,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub params: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub honor_labels: bool,
    #[serde(default = "yes")]
    pub honor_timestamps: bool,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub static_configs: Vec<StaticConfig>,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub file_sd_configs: Vec<FileSdConfig>,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub relabel_configs: Vec<RelabelConfig>,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub metric_relabel_configs: Vec<RelabelConfig>,
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    #[serde(default)]
    pub authorization: Option<Authorization>,
    #[serde(default)]
    pub bearer_token: Secret,
    #[serde(default)]
    pub bearer_token_file: Option<std::path::PathBuf>,
    #[serde(default)]
    pub tls_config: TlsConfig,
    #[serde(default = "yes")]
    pub follow_redirects: bool,
    #[serde(default, serialize_with = "super::secret::redact_url")]
    pub proxy_url: Option<String>,
    #[serde(default)]
    pub no_proxy: Option<String>,
    #[serde(default)]
    pub proxy_from_environment: bool,
    /// Accepted for compatibility; the client negotiates HTTP/1.1 or 2 by ALPN.
    #[serde(default = "yes")]
    pub enable_http2: bool,
    /// Ask for gzip-compressed bodies.
    #[serde(default = "yes")]
    pub enable_compression: bool,
    #[serde(default)]
    pub sample_limit: u64,
    #[serde(default)]
    pub label_limit: u64,
    #[serde(default)]
    pub label_name_length_limit: u64,
    #[serde(default)]
    pub label_value_length_limit: u64,
    #[serde(default)]
    pub body_size_limit: ByteSize,
    /// More targets than this after relabeling fail every target of the
    /// job (`up` = 0); 0 means no limit.
    #[serde(default)]
    pub target_limit: u64,
    /// At most this many dropped targets are listed on the targets API;
    /// 0 means all.
    #[serde(default)]
    pub keep_dropped_targets: u64,
    #[serde(default)]
    pub scrape_protocols: Option<Vec<ScrapeProtocol>>,
}

fn default_metrics_path() -> String {
    "/metrics".to_string()
}

fn yes() -> bool {
    true
}

impl ScrapeConfig {
    pub fn proxy(&self) -> ProxySettings<'_> {
        ProxySettings {
            url: self.proxy_url.as_deref(),
            no_proxy: self.no_proxy.as_deref(),
            from_environment: self.proxy_from_environment,
        }
    }

    /// A job with Prometheus's defaults, for building configs in code.
    pub fn new(job_name: impl Into<String>) -> Self {
        ScrapeConfig {
            job_name: job_name.into(),
            scrape_interval: PromDuration::ZERO,
            scrape_timeout: PromDuration::ZERO,
            metrics_path: default_metrics_path(),
            scheme: Scheme::Http,
            params: BTreeMap::new(),
            honor_labels: false,
            honor_timestamps: true,
            static_configs: Vec::new(),
            file_sd_configs: Vec::new(),
            relabel_configs: Vec::new(),
            metric_relabel_configs: Vec::new(),
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
            enable_compression: true,
            sample_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            body_size_limit: ByteSize(0),
            target_limit: 0,
            keep_dropped_targets: 0,
            scrape_protocols: None,
        }
    }

    /// Fills inherited values from `global` and checks the job, as
    /// Prometheus's `ScrapeConfig.Validate`.
    pub(super) fn resolve(&mut self, global: &GlobalConfig) -> Result<(), ValidationError> {
        self.proxy().validate()?;
        if self.job_name.is_empty() {
            return Err(ValidationError::EmptyJobName);
        }
        if self.scrape_interval.is_zero() {
            self.scrape_interval = global.scrape_interval;
        }
        if self.scrape_timeout.is_zero() {
            self.scrape_timeout = global.scrape_timeout.min(self.scrape_interval);
        }
        if self.scrape_timeout > self.scrape_interval {
            return Err(ValidationError::TimeoutOverInterval {
                timeout: self.scrape_timeout,
                interval: self.scrape_interval,
            });
        }
        if !self.metrics_path.starts_with('/') {
            return Err(ValidationError::MetricsPath(self.metrics_path.clone()));
        }
        if let Some(bad) = self.params.keys().find(|k| k.is_empty()) {
            return Err(ValidationError::EmptyParam(bad.clone()));
        }
        let inherit = |value: &mut u64, global_value: u64| {
            if *value == 0 {
                *value = global_value;
            }
        };
        inherit(&mut self.sample_limit, global.sample_limit);
        inherit(&mut self.label_limit, global.label_limit);
        inherit(&mut self.label_name_length_limit, global.label_name_length_limit);
        inherit(
            &mut self.label_value_length_limit,
            global.label_value_length_limit,
        );
        inherit(&mut self.target_limit, global.target_limit);
        inherit(&mut self.keep_dropped_targets, global.keep_dropped_targets);
        if self.body_size_limit.0 == 0 {
            self.body_size_limit = global.body_size_limit;
        }
        if self.scrape_protocols.is_none() {
            self.scrape_protocols = global.scrape_protocols.clone();
        }
        if let Some(protocols) = &self.scrape_protocols {
            validate_protocols(protocols)?;
        }
        self.validate_auth()?;
        for (i, sc) in self.static_configs.iter().enumerate() {
            sc.validate().map_err(|e| ValidationError::StaticConfig {
                index: i,
                source: Box::new(e),
            })?;
        }
        for (i, fc) in self.file_sd_configs.iter().enumerate() {
            fc.validate().map_err(|e| ValidationError::FileSdConfig {
                index: i,
                source: Box::new(e),
            })?;
        }
        Ok(())
    }

    fn validate_auth(&mut self) -> Result<(), ValidationError> {
        ClientAuthFields {
            basic_auth: &self.basic_auth,
            authorization: &mut self.authorization,
            bearer_token: &mut self.bearer_token,
            bearer_token_file: &mut self.bearer_token_file,
            tls_config: &self.tls_config,
        }
        .validate_and_normalize()
    }
}

pub(super) fn validate_protocols(protocols: &[ScrapeProtocol]) -> Result<(), ValidationError> {
    if protocols.is_empty() {
        return Err(ValidationError::NoProtocols);
    }
    for (i, p) in protocols.iter().enumerate() {
        if protocols[..i].contains(p) {
            return Err(ValidationError::DuplicateProtocol(p.name()));
        }
    }
    if protocols.iter().all(|p| p.media_type().is_none()) {
        return Err(ValidationError::NoTextProtocol);
    }
    Ok(())
}

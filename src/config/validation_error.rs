//! Why a section of the configuration is invalid: a scrape job, the
//! global section, HTTP client settings, service discovery, relabeling or
//! a byte size. The place is added by the caller, which locates the
//! section in the file.

use crate::model::PromDuration;

use super::{ProxyError, RelabelAction};

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("scrape_timeout ({timeout}) greater than scrape_interval ({interval})")]
    TimeoutOverInterval {
        timeout: PromDuration,
        interval: PromDuration,
    },
    #[error("external_labels: {0:?} is not a valid label name")]
    ExternalLabelName(String),
    #[error("external_url {url:?} is not valid: {reason}")]
    ExternalUrl { url: String, reason: String },
    #[error("allowed_hosts: {0:?} is not a host name (write a name or address without scheme, path or port)")]
    AllowedHost(String),
    #[error("scrape_protocols cannot be empty")]
    NoProtocols,
    #[error("duplicated protocol in scrape_protocols: {0}")]
    DuplicateProtocol(&'static str),
    #[error("scrape_protocols must include a text format (Belfry does not parse PrometheusProto)")]
    NoTextProtocol,
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    #[error("job_name is empty")]
    EmptyJobName,
    #[error("metrics_path {0:?} must start with '/'")]
    MetricsPath(String),
    #[error("params: empty parameter name {0:?}")]
    EmptyParam(String),
    #[error("static_configs[{index}]: {source}")]
    StaticConfig {
        index: usize,
        #[source]
        source: Box<ValidationError>,
    },
    #[error("file_sd_configs[{index}]: {source}")]
    FileSdConfig {
        index: usize,
        #[source]
        source: Box<ValidationError>,
    },
    #[error("at most one of bearer_token & bearer_token_file must be configured")]
    BearerTokenTwice,
    #[error("at most one of basic_auth, authorization, bearer_token & bearer_token_file must be configured")]
    AuthMethods,
    #[error("authorization is not compatible with bearer_token & bearer_token_file")]
    AuthorizationWithBearer,
    #[error("at most one of basic_auth password & password_file must be configured")]
    PasswordTwice,
    #[error(r#"authorization type cannot be set to "basic", use "basic_auth" instead"#)]
    BasicAuthorizationType,
    #[error("at most one of authorization credentials & credentials_file must be configured")]
    CredentialsTwice,
    #[error("tls_config.{key}: {version} is not supported (only TLS12 and TLS13 are available)")]
    UnsupportedTlsVersion { key: &'static str, version: String },
    #[error("tls_config.{key}: unknown TLS version {version:?} (expected TLS12 or TLS13)")]
    UnknownTlsVersion { key: &'static str, version: String },
    #[error("tls_config: max_version {max} is lower than min_version {min}")]
    TlsVersionOrder { min: &'static str, max: &'static str },
    #[error("client cert file {0:?} specified without client key file")]
    CertWithoutKey(String),
    #[error("client key file {0:?} specified without client cert file")]
    KeyWithoutCert(String),
    #[error("{0:?} is not a valid label name")]
    LabelName(String),
    #[error("{0:?} is not a valid target address (expected host:port, without scheme or path)")]
    TargetAddress(String),
    #[error("file service discovery config must contain at least one path name")]
    NoSdFiles,
    #[error(
        "path name {0:?} is not valid for file discovery (a '*' is allowed only in the \
         last path element, and the file must end in .json, .yml or .yaml)"
    )]
    SdPath(String),
    #[error("file_sd_configs refresh_interval must be greater than zero")]
    ZeroRefresh,
    #[error("invalid regular expression {regex:?}: {source}")]
    Regex {
        regex: String,
        #[source]
        source: crate::model::GoRegexError,
    },
    #[error("{0:?} is not a valid label name in 'source_labels'")]
    SourceLabelName(String),
    #[error("relabel configuration for hashmod requires non-zero modulus")]
    ZeroModulus,
    #[error("relabel configuration for {0} action requires 'target_label' value")]
    MissingTargetLabel(RelabelAction),
    #[error("{label:?} is invalid 'target_label' for {action} action")]
    TargetLabel { label: String, action: RelabelAction },
    #[error("'replacement' can not be set for {0} action")]
    ReplacementNotAllowed(RelabelAction),
    #[error("{replacement:?} is invalid 'replacement' for {action} action")]
    Replacement {
        replacement: String,
        action: RelabelAction,
    },
    #[error("{0} action requires only 'source_labels' and 'target_label', and no other fields")]
    EqualActionFields(RelabelAction),
    #[error("{0} action requires only 'regex', and no other fields")]
    LabelActionFields(RelabelAction),
    #[error("not a valid byte size: {0:?} (expected e.g. 512KB, 10MB, 1GiB)")]
    ByteSize(String),
    #[error("byte size out of range: {0:?}")]
    ByteSizeRange(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_errors_name_their_index() {
        let e = ValidationError::StaticConfig {
            index: 2,
            source: Box::new(ValidationError::TargetAddress("http://a/b".into())),
        };
        assert_eq!(
            e.to_string(),
            "static_configs[2]: \"http://a/b\" is not a valid target address (expected host:port, without scheme or path)"
        );
        assert_eq!(
            ValidationError::MissingTargetLabel(RelabelAction::HashMod).to_string(),
            "relabel configuration for hashmod action requires 'target_label' value"
        );
    }
}

//! The configuration file: its serde shape (Prometheus-compatible `global`,
//! `scrape_configs` and `rule_files`, Alertmanager's `alerting`, plus
//! Belfry's `storage`, `logs`, `errors`, `auth` and `server`),
//! `${VAR}` expansion, Prometheus's defaults and validation, and errors
//! located as `FILE:LINE:COLUMN`.

pub mod alerting;
mod alerting_flood;
mod auth;
mod auth_oidc;
mod envsubst;
mod error;
mod errors;
mod exemplars;
mod file;
mod file_error;
mod http;
mod ldap;
mod logins;
mod logs;
mod privacy;
mod proxy;
mod relabel;
mod remote_write;
mod reports;
mod scrape;
mod sd;
mod secret;
mod server;
mod server_tls;
mod size;
mod validation_error;

pub use alerting::AlertingConfig;
pub use alerting_flood::{AlertFloodConfig, DEFAULT_MAX_DURATION_SECS, FloodOverride};
pub use auth::{
    AdminConfig, AuthConfig, LockoutConfig, LoginThrottleConfig, MAX_NAME_LEN, MAX_PASSWORD_LEN,
    MIN_PASSWORD_LEN, PasswordHashingConfig, SessionConfig, is_valid_account_name, password_problem,
};
pub use auth_oidc::{OIDC_CALLBACK_PATH, OIDC_ROLE_NAMES, OidcConfig};
pub use error::ConfigError;
pub use errors::{
    ErrorAlertsConfig, ErrorLimitsConfig, ErrorMonitorsConfig, ErrorScrubConfig, ErrorsConfig,
    FingerprintMatcher, FingerprintRule, ProjectConfig, SpikeConfig, is_valid_key,
};
pub use exemplars::{DEFAULT_MAX_EXEMPLARS, ExemplarsConfig};
#[cfg(test)]
use file::locate_job;
pub use file::{BUILTIN_RULES_PREFIX, Config, SELF_JOB};
pub(crate) use file::{is_blank_yaml, null_as_default, yaml_error};
pub use file_error::{FileError, FileKind};
pub use http::{Authorization, BasicAuth, TlsConfig, TlsVersion};
pub use ldap::{DN_PLACEHOLDER, LdapConfig, MAX_LDAP_TIMEOUT_SECS, RoleName, USER_PLACEHOLDER};
pub use logins::{BurstConfig, FailedBurstsConfig, LoginsConfig, MAX_BURST_THRESHOLD};
pub use logs::{
    CommitConfig, FileFormat, FileSourceConfig, GelfConfig, LevelRetentionOverride, LogLimitsConfig,
    LogQueryConfig, LogRetentionConfig, LogsConfig, MultilineConfig, StartAt, SyslogConfig, Transport,
};
pub use privacy::{
    BUILTIN_SCRUBBERS, CustomScrubber, DEFAULT_ON_SCRUBBERS, MIN_USER_ID_KEY_LEN, PrivacyConfig,
    PrivacyConfigError, ScrubbersConfig, compile_custom,
};
pub use proxy::{ProxyError, ProxySettings};
pub use relabel::{RelabelAction, RelabelConfig, RelabelRegex};
pub use remote_write::{MetadataConfig, QueueConfig, RemoteWriteConfig, RemoteWriteConfigError};
pub use reports::{
    CapacityConfig, REPORT_NAMES, ReportConfig, ReportsConfig, parse_hh_mm, parse_timezone, parse_weekday,
};
pub use scrape::{GlobalConfig, Scheme, ScrapeConfig, ScrapeProtocol};
pub use sd::{FileSdConfig, StaticConfig, validate_group};
pub use secret::{REDACTED, Secret, redact, redact_url};
pub use server::{DEFAULT_LISTEN, ServerConfig, StorageConfig, WalConfig, WalSync};
pub use server_tls::{DEFAULT_HSTS_MAX_AGE_SECS, ServerCertificate, ServerTlsConfig, ServerTlsError};
pub use size::ByteSize;
pub use validation_error::ValidationError;

#[cfg(test)]
mod tests;

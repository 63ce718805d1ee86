//! Prometheus's `http_config` subset that the HTTP integrations (and the
//! global section's default for them) take: credentials, TLS, redirects
//! and proxies.

use std::path::PathBuf;

use serde::Deserialize;

use super::error::AlertingConfigError;
use crate::config::{Authorization, BasicAuth, ProxySettings, Secret, TlsConfig};

/// serde's default for the `true`-by-default flags of this section.
pub(super) fn default_true() -> bool {
    true
}

/// Prometheus's `http_config` subset for webhooks.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpClientConfig {
    #[serde(default)]
    pub authorization: Option<Authorization>,
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    #[serde(default)]
    pub bearer_token: Secret,
    #[serde(default)]
    pub bearer_token_file: Option<PathBuf>,
    #[serde(default)]
    pub tls_config: Option<TlsConfig>,
    #[serde(default = "default_true")]
    pub follow_redirects: bool,
    #[serde(default, serialize_with = "crate::config::redact_url")]
    pub proxy_url: Option<String>,
    #[serde(default)]
    pub no_proxy: Option<String>,
    #[serde(default)]
    pub proxy_from_environment: bool,
}

impl HttpClientConfig {
    pub fn proxy(&self) -> ProxySettings<'_> {
        ProxySettings {
            url: self.proxy_url.as_deref(),
            no_proxy: self.no_proxy.as_deref(),
            from_environment: self.proxy_from_environment,
        }
    }

    /// Alertmanager's checks: one way to authenticate, a valid proxy.
    pub(super) fn validate(&self) -> Result<(), AlertingConfigError> {
        let h = self;
        h.proxy().validate()?;
        let mut auths = 0;
        auths += usize::from(h.authorization.is_some());
        auths += usize::from(h.basic_auth.is_some());
        auths += usize::from(!h.bearer_token.is_empty() || h.bearer_token_file.is_some());
        if auths > 1 {
            return Err(AlertingConfigError::HttpAuthMethods);
        }
        if let Some(a) = &h.authorization
            && a.kind.eq_ignore_ascii_case("basic")
        {
            return Err(AlertingConfigError::HttpBasicAuthorization);
        }
        if let Some(b) = &h.basic_auth
            && !b.password.is_empty()
            && b.password_file.is_some()
        {
            return Err(AlertingConfigError::HttpPasswordTwice);
        }
        Ok(())
    }

    /// The global `http_config` stands in for one left unset.
    pub(super) fn inherit(&mut self, global: Option<&HttpClientConfig>) {
        if *self == HttpClientConfig::default()
            && let Some(g) = global
        {
            *self = g.clone();
        }
    }
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        HttpClientConfig {
            authorization: None,
            basic_auth: None,
            bearer_token: Secret::default(),
            bearer_token_file: None,
            tls_config: None,
            follow_redirects: true,
            proxy_url: None,
            no_proxy: None,
            proxy_from_environment: false,
        }
    }
}

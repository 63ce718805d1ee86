//! Prometheus's proxy settings of an HTTP client (`proxy_url`, `no_proxy`,
//! `proxy_from_environment`), as scrape jobs and webhooks' `http_config`
//! take them. Checked here, applied by `crate::http_client`.

/// The proxy settings of one client, borrowed from its configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProxySettings<'a> {
    /// Every request goes through this proxy (`http://` or `https://`).
    pub url: Option<&'a str>,
    /// Comma-separated hosts, domains and CIDRs reached directly.
    pub no_proxy: Option<&'a str>,
    /// Use `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` from the environment.
    pub from_environment: bool,
}

/// Why proxy settings are refused.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ProxyError {
    #[error("proxy_url {url:?} is not a valid URL: {reason}")]
    Url { url: String, reason: String },
    #[error("proxy_url {0:?} must be http or https (SOCKS proxies are not supported)")]
    Scheme(String),
    #[error("if proxy_from_environment is configured, proxy_url must not be configured")]
    UrlAndEnvironment,
    #[error("if no_proxy is configured, proxy_url must also be configured")]
    NoProxyWithoutUrl,
}

impl ProxySettings<'_> {
    /// The rules Prometheus applies, plus the schemes our client speaks.
    pub fn validate(&self) -> Result<(), ProxyError> {
        if self.from_environment && self.url.is_some() {
            return Err(ProxyError::UrlAndEnvironment);
        }
        if self.no_proxy.is_some_and(|n| !n.is_empty()) && self.url.is_none() {
            return Err(ProxyError::NoProxyWithoutUrl);
        }
        let Some(url) = self.url else {
            return Ok(());
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| ProxyError::Url {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ProxyError::Scheme(url.to_string()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_rules_and_our_schemes() {
        let ok = ProxySettings {
            url: Some("http://proxy.internal:3128"),
            no_proxy: Some("localhost,10.0.0.0/8"),
            from_environment: false,
        };
        assert_eq!(ok.validate(), Ok(()));
        let both = ProxySettings {
            from_environment: true,
            ..ok
        };
        assert_eq!(both.validate(), Err(ProxyError::UrlAndEnvironment));
        let no_url = ProxySettings { url: None, ..ok };
        assert_eq!(no_url.validate(), Err(ProxyError::NoProxyWithoutUrl));
        let socks = ProxySettings {
            url: Some("socks5://proxy:1080"),
            no_proxy: None,
            from_environment: false,
        };
        assert!(socks.validate().unwrap_err().to_string().contains("SOCKS"));
        let bad = ProxySettings {
            url: Some("not a url"),
            ..socks
        };
        assert!(matches!(bad.validate(), Err(ProxyError::Url { .. })));
    }
}

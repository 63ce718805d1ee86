//! The HTTP side of a scrape: the job's client (TLS, redirects and
//! compression from `crate::http_client`), authentication (credential files
//! re-read on every scrape, so rotated tokens take effect), content
//! negotiation and a body size limit enforced while the body streams in.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_TYPE, USER_AGENT};

use crate::config::ScrapeConfig;
use crate::http_client::{ClientSettings, HttpAuth, HttpAuthError, HttpClient, HttpClientError, error_chain};

use super::error::ScrapeFailure;
use crate::exposition::SCRAPE_ACCEPT_HEADER;

pub const USER_AGENT_VALUE: &str = concat!("Belfry/", env!("CARGO_PKG_VERSION"));

/// A fetched body and its declared type.
pub struct Fetched {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
}

pub struct ScrapeClient {
    http: HttpClient,
    auth: HttpAuth,
    accept: String,
    compression: bool,
    body_limit: u64,
}

impl ScrapeClient {
    /// Builds the client for a job; TLS files are read here, so a missing
    /// CA or key fails the config instead of every scrape.
    pub fn new(job: &ScrapeConfig) -> Result<Self, HttpClientError> {
        let http = HttpClient::new(&ClientSettings {
            tls: &job.tls_config,
            follow_redirects: job.follow_redirects,
            gzip: job.enable_compression,
            // Each scrape sets its own, the job's scrape_timeout.
            timeout: None,
            proxy: job.proxy(),
        })?;
        let auth = HttpAuth::from_config(
            job.basic_auth.as_ref(),
            job.authorization.as_ref(),
            &job.bearer_token,
            job.bearer_token_file.as_deref(),
        );
        Ok(ScrapeClient {
            http,
            auth,
            accept: accept_header(job),
            compression: job.enable_compression,
            body_limit: job.body_size_limit.0,
        })
    }

    /// GETs `url` within `timeout`, reading at most the body size limit.
    pub async fn fetch(&self, url: &str, timeout: Duration) -> Result<Fetched, ScrapeFailure> {
        match tokio::time::timeout(timeout, self.fetch_inner(url, timeout)).await {
            Ok(r) => r,
            Err(_) => Err(ScrapeFailure::Timeout(timeout)),
        }
    }

    async fn fetch_inner(&self, url: &str, timeout: Duration) -> Result<Fetched, ScrapeFailure> {
        let mut req = self
            .http
            .request(Method::GET, url)
            .await
            .map_err(|e| ScrapeFailure::Request(format!("{url}: {e}")))?
            .timeout(timeout)
            .header(ACCEPT, &self.accept)
            .header(USER_AGENT, USER_AGENT_VALUE)
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", timeout.as_secs_f64()),
            );
        if !self.compression {
            req = req.header(ACCEPT_ENCODING, "identity");
        }
        let req = self.auth.apply(req).await.map_err(|e| match e {
            HttpAuthError::ReadFile { path, source } => {
                ScrapeFailure::Credentials(format!("{}: {source}", path.display()))
            }
            HttpAuthError::InvalidHeader => ScrapeFailure::Credentials(e.to_string()),
        })?;
        // Errors name the target's URL, not the one re-addressed for SNI.
        let original = reqwest::Url::parse(url).ok();
        let failure = |e: reqwest::Error| {
            let e = match &original {
                Some(u) => e.with_url(u.clone()),
                None => e,
            };
            request_failure(e, timeout)
        };
        let mut resp = req.send().await.map_err(failure)?;
        let status = resp.status();
        if status != reqwest::StatusCode::OK {
            return Err(ScrapeFailure::Status(status.to_string()));
        }
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let limit = self.body_limit;
        if limit > 0
            && let Some(len) = resp.content_length()
            && len > limit
            && resp.headers().get(reqwest::header::CONTENT_ENCODING).is_none()
        {
            return Err(ScrapeFailure::BodySizeLimit { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(failure)? {
            if limit > 0 && (body.len() + chunk.len()) as u64 > limit {
                return Err(ScrapeFailure::BodySizeLimit { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { body, content_type })
    }
}

fn request_failure(e: reqwest::Error, timeout: Duration) -> ScrapeFailure {
    if e.is_timeout() {
        return ScrapeFailure::Timeout(timeout);
    }
    ScrapeFailure::Request(error_chain(&e))
}

/// The `Accept` header: the parser's default, or the job's `scrape_protocols`
/// in order with decreasing q-values, as Prometheus builds it.
pub fn accept_header(job: &ScrapeConfig) -> String {
    let Some(protocols) = &job.scrape_protocols else {
        return SCRAPE_ACCEPT_HEADER.to_string();
    };
    let types: Vec<&str> = protocols.iter().filter_map(|p| p.media_type()).collect();
    if types.is_empty() {
        return SCRAPE_ACCEPT_HEADER.to_string();
    }
    let mut parts = Vec::with_capacity(types.len() + 1);
    let mut weight = types.len() + 1;
    for t in types {
        parts.push(format!("{t};q=0.{weight}"));
        weight -= 1;
    }
    parts.push(format!("*/*;q=0.{weight}"));
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn accept_header_follows_scrape_protocols() {
        let cfg = Config::from_yaml_with_env(
            "scrape_configs:\n  - job_name: a\n    scrape_protocols: [PrometheusProto, PrometheusText0.0.4, OpenMetricsText1.0.0]\n  - job_name: b\n",
            "t",
            |_| None,
        )
        .unwrap();
        assert_eq!(
            accept_header(&cfg.scrape_configs[0]),
            "text/plain;version=0.0.4;q=0.3,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.2,*/*;q=0.1"
        );
        assert_eq!(accept_header(&cfg.scrape_configs[1]), SCRAPE_ACCEPT_HEADER);
    }

    #[test]
    fn missing_tls_files_fail_the_job() {
        let cfg = Config::from_yaml_with_env(
            "scrape_configs:\n  - job_name: a\n    tls_config: {ca_file: /nonexistent/ca.pem}\n",
            "t",
            |_| None,
        )
        .unwrap();
        let err = ScrapeClient::new(&cfg.scrape_configs[0]).err().unwrap();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }
}

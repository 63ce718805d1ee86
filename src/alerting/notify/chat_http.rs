//! What the chat and paging integrations share: their endpoint (inline or
//! a file re-read at every send, so rotation works), a JSON POST through
//! the one outbound client (`crate::http_client`: TLS, proxy,
//! credentials), Alertmanager's reading of the answer (5xx and 429 may
//! pass on a retry, other non-2xx will not), and compiling their texts.
//! Endpoint URLs hold tokens, so errors name only the host.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::setup_error::SetupError;
use super::template::Templates;
use super::{Notification, NotifyError};
use crate::config::Secret;
use crate::config::alerting::HttpClientConfig;
use crate::http_client::{ClientSettings, HttpAuth, HttpAuthError, HttpClient, error_chain};
use crate::model::PromDuration;
use crate::template::Template;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const USER_AGENT_VALUE: &str = concat!("Belfry/", env!("CARGO_PKG_VERSION"));
/// Answers are read only to check them; more than this is not kept.
const MAX_ANSWER: usize = 64 << 10;

/// An endpoint URL, inline or in a file.
pub(super) enum Endpoint {
    Inline(String),
    File(PathBuf),
}

impl Endpoint {
    pub fn new(url: &Secret, file: Option<&Path>) -> Endpoint {
        match file {
            Some(f) if url.is_empty() => Endpoint::File(f.to_path_buf()),
            _ => Endpoint::Inline(url.expose().to_string()),
        }
    }

    pub async fn url(&self, integration: &str) -> Result<String, NotifyError> {
        match self {
            Endpoint::Inline(u) => Ok(u.clone()),
            Endpoint::File(f) => secret_file(integration, f).await,
        }
    }
}

/// A secret read from its file at send time; a missing file may appear.
pub(super) async fn secret_file(integration: &str, path: &Path) -> Result<String, NotifyError> {
    crate::http_client::read_secret(path)
        .await
        .map_err(|e| NotifyError::retryable(format!("{integration}: {e}")))
}

/// The host of a URL, the only part errors show.
pub(super) fn host(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "<invalid url>".into())
}

/// A service's answer to one POST.
pub(super) struct Answer {
    pub status: StatusCode,
    pub json: bool,
    pub body: Bytes,
}

impl Answer {
    /// Any 2xx passes; 5xx and 429 may pass later, the rest will not.
    pub fn check(&self, integration: &str, url: &str) -> Result<(), NotifyError> {
        if self.status.is_success() {
            return Ok(());
        }
        let message = format!(
            "{integration} {}: unexpected status {}: {}",
            host(url),
            self.status,
            self.body_text()
        );
        if self.status.is_server_error() || self.status == StatusCode::TOO_MANY_REQUESTS {
            Err(NotifyError::retryable(message))
        } else {
            Err(NotifyError::permanent(message))
        }
    }

    /// The body for an error message, cut short.
    pub fn body_text(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        super::truncate::runes(text.trim().to_string(), 256).0
    }
}

/// JSON POSTs of one integration through the shared outbound client.
pub(super) struct JsonPoster {
    integration: &'static str,
    http: HttpClient,
    auth: HttpAuth,
    timeout: Duration,
}

impl JsonPoster {
    pub fn new(
        integration: &'static str,
        h: &HttpClientConfig,
        timeout: Option<PromDuration>,
    ) -> Result<JsonPoster, SetupError> {
        let timeout = timeout.map_or(DEFAULT_TIMEOUT, |t| t.as_duration());
        let http = HttpClient::new(&ClientSettings {
            tls: &h.tls_config.clone().unwrap_or_default(),
            follow_redirects: h.follow_redirects,
            gzip: false,
            timeout: Some(timeout),
            proxy: h.proxy(),
        })
        .map_err(|source| SetupError::Client { integration, source })?;
        let auth = HttpAuth::from_config(
            h.basic_auth.as_ref(),
            h.authorization.as_ref(),
            &h.bearer_token,
            h.bearer_token_file.as_deref(),
        );
        Ok(JsonPoster {
            integration,
            http,
            auth,
            timeout,
        })
    }

    /// POSTs `body`; a transport failure is retryable, the answer is the
    /// caller's to judge.
    pub async fn post(&self, url: &str, body: &Value) -> Result<Answer, NotifyError> {
        let integration = self.integration;
        let body = serde_json::to_vec(body)
            .map_err(|e| NotifyError::permanent(format!("{integration}: cannot encode payload: {e}")))?;
        self.post_bytes(url, body).await
    }

    pub async fn post_bytes(&self, url: &str, body: Vec<u8>) -> Result<Answer, NotifyError> {
        let integration = self.integration;
        let req = self
            .http
            .request(Method::POST, url)
            .await
            .map_err(|e| NotifyError::retryable(format!("{integration} {}: {e}", host(url))))?
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, USER_AGENT_VALUE)
            .body(body);
        let req = self.auth.apply(req).await.map_err(|e| match e {
            HttpAuthError::ReadFile { .. } => NotifyError::retryable(format!("{integration}: {e}")),
            HttpAuthError::InvalidHeader => NotifyError::permanent(format!("{integration}: {e}")),
        })?;
        let transport = |e: reqwest::Error| {
            let e = e.without_url();
            if e.is_timeout() {
                NotifyError::retryable(format!(
                    "{integration} {}: timed out after {:?}",
                    host(url),
                    self.timeout
                ))
            } else {
                NotifyError::retryable(format!("{integration} {}: {}", host(url), error_chain(&e)))
            }
        };
        let mut resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let json = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            let room = MAX_ANSWER.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if room <= chunk.len() {
                break;
            }
        }
        Ok(Answer {
            status,
            json,
            body: Bytes::from(body),
        })
    }
}

/// One configured text of an integration, compiled against the named
/// templates so a bad one refuses the configuration.
pub(super) fn compile(
    templates: &Templates,
    integration: &'static str,
    what: &str,
    src: &str,
) -> Result<Template, SetupError> {
    templates.compile(src).map_err(|e| SetupError::Text {
        integration,
        what: what.to_string(),
        source: Box::new(e),
    })
}

/// Renders a compiled text as plain text, naming it in the error.
pub(super) fn render(
    templates: &Templates,
    integration: &str,
    what: &str,
    t: &Template,
    n: &Notification,
) -> Result<String, NotifyError> {
    templates.render_for(&format!("{integration} {what}"), t, n, false)
}

//! The webhook integration: POSTs Alertmanager's webhook JSON (version 4)
//! with optional bearer, basic or custom `Authorization`, and TLS settings.
//! Credential and URL files are re-read on every send so rotation works.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use serde_json::{Map, Value, json};

use super::{Notification, Notifier, NotifyError, NotifyFuture};
use crate::alerting::fingerprint::fingerprint_hex;
use crate::config::alerting::{HttpClientConfig, WebhookConfig};
use crate::http_auth::{HttpAuth, HttpAuthError};
use crate::model::Labels;
use crate::model::{GO_ZERO_TIME, rfc3339};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const USER_AGENT_VALUE: &str = concat!("Belfry/", env!("CARGO_PKG_VERSION"));

enum Target {
    Url(String),
    File(PathBuf),
}

pub struct WebhookNotifier {
    http: reqwest::Client,
    target: Target,
    auth: HttpAuth,
    send_resolved: bool,
    max_alerts: usize,
    timeout: Duration,
}

impl WebhookNotifier {
    /// Builds the client; TLS files are read here so a bad CA fails the
    /// config load instead of every send.
    pub fn new(cfg: &WebhookConfig) -> Result<WebhookNotifier, String> {
        crate::install_crypto_provider();
        let h = &cfg.http_config;
        let timeout = cfg.timeout.map_or(DEFAULT_TIMEOUT, |t| t.as_duration());
        let redirect = if h.follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        };
        let http = client(h)?
            .redirect(redirect)
            .timeout(timeout)
            .no_proxy()
            .build()
            .map_err(|e| format!("webhook: cannot build http client: {e}"))?;
        let target = match (&cfg.url, &cfg.url_file) {
            (Some(u), _) => Target::Url(u.clone()),
            (None, Some(f)) => Target::File(f.clone()),
            (None, None) => return Err("webhook: one of url or url_file must be configured".into()),
        };
        let auth = if let Some(b) = &h.basic_auth {
            HttpAuth::Basic {
                username: b.username.clone(),
                password: b.password.clone(),
                password_file: b.password_file.clone(),
            }
        } else if let Some(a) = &h.authorization {
            HttpAuth::Header {
                kind: a.kind.clone(),
                credentials: a.credentials.clone(),
                credentials_file: a.credentials_file.clone(),
            }
        } else if !h.bearer_token.is_empty() || h.bearer_token_file.is_some() {
            HttpAuth::Header {
                kind: "Bearer".into(),
                credentials: h.bearer_token.clone(),
                credentials_file: h.bearer_token_file.clone(),
            }
        } else {
            HttpAuth::None
        };
        Ok(WebhookNotifier {
            http,
            target,
            auth,
            send_resolved: cfg.send_resolved,
            max_alerts: usize::try_from(cfg.max_alerts).unwrap_or(usize::MAX),
            timeout,
        })
    }

    async fn send(&self, n: &Notification) -> Result<(), NotifyError> {
        let url = match &self.target {
            Target::Url(u) => u.clone(),
            Target::File(f) => read_secret(f).await?,
        };
        let body = serde_json::to_vec(&payload(n, self.max_alerts))
            .map_err(|e| NotifyError::permanent(format!("webhook: cannot encode payload: {e}")))?;
        let req = self
            .http
            .post(&url)
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, USER_AGENT_VALUE)
            .body(body);
        let req = self.auth.apply(req).await.map_err(|e| match e {
            HttpAuthError::ReadFile { .. } => NotifyError::retryable(format!("webhook: {e}")),
            HttpAuthError::InvalidHeader => NotifyError::permanent(format!("webhook: {e}")),
        })?;
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                NotifyError::retryable(format!(
                    "webhook {}: timed out after {:?}",
                    redact(&url),
                    self.timeout
                ))
            } else {
                NotifyError::retryable(format!("webhook {}: {}", redact(&url), chain(&e)))
            }
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let message = format!("webhook {}: unexpected status {status}", redact(&url));
        // As Alertmanager: server errors and throttling may pass, client
        // errors will not.
        if status.is_server_error() || status.as_u16() == 429 {
            Err(NotifyError::retryable(message))
        } else {
            Err(NotifyError::permanent(message))
        }
    }
}

impl Notifier for WebhookNotifier {
    fn integration(&self) -> &'static str {
        "webhook"
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn notify<'a>(&'a self, n: &'a Notification) -> NotifyFuture<'a> {
        Box::pin(self.send(n))
    }
}

/// Alertmanager's webhook message, version 4.
pub fn payload(n: &Notification, max_alerts: usize) -> Value {
    let limit = if max_alerts == 0 { usize::MAX } else { max_alerts };
    let alerts: Vec<Value> = n
        .alerts
        .iter()
        .take(limit)
        .map(|a| {
            json!({
                "status": if a.resolved { "resolved" } else { "firing" },
                "labels": object(&a.alert.labels),
                "annotations": object(&a.alert.annotations),
                "startsAt": rfc3339(a.alert.starts_at),
                "endsAt": if a.resolved { rfc3339(a.alert.ends_at) } else { GO_ZERO_TIME.to_string() },
                "generatorURL": a.alert.generator_url,
                "fingerprint": fingerprint_hex(a.fingerprint),
            })
        })
        .collect();
    json!({
        "version": "4",
        "groupKey": n.group_key,
        "truncatedAlerts": n.alerts.len().saturating_sub(limit),
        "status": n.status(),
        "receiver": n.receiver,
        "groupLabels": object(&n.group_labels),
        "commonLabels": object(&n.common_labels),
        "commonAnnotations": object(&n.common_annotations),
        "externalURL": n.external_url,
        "alerts": alerts,
    })
}

pub(crate) fn object(labels: &Labels) -> Value {
    let mut m = Map::new();
    for l in labels.iter() {
        m.insert(l.name.clone(), Value::String(l.value.clone()));
    }
    Value::Object(m)
}

fn client(h: &HttpClientConfig) -> Result<reqwest::ClientBuilder, String> {
    let mut b = reqwest::Client::builder().tls_backend_rustls();
    let Some(tls) = &h.tls_config else {
        return Ok(b);
    };
    if let Some(ca) = &tls.ca_file {
        let pem = std::fs::read(ca)
            .map_err(|e| format!("webhook tls_config: cannot read {}: {e}", ca.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("webhook tls_config: bad CA certificate in {}: {e}", ca.display()))?;
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
        let mut pem = std::fs::read(cert)
            .map_err(|e| format!("webhook tls_config: cannot read {}: {e}", cert.display()))?;
        pem.extend(
            std::fs::read(key)
                .map_err(|e| format!("webhook tls_config: cannot read {}: {e}", key.display()))?,
        );
        let id = reqwest::Identity::from_pem(&pem)
            .map_err(|e| format!("webhook tls_config: client certificate: {e}"))?;
        b = b.identity(id);
    }
    if tls.insecure_skip_verify {
        b = b.danger_accept_invalid_certs(true);
    }
    Ok(b)
}

async fn read_secret(path: &std::path::Path) -> Result<String, NotifyError> {
    crate::http_auth::read_secret(path)
        .await
        .map_err(|e| NotifyError::retryable(format!("webhook: {e}")))
}

/// The URL without user info or query, which may carry secrets.
fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.set_query(None);
            u.to_string()
        }
        Err(_) => "<invalid url>".into(),
    }
}

fn chain(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::notify::tests::notification;

    #[test]
    fn payload_has_alertmanager_shape() {
        let n = notification();
        let p = payload(&n, 0);
        assert_eq!(p["version"], "4");
        assert_eq!(p["status"], "firing");
        assert_eq!(p["receiver"], "team");
        assert_eq!(p["groupLabels"]["alertname"], "HighLatency");
        assert_eq!(p["commonLabels"]["job"], "api");
        assert_eq!(p["commonAnnotations"]["summary"], "p99 above 2s");
        assert_eq!(p["truncatedAlerts"], 0);
        let a = &p["alerts"][0];
        assert_eq!(a["status"], "firing");
        assert_eq!(a["startsAt"], "2023-11-14T22:13:20Z");
        assert_eq!(a["fingerprint"].as_str().unwrap().len(), 16);
    }

    #[test]
    fn max_alerts_truncates() {
        let mut n = notification();
        let second = n.alerts[0].clone();
        n.alerts.push(second);
        let p = payload(&n, 1);
        assert_eq!(p["alerts"].as_array().unwrap().len(), 1);
        assert_eq!(p["truncatedAlerts"], 1);
    }
}
